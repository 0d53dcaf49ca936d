/**
 * Signals at any moment: a SIGHUP sent right after spawn, while failoverd is
 * still loading, neither kills it (it used to exit 129 with no log line,
 * which systemd counts as a clean stop) nor is lost: it becomes one reload
 * once the daemon is up.
 *
 * Node.js itself needs 40 ms (on a busy machine, hundreds) before any of
 * failoverd's code runs, and it resets the signal dispositions and mask it
 * inherits, so `node bin/failoverd.js` cannot be guarded in that time:
 * bin/failoverd-daemon (the service unit's ExecStart) is a shell that
 * catches SIGHUP within a millisecond and passes it on once node catches it.
 * Sent within 50 ms of spawn here, through the real daemon (the compiled
 * dist/) and through a tree whose dist/ entry loads slowly.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { TestDir, TOKEN } from './helpers/admin-daemon.ts';
import { DaemonProcess } from './helpers/cli.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const LAUNCHER = join(ROOT, 'bin', 'failoverd-daemon');

test('a SIGHUP right after spawn is remembered and applied as a reload once the daemon is up', async (t) => {
  const dir = new TestDir();
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
  t.after(() => dir.remove());
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

/**
 * Starts the launcher (`start`) and sends it SIGHUP the moment it catches
 * it (SigCgt bit 0, a synchronous poll: no timer delay), provided that is
 * within EARLY_MS of spawn and node, its child, does not catch SIGHUP yet:
 * the signal then comes in the moment that used to kill the daemon. On a
 * busy machine this test process may be scheduled too late to see that
 * moment: the launcher is then killed and started again (at most 5 times). Returns the child and when the SIGHUP
 * was sent, in ms after spawn() returned (the launcher was running: its
 * shell catches SIGHUP within a few ms, tens under a load of 20 on 2 cores;
 * node takes 40 ms to hundreds).
 */
/** systemd's ExecReload may come this early after the start (issue 26: 50 ms after spawn killed the daemon). */
const EARLY_MS = 50;

async function startAndHupEarly<C extends { child: ChildProcess }>(start: () => C): Promise<{ started: C; sentAt: number }> {
  for (let attempt = 1; ; attempt++) {
    const started = start();
    const { child } = started;
    const spawnedAt = performance.now();
    const deadline = spawnedAt + 2000;
    while (!(sigCaught(child.pid!) & 1n)) assert.ok(performance.now() < deadline && child.exitCode === null, 'the launcher never caught SIGHUP');
    const sentAt = performance.now() - spawnedAt;
    if (sentAt <= EARLY_MS && !childrenOf(child.pid!).some((pid) => sigCaught(pid) & 1n)) {
      assert.equal(child.kill('SIGHUP'), true);
      return { started, sentAt };
    }
    assert.ok(attempt < 5, `in 5 starts, this test never saw the launcher catch SIGHUP within ${EARLY_MS} ms of spawn while node could not catch it yet (last: ${sentAt.toFixed(1)} ms after spawn)`);
    const gone = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await gone;
  }
}

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

const CONFIG = `dns: { listen: ["127.0.0.1:0"] }
zones: zones
admin: { listen: "127.0.0.1:0", token: "${TOKEN}" }
checks:
  web: { type: tcp, port: 9, interval: 1s, timeout: 300ms, watch: false }
records:
  - name: www.example.test
    type: A
    ttl: 30
    targets: [{ address: 127.0.0.1, check: web }]
`;

test('bin/failoverd-daemon: a SIGHUP right after spawn, before node can catch it, is held, then applied as one reload; SIGTERM stops it with exit 0', async (t) => {
  const dir = new TestDir();
  dir.write(CONFIG);
  const { started: proc, sentAt } = await startAndHupEarly(() => new DaemonProcess(['run', '--config', dir.config], { entry: [LAUNCHER], env: { FAILOVERD_NODE: process.execPath } }));
  t.after(() => proc.stop('SIGKILL'));
  t.after(() => dir.remove());
  t.diagnostic(`SIGHUP sent ${sentAt.toFixed(1)} ms after spawn`);
  const early = await Promise.race([
    proc.waitForLog((l) => l.msg === 'reloading config' && l.beforeStart === true, 30_000),
    proc.exited.then((code) => assert.fail(`failoverd exited (${code}, signal ${proc.child.signalCode}) after a SIGHUP ${sentAt.toFixed(1)} ms after spawn; stderr: ${proc.stderr}`)),
  ]);
  assert.equal(early.signal, 'SIGHUP');
  await proc.waitForLog((l) => l.msg === 'config reloaded', 10_000);
  assert.equal(proc.logs.filter((l) => l.msg === 'reloading config').length, 1, 'one reload');
  assert.equal(await proc.stop('SIGTERM', 10_000), 0);
  assert.ok(proc.logs.some((l) => l.msg === 'stopped'), 'SIGTERM reached the daemon through the launcher');
});

test('bin/failoverd-daemon guards the daemon from its first moment: a SIGHUP sent right after spawn is held and applied once it is up', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'failoverd-launcher-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  cpSync(join(ROOT, 'bin'), join(dir, 'bin'), { recursive: true });
  cpSync(join(ROOT, 'package.json'), join(dir, 'package.json'));
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  mkdirSync(join(dir, 'dist', 'cli'), { recursive: true });
  // An entry that takes 300 ms to load, then reports the SIGHUPs bin/failoverd.js caught for it.
  const entry = (runtime: string) => `const busyUntil = Date.now() + 300;
while (Date.now() < busyUntil);
const early = globalThis[Symbol.for('failoverd.earlySignals')];
const deadline = Date.now() + 10000;
const poll = setInterval(() => {
  if (early.hup === 0 && Date.now() < deadline) return;
  clearInterval(poll);
  process.stdout.write(JSON.stringify({ runtime: '${runtime}', hups: early.hup }));
}, 10);
`;
  writeFileSync(join(dir, 'dist', 'cli', 'main.js'), entry('dist'));
  writeFileSync(join(dir, 'dist', '.build-stamp'), '{}\n');
  for (const runtime of ['dist'] as const) {
    let out = '';
    const { started, sentAt } = await startAndHupEarly(() => {
      out = '';
      const child = spawn(join(dir, 'bin', 'failoverd-daemon'), ['run'], { env: { ...process.env, FAILOVERD_NODE: process.execPath }, stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (out += d));
      return { child, exited: new Promise<[number | null, string | null]>((r) => child.on('exit', (code, signal) => r([code, signal]))) };
    });
    t.diagnostic(`${runtime}: SIGHUP sent ${sentAt.toFixed(1)} ms after spawn`);
    const kill = setTimeout(() => started.child.kill('SIGKILL'), 20_000);
    const [code, signal] = await started.exited;
    clearTimeout(kill);
    assert.deepEqual([code, signal], [0, null], `${runtime}: exit ${code}, signal ${signal}, SIGHUP ${sentAt.toFixed(1)} ms after spawn; output: ${out}`);
    assert.deepEqual(JSON.parse(out), { runtime, hups: 1 });
  }
});
