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
