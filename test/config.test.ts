/** Config loading: a good file, each kind of bad file with every problem listed (file, line, path), and the CLI's exit codes. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, copyFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadConfig, parseConfigText } from '../src/config/load.ts';
import { ProblemsError, type Problem } from '../src/errors.ts';
import { EXAMPLE_ZONE_FILE } from './helpers/dns-fixture.ts';
import { runCli } from './helpers/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'failoverd-config-'));
mkdirSync(join(dir, 'zones'));
copyFileSync(EXAMPLE_ZONE_FILE, join(dir, 'zones', 'example.test.zone'));
after(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

async function problemsOf(text: string, name = 'bad.yaml'): Promise<Problem[]> {
  try {
    await loadConfig(write(name, text));
  } catch (err) {
    assert.ok(err instanceof ProblemsError, String(err));
    assert.equal(err.code, 'CONFIG_INVALID');
    return err.problems;
  }
  assert.fail('expected the config to be refused');
}

const GOOD = `dns:
  listen: ["127.0.0.1:5353", "[::1]:5353"]
zones: zones
log: { level: warn }
checks:
  web: { type: http, port: 8080, path: /healthz, interval: 2s, fastInterval: 200ms, timeout: 1s }
records:
  - name: WWW.example.test.
    type: A
    targets:
      - { address: 127.0.0.1, check: web }
      - { address: 127.0.0.2, check: web, id: backup }
  - name: pool.example.test
    type: A
    policy: multivalue
    targets: [{ address: 127.0.0.3, check: web }]
`;

test('a good file loads with defaults filled in and names canonical', async () => {
  const { config, zones } = await loadConfig(write('good.yaml', GOOD));
  assert.deepEqual(config.dns.listen, [{ host: '127.0.0.1', port: 5353 }, { host: '::1', port: 5353 }]);
  assert.deepEqual(zones.map((z) => z.origin), ['example.test']);
  const [www, pool] = config.records;
  assert.equal(www!.name, 'www.example.test');
  assert.equal(www!.zone, 'example.test');
  assert.equal(www!.ttl, 30);
  assert.equal(www!.whenAllDown, 'primary');
  assert.equal(pool!.whenAllDown, 'all', 'multivalue defaults to answering all when all are down');
  assert.deepEqual(www!.targets.map((t) => t.id), ['www.example.test/A/127.0.0.1', 'backup']);
  assert.equal(www!.targets[0]!.check.interval, 2000);
  assert.equal(www!.targets[0]!.check.fastInterval, 200);
  assert.equal(www!.targets[0]!.check.timeout, 1000);
  assert.equal(www!.targets[0]!.check.rise, 2);
  assert.equal(www!.targets[0]!.probeKey, 'web@127.0.0.1');
});

test('unknown keys, bad values and YAML paths are all reported at once with lines', async () => {
  const problems = await problemsOf(`dns:
  listen: ["127.0.0.1:99999"]
  lisen: []
zones: zones
log: { level: loud }
checks:
  web: { type: ftp, port: 8080 }
records: []
extra: true
`);
  const byPath = new Map(problems.map((p) => [p.path, p]));
  assert.equal(byPath.get('dns.listen[0]')?.line, 2);
  assert.match(byPath.get('dns.listen[0]')!.message, /not an address:port/);
  assert.equal(byPath.get('dns.lisen')?.line, 3);
  assert.match(byPath.get('dns.lisen')!.message, /unknown key "lisen"/);
  assert.equal(byPath.get('log.level')?.line, 5);
  assert.equal(byPath.get('checks.web.type')?.line, 7);
  assert.equal(byPath.get('extra')?.line, 9);
  assert.ok(problems.every((p) => p.file.endsWith('bad.yaml')));
  assert.equal(problems.length, 5);
});

test('durations over 2^31-1 ms (what a Node timer can wait) are refused with file:line', async () => {
  const problems = await problemsOf(`zones: zones
checks:
  web: { type: http, port: 8080, interval: 720h, timeout: 700h, fastInterval: 2147483647 }
records: []
`);
  const byPath = new Map(problems.map((p) => [p.path, p]));
  for (const path of ['checks.web.interval', 'checks.web.timeout']) {
    assert.equal(byPath.get(path)?.line, 3, path);
    assert.match(byPath.get(path)!.message, /duration too long/);
  }
  assert.equal(byPath.has('checks.web.fastInterval'), false, 'exactly 2^31-1 ms is allowed');
});

const RECORDS_THAT_CANNOT_WORK = `records:
  - name: www.example.test
    type: A
    targets: [{ address: "::1", check: ok }, { address: 127.0.0.1, check: nope }]
  - name: static.example.test
    type: A
    targets: [{ address: 127.0.0.1, check: ok }]
  - name: www.example.org
    type: AAAA
    targets: [{ address: 127.0.0.1, check: ok }]
  - name: x.sub.example.test
    type: A
    targets: [{ address: 127.0.0.1, check: ok }]
`;

test('what cannot work is refused: timeout not below interval, unknown check, address vs type, static clash, outside zones', async () => {
  const problems = await problemsOf(`zones: zones
checks:
  web: { type: http, port: 80, interval: 1s, timeout: 1s }
  ok: { type: tcp, port: 80 }
${RECORDS_THAT_CANNOT_WORK}`);
  const messages = problems.map((p) => `${p.path} @${p.line}: ${p.message}`);
  assert.ok(messages.some((m) => /^checks\.web\.timeout @3: timeout \(1000ms\) must be below interval/.test(m)), messages.join('\n'));
  // The schema stage stops before the cross-checks; fix the check and look again.
  const second = await problemsOf(`zones: zones
checks:
  ok: { type: tcp, port: 80 }
${RECORDS_THAT_CANNOT_WORK}`);
  const m2 = second.map((p) => `${p.path} @${p.line}: ${p.message}`);
  for (const e of [
    /^records\[0\]\.targets\[0\]\.address @7: "::1" is not an IPv4 address/,
    /^records\[0\]\.targets\[1\]\.check @7: unknown check "nope"/,
    /^records\[1\]\.name @8: static\.example\.test A is also defined statically at .*example\.test\.zone:\d+/,
    /^records\[2\]\.name @11: www\.example\.org is outside every served zone/,
    /^records\[2\]\.targets\[0\]\.address @13: "127\.0\.0\.1" is not an IPv6 address/,
    /^records\[3\]\.name @14: x\.sub\.example\.test is below the delegation sub\.example\.test/,
  ]) assert.ok(m2.some((m) => e.test(m)), `${e} in\n${m2.join('\n')}`);
  assert.equal(second.length, 6);
});

/** A config around `records` (and `extra` top-level sections) that is valid but for what the case puts in. */
const around = (records: string, opts: { checks?: string; extra?: string } = {}) => `zones: zones
checks:
  web: { type: http, port: 8080${opts.checks ?? ''} }
records:
${records}${opts.extra ?? ''}`;
const rec = (name: string, type: string, ...addresses: string[]) =>
  `  - name: ${name}\n    type: ${type}\n    targets:\n${addresses.map((a) => `      - { address: ${a}, check: web }\n`).join('')}`;
const MB_LABEL = 'l'.repeat(1 << 20);

/** [what, config text, expected problems as "path @line: message" (regexps, one per problem)]. */
const refused: [string, string, RegExp[]][] = [
  ['a check header name that is not an HTTP token', around(rec('www.example.test', 'A', '127.0.0.1'), { checks: ', headers: { "X Probe": a, "X-A:": b }' }), [
    /^checks\.web\.headers\.X Probe @3: header name "X Probe" is not an HTTP token/,
    /^checks\.web\.headers\.X-A: @3: header name "X-A:" is not an HTTP token/,
  ]],
  ['a check header value with a line break or a character beyond Latin-1', around(rec('www.example.test', 'A', '127.0.0.1'), { checks: ', headers: { X-A: "a\\r\\nInjected: 1", X-B: "\u2603" }' }), [
    /^checks\.web\.headers\.X-A @3: header X-A: control character "\\r" cannot be sent in an HTTP header$/,
    /^checks\.web\.headers\.X-B @3: header X-B: character "\u2603" cannot be sent in an HTTP header \(Latin-1 only\)$/,
  ]],
  ['a check header failoverd sets itself, and one header given twice', around(rec('www.example.test', 'A', '127.0.0.1'), { checks: ', headers: { Content-Length: "5", X-A: "1", x-a: "2" }' }), [
    /^checks\.web\.headers\.Content-Length @3: header Content-Length is set by failoverd itself/,
    /^checks\.web\.headers\.x-a @3: header x-a is also given as X-A/,
  ]],
  ['a check host with a line break (it is the Host header)', around(rec('www.example.test', 'A', '127.0.0.1'), { checks: ', host: "a\\nb"' }), [
    /^checks\.web\.host @3: host is sent as the Host header: control character "\\n"/,
  ]],
  ['a webhook header name that is not a token, and a webhook with credentials in the URL and an Authorization header', around(rec('www.example.test', 'A', '127.0.0.1'), {
    extra: 'notify:\n  - { url: "http://127.0.0.1:9/a", headers: { "Bad Name": x } }\n  - { url: "http://u:pw@127.0.0.1:9/b", headers: { authorization: "Bearer t" } }\n',
  }), [
    /^notify\[0\]\.headers\.Bad Name @10: header name "Bad Name" is not an HTTP token/,
    /^notify\[1\]\.headers\.authorization @11: url has user:password .* and headers sets Authorization too: give one$/,
  ]],
  ['a record name with a label over 63 octets', around(rec(`${'l'.repeat(64)}.example.test`, 'A', '127.0.0.1')), [
    new RegExp(`^records\\[0\\]\\.name @5: label "${'l'.repeat(64)}" in name "${'l'.repeat(64)}\\.example\\.test" is longer than 63 octets \\(64\\)$`),
  ]],
  ['a record name over 255 octets', around(rec(`${Array(4).fill('l'.repeat(60)).join('.')}.example.test`, 'A', '127.0.0.1')), [
    /^records\[0\]\.name @5: name "l{60}\.l{19}"…\(256 bytes\) is longer than 255 octets \(258 in wire form\)$/,
  ]],
  ['a record name with an empty label', around(rec('a..example.test', 'A', '127.0.0.1') + rec('.b.example.test', 'A', '127.0.0.1')), [
    /^records\[0\]\.name @5: empty label in name "a\.\.example\.test"$/,
    /^records\[1\]\.name @9: empty label in name "\.b\.example\.test"$/,
  ]],
  ['a record name of 1 MB is not echoed whole', around(rec(`${MB_LABEL}.example.test`, 'A', '127.0.0.1')), [
    /^records\[0\]\.name @5: label "l{80}"…\(1048576 bytes\) in name "l{80}"…\(1048589 bytes\) is longer than 63 octets \(1048576\)$/,
  ]],
  ['an unknown key of 1 MB is not echoed whole', around(rec('www.example.test', 'A', '127.0.0.1'), { extra: `? ${MB_LABEL}\n: 1\n` }), [
    /^l{80}…\(1048576 bytes\) @9: unknown key "l{80}"…\(1048576 bytes\)$/,
  ]],
  ['a CNAME target that is an IP address, or reads as one', around(rec('c.example.test', 'CNAME', '127.0.0.1', '"127.1."', '"::1"')), [
    /^records\[0\]\.targets\[0\]\.address @8: "127\.0\.0\.1" is an IP address, not a host name: a CNAME points to a name/,
    /^records\[0\]\.targets\[1\]\.address @9: "127\.1\." is an IP address, not a host name/,
    /^records\[0\]\.targets\[2\]\.address @10: "::1" is an IP address, not a host name/,
  ]],
  ['an IPv6 target with a zone id', around(rec('www.example.test', 'AAAA', '"fe80::1%lo"')), [
    /^records\[0\]\.targets\[0\]\.address @8: "fe80::1%lo" has a zone id/,
  ]],
  ['one IPv6 address spelled two ways in a record set', around(rec('www.example.test', 'AAAA', '"::1"', '"0:0:0:0:0:0:0:1"')), [
    /^records\[0\]\.targets\[1\]\.address @9: "0:0:0:0:0:0:0:1" is also records\[0\]\.targets\[0\]\.address \(line 8, written "::1"; both are ::1\): an answer holds each address once$/,
  ]],
  ['one address twice, under two explicit ids', around('  - name: www.example.test\n    type: AAAA\n    targets:\n      - { address: "2001:DB8::1", check: web, id: one }\n      - { address: "2001:db8:0::1", check: web, id: two }\n'), [
    /^records\[0\]\.targets\[1\]\.address @9: "2001:db8:0::1" is also records\[0\]\.targets\[0\]\.address \(line 8, written "2001:DB8::1"; both are 2001:db8::1\)/,
  ]],
  ['an IPv4 address with leading zeros (one spelling only)', around(rec('www.example.test', 'A', '127.0.0.1', '127.000.000.001')), [
    /^records\[0\]\.targets\[1\]\.address @9: "127\.000\.000\.001" is not an IPv4 address for an A record$/,
  ]],
  ['a target id given twice names both', around(rec('www.example.test', 'A', '127.0.0.1') + '  - name: pool.example.test\n    type: A\n    targets:\n      - { address: 127.0.0.2, check: web, id: www.example.test/A/127.0.0.1 }\n'), [
    /^records\[1\]\.targets\[0\] @12: duplicate target id "www\.example\.test\/A\/127\.0\.0\.1" \(also records\[0\]\.targets\[0\], line 8\)$/,
  ]],
  ['one DNS listen address spelled two ways', `dns:\n  listen: ["[::1]:5353", "[0:0:0:0:0:0:0:1]:5353"]\n${around(rec('www.example.test', 'A', '127.0.0.1'))}`, [
    /^dns\.listen\[1\] @2: \[::1\]:5353 is also dns\.listen\[0\] \(line 2\): one address:port listens once$/,
  ]],
  ['a transfer.allow address with a zone id', around(rec('www.example.test', 'A', '127.0.0.1'), { extra: 'transfer:\n  allow: ["fe80::1%lo"]\n' }), [
    /^transfer\.allow\[0\] @10: not an address or CIDR block/,
  ]],
  ['a route53 zone with a label over 63 octets', around(rec('www.example.test', 'A', '127.0.0.1'), { extra: `route53: { hostedZoneId: Z1, ownerId: o, zone: ${'z'.repeat(64)}.test }\n` }), [
    /^route53\.zone @9: label "z{64}" in name "z{64}\.test" is longer than 63 octets \(64\)$/,
  ]],
  ['a YAML alias bomb ("billion laughs")', 'a: &a [x, x, x, x, x, x, x, x, x, x]\n' + 'bcdefgh'.split('').map((c, k) => `${c}: &${c} [${Array(9).fill('*' + 'abcdefgh'[k]).join(', ')}]`).join('\n') + '\n', [
    /^ @2: YAML: aliases expand to too many nodes \(over 100 per alias\): refused as a resource exhaustion attack$/,
  ]],
  ['a YAML alias to no anchor', 'zones: zones\nchecks: *nowhere\n', [
    /^ @2: YAML: Unresolved alias .*nowhere/,
  ]],
];

for (const [what, text, expected] of refused) {
  test(`validate refuses ${what}, with file:line`, async () => {
    const problems = await problemsOf(text);
    const lines = problems.map((p) => `${p.path ?? ''} @${p.line}: ${p.message}`);
    assert.ok(problems.every((p) => p.file.endsWith('bad.yaml')), JSON.stringify(problems.map((p) => p.file)));
    for (const e of expected) assert.ok(lines.some((l) => e.test(l)), `${e} in\n${lines.map((l) => l.slice(0, 400)).join('\n')}`);
    assert.equal(problems.length, expected.length, lines.map((l) => l.slice(0, 400)).join('\n'));
    for (const l of lines) assert.ok(l.length < 600, `a message stays short: ${l.slice(0, 200)}...`);
  });
}

test('validate accepts, in one spelling: canonical IPv6, 63-octet labels and 255-octet names, token headers, webhook credentials', async () => {
  const long = `${Array(3).fill('l'.repeat(63)).join('.')}.${'m'.repeat(48)}.example.test`;
  assert.equal(long.length + 2, 255);
  const { config } = await loadConfig(write('accepted.yaml', `dns:
  listen: ["[0:0:0:0:0:0:0:1]:5353", "127.0.0.1:5353", "[::1]:0", "[::1]:0"]
admin: { listen: "[0:0::1]:8053" }
zones: zones
checks:
  web: { type: http, port: 8080, host: "www.example.test:8080", headers: { X-Probe_1.a~: "caf\u00e9", Authorization: "Bearer x" } }
records:
${rec('www.example.test', 'AAAA', '"0:0:0:0:0:0:0:1"', '"2001:DB8:0:0:1:0:0:1"')}${rec(long, 'A', '127.0.0.1')}${rec('c.example.test', 'CNAME', '_svc.example.test', 'a-1.example.test.', '"1a.example.test"')}notify:
  - { url: "https://hook%20user:p%40ss:w@127.0.0.1:9/x?y=1", headers: { X-Trace: "1" } }
`));
  assert.deepEqual(config.dns.listen.map((l) => `${l.host} ${l.port}`), ['::1 5353', '127.0.0.1 5353', '::1 0', '::1 0']);
  assert.equal(config.admin.listen.host, '::1');
  const [www, longRs, c] = config.records;
  assert.deepEqual(www!.targets.map((t) => [t.id, t.address, t.probeKey]), [
    ['www.example.test/AAAA/::1', '::1', 'web@::1'],
    ['www.example.test/AAAA/2001:db8::1:0:0:1', '2001:db8::1:0:0:1', 'web@2001:db8::1:0:0:1'],
  ]);
  assert.equal(longRs!.name, long);
  assert.deepEqual(c!.targets.map((t) => t.address), ['_svc.example.test', 'a-1.example.test', '1a.example.test']);
  assert.equal(config.notify[0]!.url, 'https://hook%20user:p%40ss:w@127.0.0.1:9/x?y=1');
});

test('config problems never carry a webhook password', async () => {
  const problems = await problemsOf(around(rec('www.example.test', 'A', '127.0.0.1'), {
    extra: 'notify:\n  - { url: "http://u:s3cret-pw@127.0.0.1:9/b", headers: { authorization: "Bearer also-secret" }, format: nope }\n  - { url: "ftp://u:s3cret-pw@127.0.0.1:9/b" }\n',
  }));
  assert.ok(problems.length >= 2);
  const text = new ProblemsError('CONFIG_INVALID', problems).message;
  assert.doesNotMatch(text, /s3cret-pw|also-secret/);
});

test('YAML syntax errors name the line', async () => {
  const problems = await problemsOf('dns:\n  listen: [127.0.0.1:5353\nzones: zones\n');
  assert.ok(problems.length >= 1);
  assert.ok(problems[0]!.line !== undefined && problems[0]!.line >= 2, JSON.stringify(problems));
  assert.match(problems[0]!.message, /^YAML:/);
});

test('zone file problems are config problems, with the zone file and line', async () => {
  writeFileSync(join(dir, 'broken.zone'), '$ORIGIN broken.test.\n$TTL 60\n@ SOA ns hm 1 2 3 4 5\nwww A 10.0.0.300\n');
  const problems = await problemsOf('zones: [broken.zone]\n', 'zonebad.yaml');
  assert.equal(problems.length, 1);
  assert.ok(problems[0]!.file.endsWith('broken.zone'));
  assert.equal(problems[0]!.line, 4);
  assert.match(problems[0]!.message, /10\.0\.0\.300/);
});

test('parseConfigText: an empty file is a valid config with defaults (zones folder required to exist)', async () => {
  await assert.rejects(parseConfigText('', join(dir, 'nozones', 'x.yaml')), (err: unknown) => err instanceof ProblemsError && /zone path not found/.test(err.problems[0]!.message));
});

test('CLI validate: exit 0 on a good file, 2 with every problem on a bad one', async () => {
  const good = await runCli(['validate', '--config', join(dir, 'good.yaml')]);
  assert.equal(good.code, 0, good.stderr);
  assert.match(good.stdout, /OK \(1 zone, \d+ static records, 2 record sets, 1 checks\)/);
  const bad = await runCli(['validate', '--config', write('bad2.yaml', 'dns: { listen: [nope] }\nfoo: 1\nzones: zones\n')]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /2 problems/);
  assert.match(bad.stderr, /bad2\.yaml:1 dns\.listen\[0\]: not an address:port/);
  assert.match(bad.stderr, /bad2\.yaml:2 foo: unknown key "foo"/);
  const missing = await runCli(['validate', '--config', join(dir, 'absent.yaml')]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /cannot read config: ENOENT/);
});

test('CLI run refuses a bad config with exit 2, before listening', async () => {
  const r = await runCli(['run', '--config', write('bad3.yaml', 'zones: zones\nrecords: [{ name: www.example.test, type: A, targets: [] }]\n')]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /records\[0\]\.targets/);
});

test('the example config in the repository is valid', async () => {
  const file = fileURLToPath(new URL('../failoverd.yaml', import.meta.url));
  const { config } = await loadConfig(file);
  assert.deepEqual(config.dns.listen, [{ host: '127.0.0.1', port: 5353 }]);
  for (const t of config.records.flatMap((r) => r.targets)) assert.match(t.address, /^127\./, 'example probes loopback only');
});
