/**
 * What `failoverd validate` says, through the real CLI process:
 * - a zone file that does not parse is the one problem reported: the record
 *   sets and secondaries of that zone are not also "outside every served
 *   zone (none)", follow-on noise that hid the real error;
 * - a bad value names the key's expected form and the value found, not zod's
 *   "Invalid input: expected number, received string"; an unknown key gets
 *   the allowed key it is closest to ("did you mean");
 * - its output into a pipe whose reader is gone (`| head -1` once head has
 *   its line) ends quietly with exit 0, not an EPIPE stack trace (a real
 *   pipe made by bash; `failoverd status` is checked the same way against
 *   a running cluster in test/cluster-explains.test.ts).
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { TestDir } from './helpers/admin-daemon.ts';
import { runCli, runCliIntoClosedPipe } from './helpers/cli.ts';

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
  const r = await runCli(['validate', '--config', dir.config], { timeoutMs: 60_000 });
  assert.equal(r.code, 2, r.stderr);
  const problems = r.stderr.split('\n').filter((l) => l.startsWith('  '));
  assert.equal(problems.length, 1, r.stderr);
  assert.match(problems[0]!, /example\.test\.zone:\d+: bad IPv4 address "999\.0\.0\.10"/);
  assert.doesNotMatch(r.stderr, /outside every served zone|not a served zone/);
});

test('a bad value says what the key takes and what it got; an unknown key says which key was meant', async (t) => {
  const dir = new TestDir();
  t.after(() => dir.remove());
  dir.write(`dns: { listen: ["127.0.0.1:0"], lisen: [] }
zones: zones
checks:
  web: { type: http, port: 8080, fall: two, fal: 3, rise: 0 }
  other: { type: ftp, port: 99999 }
records:
  - name: www.example.test
    type: A
    tll: 30
    policy: fail
    targets: [{ address: 127.0.0.1, check: web, colour: blue }]
`);
  const r = await runCli(['validate', '--config', dir.config], { timeoutMs: 60_000 });
  assert.equal(r.code, 2, r.stderr);
  const said = new Map(
    r.stderr
      .split('\n')
      .filter((l) => l.startsWith('  '))
      .map((l) => /^\s+\S+:\d+ (\S+): (.*)$/.exec(l)!.slice(1, 3) as [string, string]),
  );
  assert.equal(said.get('checks.web.fall'), 'expected a whole number from 1 to 100 (e.g. 3), got "two"');
  assert.equal(said.get('checks.web.rise'), 'expected a whole number from 1 to 100 (e.g. 3), got 0');
  assert.equal(said.get('checks.other.type'), 'expected one of "http", "https", "tcp" (e.g. https), got "ftp"');
  assert.equal(said.get('checks.other.port'), 'expected a whole number from 1 to 65535 (e.g. 8080), got 99999');
  assert.equal(said.get('records[0].policy'), 'expected one of "failover", "multivalue", "weighted", "topology" (e.g. multivalue), got "fail"');
  assert.equal(said.get('checks.web.fal'), 'unknown key "fal" (did you mean "fall"?)');
  assert.equal(said.get('dns.lisen'), 'unknown key "lisen" (did you mean "listen"?)');
  assert.equal(said.get('records[0].tll'), 'unknown key "tll" (did you mean "ttl"?)');
  assert.equal(said.get('records[0].targets[0].colour'), 'unknown key "colour"', 'no key is close: no guess');
  assert.equal(said.size, 9, r.stderr);
  assert.doesNotMatch(r.stderr, /Invalid input|received/);
});

test('validate into a pipe whose reader is gone: exit 0, nothing on stderr', async (t) => {
  const dir = new TestDir();
  t.after(() => dir.remove());
  dir.write(`dns: { listen: ["127.0.0.1:0"] }
zones: zones
checks:
  web: { type: tcp, port: 9 }
records:
  - name: www.example.test
    type: A
    targets: [{ address: 127.0.0.1, check: web }]
`);
  const r = await runCliIntoClosedPipe(['validate', '--config', dir.config], 60_000);
  assert.equal(r.stderr, '');
  assert.equal(r.code, 0);
});
