/**
 * What `failoverd validate` says, through the real CLI process:
 * - a zone file that does not parse is the one problem reported: the record
 *   sets and secondaries of that zone are not also "outside every served
 *   zone (none)", follow-on noise that hid the real error;
 * - a bad value names the key's expected form and the value found, not zod's
 *   "Invalid input: expected number, received string"; an unknown key gets
 *   the allowed key it is closest to ("did you mean").
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { TestDir } from './helpers/admin-daemon.ts';
import { runCli } from './helpers/cli.ts';

test('a zone line that does not parse is reported alone, without follow-on problems', async (t) => {
  const dir = new TestDir();
  t.after(() => dir.remove());
  const zone = join(dir.dir, 'zones', 'example.test.zone');
  writeFileSync(zone, readFileSync(zone, 'utf8').replace(/^static(\s+)300(\s+)A(\s+)127\.0\.0\.10/m, 'static$1300$2A$3999.0.0.10'));
  dir.write(`dns: { listen: ["127.0.0.1:0"] }
zones: zones
checks:
  web: { type: tcp, port: 9 }
records:
  - name: www.example.test
    type: A
    targets: [{ address: 127.0.0.1, check: web }]
  - name: api.example.test
    type: A
    targets: [{ address: 127.0.0.2, check: web }]
tsig:
  xfr-key: { algorithm: hmac-sha256, secret: "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0" }
secondaries:
  - { address: "127.0.0.1:53", zones: [example.test], tsig: xfr-key }
`);
  const r = await runCli(['validate', '--config', dir.config]);
  assert.equal(r.code, 2, r.stderr);
  const problems = r.stderr.split('\n').filter((l) => l.startsWith('  '));
  assert.equal(problems.length, 1, r.stderr);
  assert.match(problems[0]!, /example\.test\.zone:\d+: bad IPv4 address "999\.0\.0\.10"/);
  assert.doesNotMatch(r.stderr, /outside every served zone|not a served zone/);
});
