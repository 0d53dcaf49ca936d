/**
 * Signals at any moment: a SIGHUP sent right after spawn, while failoverd is
 * still loading, neither kills it (it used to exit 129 with no log line,
 * which systemd counts as a clean stop) nor is lost: it becomes one reload
 * once the daemon is up.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { TestDir, TOKEN } from './helpers/admin-daemon.ts';
import { DaemonProcess } from './helpers/cli.ts';

test('a SIGHUP right after spawn is remembered and applied as a reload once the daemon is up', async (t) => {
  const dir = new TestDir();
  t.after(() => dir.remove());
  dir.write(`dns: { listen: ["127.0.0.1:0"] }
zones: zones
admin: { listen: "127.0.0.1:0", token: "${TOKEN}" }
checks:
  web: { type: tcp, port: 9, interval: 1s, timeout: 300ms, watch: false }
records:
  - name: www.example.test
    type: A
    ttl: 30
    targets: [{ address: 127.0.0.1, check: web }]
`);
  const proc = new DaemonProcess(['run', '--config', dir.config]);
  t.after(() => proc.stop('SIGKILL'));
  // Before node runs any of failoverd's code a SIGHUP kills any node
  // process; failoverd's first line catches it. Send it the moment the
  // process catches SIGHUP at all (SigCgt bit 0), long before it is loaded.
  const deadline = Date.now() + 10_000;
  while (!(sigCaught(proc.child.pid!) & 1n)) {
    assert.ok(Date.now() < deadline && proc.child.exitCode === null, 'failoverd never caught SIGHUP');
    await new Promise((r) => setTimeout(r, 2));
  }
  assert.equal(proc.child.kill('SIGHUP'), true);
  const early = await Promise.race([
    proc.waitForLog((l) => l.msg === 'reloading config' && l.beforeStart === true, 20_000),
    proc.exited.then((code) => assert.fail(`failoverd exited (${code}, signal ${proc.child.signalCode}) after an early SIGHUP; stderr: ${proc.stderr}`)),
  ]);
  assert.equal(early.signal, 'SIGHUP');
  await proc.waitForLog((l) => l.msg === 'serving DNS');
  await proc.waitForLog((l) => typeof l.msg === 'string' && /reload/.test(l.msg) && l.msg !== 'reloading config', 10_000);
  assert.equal(proc.child.exitCode, null, 'still running');
  assert.equal(await proc.stop('SIGTERM'), 0);
});

function sigCaught(pid: number): bigint {
  try {
    const m = /^SigCgt:\s*([0-9a-f]+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? BigInt(`0x${m[1]}`) : 0n;
  } catch {
    return 0n;
  }
}
