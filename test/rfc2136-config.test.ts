/**
 * The rfc2136: section refused with a clear error naming the key (path and
 * line), one case per row: what the schema refuses (ownerId, mode,
 * servers, durations, guard, keys) and what needs the whole config (key
 * references, record sets per zone, adopt, a zone given twice on one
 * server, a secret file that cannot be read). Files only: no socket, no
 * process (a unit test).
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadConfig } from '../src/config/load.ts';
import { ProblemsError } from '../src/errors.ts';
import { EXAMPLE_ZONE_FILE } from './helpers/dns-fixture.ts';

const dir = mkdtempSync(join(tmpdir(), 'failoverd-rfc2136-config-'));
mkdirSync(join(dir, 'zones'));
copyFileSync(EXAMPLE_ZONE_FILE, join(dir, 'zones', 'example.test.zone'));
after(() => rmSync(dir, { recursive: true, force: true }));

const SECRET = Buffer.from('failoverd-rfc2136-config-secret!').toString('base64');

/** Lines 1-6: two record sets in example.test; the rfc2136 section starts on line 7. */
const HEAD = `zones: zones
checks:
  web: { type: http, port: 8080 }
records:
  - { name: www.example.test, type: A, targets: [{ address: 127.0.0.1, check: web }, { address: 127.0.0.2, check: web }] }
  - { name: api.example.test, type: A, targets: [{ address: 127.0.0.1, check: web }] }
`;

/** A valid rfc2136 section with `zone` (one zone entry, indented as a list item's keys) and `top` (more keys of rfc2136) put in. */
const section = (o: { zone?: string; top?: string; keys?: string } = {}) => `${HEAD}rfc2136:
  ownerId: failoverd-a${o.top ?? ''}
  keys:
    ${o.keys ?? `upd: { secret: "${SECRET}" }`}
  zones:
    - zone: example.test
      servers: ["127.0.0.1:53"]
      updateKey: upd
${o.zone ?? ''}`;

/** [what, config text, expected "path @line: message" (one regexp per problem)]. */
const refused: Array<[string, string, RegExp[]]> = [
  ['an ownerId with a space', section().replace('ownerId: failoverd-a', 'ownerId: "team a"'), [/^rfc2136\.ownerId @8: ownerId: 1-64 of letters, digits, _ \. : -$/]],
  ['a mode that is neither primary nor all', section({ zone: '      mode: secondary\n' }), [/^rfc2136\.zones\[0\]\.mode @15: .*"primary".*"all"/]],
  ['a server that is not an address', section({ zone: '      mode: all\n' }).replace('"127.0.0.1:53"', '"ns1.example.test"'), [/^rfc2136\.zones\[0\]\.servers\[0\] @13: not an address\[:port\]: "ns1\.example\.test"/]],
  ['no server', section().replace('["127.0.0.1:53"]', '[]'), [/^rfc2136\.zones\[0\]\.servers @13: expected a list of string \(≥ 1 items\)/]],
  ['a reconcile under 1s and a timeout over 1m', section({ top: '\n  reconcile: 500ms\n  timeout: 2m' }), [/^rfc2136\.reconcile @9: reconcile must be at least 1s$/, /^rfc2136\.timeout @10: timeout must be from 50ms to 1m$/]],
  ['a guard ratio over 1', section({ top: '\n  guard: { maxChangeRatio: 1.5 }' }), [/^rfc2136\.guard\.maxChangeRatio @9: expected a number from 0 to 1 \(e\.g\. 0\.5\), got 1\.5$/]],
  ['a key with no secret, and one with both', section({ keys: `upd: { algorithm: hmac-sha256 }\n    other: { secret: "${SECRET}", secretFile: x.key }` }), [/^rfc2136\.keys.upd @10: give exactly one of secret or secretFile$/, /^rfc2136\.keys.other @11: give exactly one of secret or secretFile$/]],
  ['a secret too short', section({ keys: `upd: { secret: "c2hvcnQ=" }` }), [/^rfc2136\.keys\.upd\.secret @10: secret must be base64 of at least 16 bytes/]],
  ['an algorithm failoverd does not sign with', section({ keys: `upd: { secret: "${SECRET}", algorithm: hmac-md5 }` }), [/^rfc2136\.keys\.upd\.algorithm @10: expected one of "hmac-sha256", "hmac-sha384", "hmac-sha512", "hmac-sha224", "hmac-sha1" .*got "hmac-md5"$/]],
  ['a misspelt key of a zone', section({ zone: '      readkey: upd\n' }), [/^rfc2136\.zones\[0\]\.readkey @15: unknown key "readkey" \(did you mean "readKey"\?\)$/]],
  ['an updateKey and a readKey not in rfc2136.keys', section({ zone: '      readKey: nope\n' }).replace('updateKey: upd', 'updateKey: failoverd-update'), [
    /^rfc2136\.zones\[0\]\.updateKey @14: unknown key "failoverd-update" \(defined in rfc2136\.keys: upd\)$/,
    /^rfc2136\.zones\[0\]\.readKey @15: unknown key "nope" \(defined in rfc2136\.keys: upd\)$/,
  ]],
  ['a secretFile that does not exist', section({ keys: 'upd: { secretFile: missing.key }' }), [/^rfc2136\.keys\.upd\.secretFile @10: cannot read missing\.key: ENOENT$/]],
  ['records: a name outside the zone, and one failoverd does not publish', section({ zone: '      records: [www.example.org, static.example.test]\n' }), [
    /^rfc2136\.zones\[0\]\.records\[0\] @15: www\.example\.org is not in zone example\.test$/,
    /^rfc2136\.zones\[0\]\.records\[1\] @15: static\.example\.test is not a record set \(records:\) of failoverd$/,
  ]],
  ['adopt: a name not published to the zone', section({ zone: '      records: [www.example.test]\n      adopt: [api.example.test]\n' }), [/^rfc2136\.zones\[0\]\.adopt\[0\] @16: api\.example\.test is not a record set published to zone example\.test$/]],
  ['a zone in which no record set lives', section().replace('- zone: example.test', '- zone: elsewhere.test'), [/^rfc2136\.zones\[0\]\.zone @12: no record set lives in zone "elsewhere\.test": nothing to publish$/]],
  ['one zone given twice on one server', section({ zone: '    - { zone: example.test, servers: ["127.0.0.1"], updateKey: upd }\n' }).replace('"127.0.0.1:53"', '"127.0.0.1"'), [/^rfc2136\.zones\[1\]\.servers @15: zone example\.test on 127\.0\.0\.1:53 is also given in rfc2136\.zones\[0\]$/]],
];

for (const [what, text, expected] of refused) {
  test(`rfc2136: validate refuses ${what}, naming the key`, async () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, text);
    const err = await loadConfig(file).then(
      () => assert.fail(`expected the config to be refused:\n${text}`),
      (e: unknown) => e,
    );
    assert.ok(err instanceof ProblemsError, String(err));
    assert.equal(err.code, 'CONFIG_INVALID');
    const lines = err.problems.map((p) => `${p.path ?? ''} @${p.line}: ${p.message}`);
    for (const e of expected) assert.ok(lines.some((l) => e.test(l)), `${e} in\n${lines.join('\n')}\n--- config:\n${text}`);
    assert.equal(lines.length, expected.length, lines.join('\n'));
    assert.ok(!lines.join('\n').includes(SECRET), 'no secret in a problem');
  });
}

test('rfc2136: the section every case above changes one thing of is valid', async () => {
  const file = join(dir, 'good.yaml');
  writeFileSync(file, section({ zone: '      mode: all\n      records: [www.example.test]\n      adopt: [www.example.test]\n' }));
  const { config } = await loadConfig(file);
  assert.deepEqual(config.rfc2136!.zones.map((z) => [z.zone, z.mode, z.servers, z.updateKey.name, z.readKey.name, z.records, z.adopt]), [
    ['example.test', 'all', [{ host: '127.0.0.1', port: 53 }], 'upd', 'upd', ['www.example.test'], ['www.example.test']],
  ]);
});
