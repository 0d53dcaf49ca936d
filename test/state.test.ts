/**
 * The state file: SIGKILL and restart keep a drain and the zone serial (and
 * answer the drained state from the first query on), a corrupt file is
 * moved aside, writes are atomic and debounced but bounded.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { FakeClock } from './helpers/fake-clock.ts';
import { silentLogger } from '../src/log.ts';
import { emptyState, MAX_DELAY_MS, persistedStateSchema, readStateFileSync, RETRY_MS, StateWriter } from '../src/state/store.ts';
import { systemClock } from '../src/clock.ts';
import { formatStatus } from '../src/cli/admin-commands.ts';
import { loadConfig } from '../src/config/load.ts';
import { Daemon } from '../src/daemon.ts';
import { freePort } from './helpers/ports.ts';
import { AdminDaemon, idleConfig, TestDir, until, wwwConfig } from './helpers/admin-daemon.ts';
import { httpBackendsOnOnePort, type Backend } from './helpers/backends.ts';

let backends: Backend[] = [];
const dirs: TestDir[] = [];

before(async () => {
  backends = await httpBackendsOnOnePort(['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4']);
});
after(async () => {
  for (const b of backends) await b.kill();
  for (const d of dirs) d.remove();
});

function newDir(): TestDir {
  const dir = new TestDir();
  dirs.push(dir);
  dir.write(wwwConfig(backends[0]!.port, { moreRecords: `  - name: hold.example.test
    type: A
    failback: manual
    targets: [{ address: 127.0.0.3, check: web }, { address: 127.0.0.4, check: web }]
` }));
  return dir;
}

const PRIMARY = encodeURIComponent('www.example.test/A/127.0.0.1');

test('SIGKILL, then start again: the drain and the serial survive; the first answer is already the drained one', async (t) => {
  const dir = newDir();
  const first = await AdminDaemon.start(dir);
  let serialBefore: number;
  try {
    const zoneSerial = await first.serial();
    const r = await first.api('POST', `/v1/targets/${PRIMARY}/override`, { body: { state: 'down', reason: 'disk replacement' } });
    assert.equal(r.status, 200);
    await first.waitForAnswer('www.example.test', ['127.0.0.2']);
    serialBefore = await first.serial();
    assert.ok(serialBefore > zoneSerial, 'the drain moved the serial');
    // The drain was on disk before the API answered.
    const saved = persistedStateSchema.parse(JSON.parse(readFileSync(dir.stateFile, 'utf8')));
    assert.equal(saved.overrides['www.example.test/A/127.0.0.1']?.reason, 'disk replacement');
  } finally {
    assert.equal(await first.stop('SIGKILL'), null);
  }

  const second = await AdminDaemon.start(dir);
  try {
    // The very first answer served is the secondary: no flap to the primary.
    assert.deepEqual(await second.answer('www.example.test'), ['127.0.0.2']);
    const serialAfter = await second.serial();
    assert.ok(serialAfter >= serialBefore, `serial went back: ${serialAfter} < ${serialBefore}`);
    assert.equal(serialAfter, serialBefore + 1, 'a restart moves the serial forward by one');
    const s = (await second.api('GET', '/v1/status')).body;
    assert.deepEqual(s.overrides.map((o: any) => [o.target, o.state, o.reason, o.source]), [['www.example.test/A/127.0.0.1', 'DOWN', 'disk replacement', 'api']]);
    assert.equal(s.targets[0].effective.health, 'DOWN');
    assert.equal(s.targets[0].real.health, 'UP');
    const restored = await second.proc.waitForLog((l) => l.msg === 'restored state');
    assert.equal(restored.overrides, 1);
    assert.ok(!second.proc.logs.some((l) => l.msg === 'transition'), 'no transition at start');
    // Undrain, stop cleanly: the state file says so, and the serial moved on.
    assert.equal((await second.api('DELETE', `/v1/targets/${PRIMARY}/override`)).status, 200);
    await second.waitForAnswer('www.example.test', ['127.0.0.1']);
    const last = await second.serial();
    assert.equal(last, serialAfter + 1);
    const t0 = Date.now();
    assert.equal(await second.stop('SIGTERM'), 0);
    const stopMs = Date.now() - t0;
    assert.ok(stopMs < 5000, `SIGTERM took ${stopMs} ms`);
    t.diagnostic(`SIGTERM to exit: ${stopMs} ms`);
    const saved = persistedStateSchema.parse(JSON.parse(readFileSync(dir.stateFile, 'utf8')));
    assert.deepEqual(saved.overrides, {});
    assert.equal(saved.serials['example.test'], last);
    assert.equal(saved.health['web@127.0.0.1']?.health, 'UP');
    assert.equal(saved.recordSets['www.example.test/A']?.activeId, 'www.example.test/A/127.0.0.1');
  } finally {
    await second.stop('SIGKILL');
  }
});

test('a drain, undrain or pin whose state write fails answers 503 STATE_WRITE_FAILED and is undone: API, DNS and disk agree, also after a restart', async () => {
  const dir = newDir();
  const stateDir = dirname(dir.stateFile);
  const d = await AdminDaemon.start(dir);
  try {
    assert.equal((await d.api('POST', `/v1/targets/${PRIMARY}/override`, { body: { state: 'down', reason: 'disk replacement' } })).status, 200);
    await d.waitForAnswer('www.example.test', ['127.0.0.2']);
    // Every state write fails from now on: a regular file where the state
    // folder was. (chmod 0500 would not do: the tests may run as root, which
    // writes into such a folder anyway; this fails for root and anyone else,
    // with ENOTDIR, as a read-only or full disk fails with EROFS or ENOSPC.)
    renameSync(stateDir, `${stateDir}.saved`);
    writeFileSync(stateDir, 'not a folder');

    const undrain = await d.api('DELETE', `/v1/targets/${PRIMARY}/override`);
    assert.equal(undrain.status, 503, JSON.stringify(undrain.body));
    assert.equal(undrain.body.error.code, 'STATE_WRITE_FAILED');
    assert.equal(undrain.body.error.details.errno, 'ENOTDIR');
    assert.match(undrain.body.error.message, /^cannot write the state file \(ENOTDIR: .*\): the override of www\.example\.test\/A\/127\.0\.0\.1 stays\./);
    const pin = await d.api('POST', `/v1/targets/${encodeURIComponent('www.example.test/A/127.0.0.2')}/override`, { body: { state: 'up', reason: 'pin it' } });
    assert.equal(pin.status, 503);
    assert.equal(pin.body.error.code, 'STATE_WRITE_FAILED');
    assert.match(pin.body.error.message, /the override of www\.example\.test\/A\/127\.0\.0\.2 is undone \(it has none\)/);
    const redrain = await d.api('POST', `/v1/targets/${PRIMARY}/override`, { body: { state: 'down', reason: 'a new reason' } });
    assert.equal(redrain.status, 503);
    assert.match(redrain.body.error.message, /is undone \(its previous override is back\)/);

    // In memory: as before the refused actions, with the first drain's reason.
    const s = (await d.api('GET', '/v1/status')).body;
    assert.deepEqual(s.overrides.map((o: any) => [o.target, o.state, o.reason]), [['www.example.test/A/127.0.0.1', 'DOWN', 'disk replacement']]);
    assert.deepEqual(await d.answer('www.example.test'), ['127.0.0.2']);
    await d.proc.waitForLog((l) => l.msg === 'cannot write the state file; will retry' && (l.err as { code?: string })?.code === 'ENOTDIR');

    rmSync(stateDir);
    renameSync(`${stateDir}.saved`, stateDir);
  } finally {
    await d.stop('SIGKILL');
  }
  // After a crash, the restart has what the API answered: the drain, not the refused undrain.
  const again = await AdminDaemon.start(dir);
  try {
    const s = (await again.api('GET', '/v1/status')).body;
    assert.deepEqual(s.overrides.map((o: any) => [o.target, o.state, o.reason]), [['www.example.test/A/127.0.0.1', 'DOWN', 'disk replacement']]);
    assert.deepEqual(await again.answer('www.example.test'), ['127.0.0.2']);
  } finally {
    await again.stop();
  }
});

/**
 * A daemon fails hold.example.test over to 127.0.0.4 and holds it there
 * (failback: manual, the primary UP again); once the state file says so, it
 * is killed with SIGKILL.
 */
async function holdThenKill(dir: TestDir): Promise<void> {
  const first = await AdminDaemon.start(dir);
  try {
    await backends[2]!.kill();
    await first.waitForAnswer('hold.example.test', ['127.0.0.4'], 3000);
    await backends[2]!.revive();
    await until('failback pending', async () => (await first.api('GET', '/v1/status')).body.recordSets.find((r: any) => r.key === 'hold.example.test/A').pending);
    // The debounced write (at most 1 s later): wait for the file to hold what the restart reads.
    await until('the hold on disk', () => {
      const saved = existsSync(dir.stateFile) ? persistedStateSchema.parse(JSON.parse(readFileSync(dir.stateFile, 'utf8'))) : undefined;
      return saved?.recordSets['hold.example.test/A']?.activeId === 'hold.example.test/A/127.0.0.4' && saved.health['web@127.0.0.3']?.health === 'UP';
    }, 3000);
  } finally {
    await first.stop('SIGKILL');
  }
}

test('a manual-failback hold survives SIGKILL and restart: no failback without the command', async () => {
  const dir = newDir();
  await holdThenKill(dir);
  const second = await AdminDaemon.start(dir);
  try {
    assert.deepEqual(await second.answer('hold.example.test'), ['127.0.0.4'], 'still held on the secondary');
    const rs = (await second.api('GET', '/v1/status')).body.recordSets.find((r: any) => r.key === 'hold.example.test/A');
    assert.match(rs.pending, /failback is manual/);
    const fb = await second.api('POST', '/v1/records/hold.example.test/failback');
    assert.equal(fb.body.results[0].to, '127.0.0.3');
    await second.waitForAnswer('hold.example.test', ['127.0.0.3'], 1000);
  } finally {
    assert.equal(await second.stop(), 0);
  }
});

test('a restart that finds the held target dead moves at once, and logs the transition like any other', async () => {
  const dir = newDir();
  await holdThenKill(dir);
  // While failoverd is down, the target it was held on dies.
  await backends[3]!.kill();
  try {
    const second = await AdminDaemon.start(dir);
    try {
      assert.deepEqual(await second.answer('hold.example.test'), ['127.0.0.3']);
      const logged = second.proc.logs.filter((l) => l.msg === 'transition' && l.recordSet === 'hold.example.test/A');
      assert.deepEqual(logged.map((l) => [l.from, l.to]), [['127.0.0.4', '127.0.0.3']], 'the answer changed at start: one transition line');
      const recent = (await second.api('GET', '/v1/transitions')).body.transitions.filter((t: any) => t.recordSet === 'hold.example.test/A');
      assert.deepEqual(recent.map((t: any) => [t.from, t.to]), [['127.0.0.4', '127.0.0.3']]);
    } finally {
      assert.equal(await second.stop(), 0);
    }
  } finally {
    await backends[3]!.revive();
  }
});

test('a corrupt state file is moved aside with a warning, and the daemon starts clean', async () => {
  const dir = newDir();
  mkdirSync(join(dir.dir, 'state'));
  writeFileSync(dir.stateFile, '{"version": 1, "overrides": {"x": ');
  const d = await AdminDaemon.start(dir);
  try {
    const warn = await d.proc.waitForLog((l) => l.msg === 'state file is corrupt: moved it aside and starting clean');
    assert.equal(warn.level, 40);
    assert.match(String(warn.problem), /^not JSON/);
    const aside = readdirSync(join(dir.dir, 'state')).filter((n) => n.startsWith('failoverd.json.corrupt-'));
    assert.equal(aside.length, 1);
    assert.equal(readFileSync(join(dir.dir, 'state', aside[0]!), 'utf8'), '{"version": 1, "overrides": {"x": ');
    assert.deepEqual(await d.answer('www.example.test'), ['127.0.0.1']);
    // A fresh, valid file replaced it.
    const fresh = persistedStateSchema.parse(JSON.parse(readFileSync(dir.stateFile, 'utf8')));
    assert.deepEqual(fresh.overrides, {});
  } finally {
    assert.equal(await d.stop(), 0);
  }
});

test('a file of the wrong shape is refused (moved aside) too', () => {
  const dir = mkdtempSync(join(tmpdir(), 'failoverd-state-'));
  try {
    const file = join(dir, 's.json');
    writeFileSync(file, JSON.stringify({ ...emptyState(), serials: { 'example.test': -4 } }));
    const logs: any[] = [];
    const log = { warn: (o: any, m: string) => logs.push({ ...o, msg: m }) } as any;
    assert.equal(readStateFileSync(file, log), undefined);
    assert.equal(logs.length, 1);
    assert.match(logs[0].problem, /^serials\.example\.test: /);
    assert.ok(!existsSync(file));
    assert.equal(readStateFileSync(join(dir, 'missing.json'), log), undefined, 'a missing file is a clean start, no warning');
    assert.equal(logs.length, 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a state file that cannot be restored at start says so beyond the log: /v1/status state.restoreProblem, a WARNING in failoverd status, failoverd_state_restore_failed 1', async (t) => {
  const dir = new TestDir();
  t.after(() => dir.remove());
  dir.write(idleConfig(await freePort()));
  mkdirSync(dirname(dir.stateFile), { recursive: true });
  writeFileSync(dir.stateFile, '{"version": 1, "overrides": {"www.example.test/A/127.0.0.1": ');
  const seen = async (daemon: Daemon) => {
    const get = async (path: string) => (await fetch(`http://127.0.0.1:${daemon.adminAddress()!.port}${path}`)).text();
    const status = JSON.parse(await get('/v1/status'));
    return { status, text: formatStatus(status), gauge: /^failoverd_state_restore_failed (\d)$/m.exec(await get('/metrics'))?.[1] };
  };
  const first = new Daemon(await loadConfig(dir.config), { clock: systemClock, logger: silentLogger });
  try {
    await first.start();
    const { status, text, gauge } = await seen(first);
    assert.equal(status.state.file, dir.stateFile);
    assert.match(status.state.restoreProblem.problem, /^corrupt: not JSON: /);
    assert.match(status.state.restoreProblem.movedTo, /failoverd\.json\.corrupt-/);
    assert.ok(existsSync(status.state.restoreProblem.movedTo), 'the file moved aside is where the status says');
    assert.match(text, /^WARNING: the state file .*failoverd\.json was NOT restored at start \(corrupt: not JSON: .*; moved aside to .*\): drains, pins, failback holds and serials from before this start are forgotten$/m);
    assert.equal(gauge, '1');
  } finally {
    await first.stop();
  }
  // The next start reads the file the first one wrote: nothing to say.
  const second = new Daemon(await loadConfig(dir.config), { clock: systemClock, logger: silentLogger });
  try {
    await second.start();
    const { status, text, gauge } = await seen(second);
    assert.equal(status.state.restoreProblem, null);
    assert.doesNotMatch(text, /state file/);
    assert.equal(gauge, '0');
  } finally {
    await second.stop();
  }
});

test('temp files of killed state writes (FILE.tmp-PID) are removed at start; other files stay', () => {
  const dir = mkdtempSync(join(tmpdir(), 'failoverd-state-'));
  try {
    const file = join(dir, 's.json');
    writeFileSync(file, JSON.stringify(emptyState()));
    for (const name of ['s.json.tmp-123', 's.json.tmp-456', 's.json.tmp-notapid', 'other.json.tmp-789']) writeFileSync(join(dir, name), '{');
    const logs: any[] = [];
    const log = { warn: (o: any, m: string) => logs.push({ ...o, msg: m }), info: (o: any, m: string) => logs.push({ ...o, msg: m }) } as any;
    assert.deepEqual(readStateFileSync(file, log), emptyState());
    assert.deepEqual(readdirSync(dir).sort(), ['other.json.tmp-789', 's.json', 's.json.tmp-notapid']);
    assert.deepEqual(logs.map((l) => l.removed?.sort()), [['s.json.tmp-123', 's.json.tmp-456']]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('StateWriter: atomic writes, debounced but never held longer than MAX_DELAY_MS', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'failoverd-state-'));
  try {
    const clock = new FakeClock();
    const file = join(dir, 'sub', 'state.json');
    let n = 0;
    const writes: number[] = [];
    const w = new StateWriter({
      file,
      logger: silentLogger,
      clock,
      build: () => ({ ...emptyState(), serials: { z: ++n } }),
      onWrite: (ok, ms) => {
        assert.ok(ok);
        writes.push(ms);
      },
    });
    // A change every 50 ms keeps postponing the write, but not past MAX_DELAY_MS.
    for (let t = 0; t < MAX_DELAY_MS - 50; t += 50) {
      w.markDirty();
      clock.advance(50);
    }
    // A write would have begun by now: the timer fires inside advance(), and the write builds the state
    // within the microtasks that follow; one turn of the event loop runs them all.
    await new Promise((r) => setImmediate(r));
    assert.equal(n, 0, 'no write begun');
    assert.equal(writes.length, 0);
    w.markDirty();
    clock.advance(50);
    await w.flush();
    assert.ok(writes.length >= 1);
    assert.equal(JSON.parse(readFileSync(file, 'utf8')).serials.z, n);
    assert.deepEqual(readdirSync(join(dir, 'sub')), ['state.json'], 'no temp file left behind');
    // Write latency (temp file, fsync, rename, fsync of the folder).
    const lat: number[] = [];
    for (let i = 0; i < 30; i++) {
      await w.flush();
      lat.push(w.lastWriteMs);
    }
    lat.sort((a, b) => a - b);
    t.diagnostic(`state write latency: median ${lat[15]!.toFixed(2)} ms, max ${lat[29]!.toFixed(2)} ms`);
    await w.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('StateWriter: a failed write is logged and retried later without further changes', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'failoverd-state-'));
  try {
    const clock = new FakeClock();
    const blocker = join(dir, 'blocker');
    writeFileSync(blocker, 'a file where the state folder should be');
    const outcomes: boolean[] = [];
    const warnings: string[] = [];
    const logger = { warn: (_o: unknown, m: string) => warnings.push(m) } as any;
    const w = new StateWriter({ file: join(blocker, 'state.json'), logger, clock, build: emptyState, onWrite: (ok) => outcomes.push(ok) });
    const failed = await w.flush();
    assert.equal(failed.ok, false);
    assert.equal(!failed.ok && failed.err.code, 'ENOTDIR', 'a file where the folder should be: the errno says so');
    assert.deepEqual(outcomes, [false]);
    assert.deepEqual(warnings, ['cannot write the state file; will retry']);
    rmSync(blocker);
    clock.advance(RETRY_MS);
    await until('the retry', () => outcomes.length === 2);
    assert.deepEqual(outcomes, [false, true]);
    assert.deepEqual(await w.flush(), { ok: true });
    assert.equal(persistedStateSchema.parse(JSON.parse(readFileSync(join(blocker, 'state.json'), 'utf8'))).version, 1);
    await w.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('StateWriter: a write that fails after its temp file was made removes the temp file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'failoverd-state-'));
  try {
    const file = join(dir, 'state.json');
    mkdirSync(file); // the rename onto a folder fails (EISDIR), after the temp file was written
    const w = new StateWriter({ file, logger: silentLogger, clock: new FakeClock(), build: emptyState });
    const r = await w.flush();
    assert.equal(!r.ok && r.err.code, 'EISDIR');
    assert.deepEqual(readdirSync(dir), ['state.json'], 'no temp file left behind');
    await w.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a failback whose state write fails answers 503 STATE_WRITE_FAILED: served now, and says a restart would go back to the hold', async () => {
  const dir = newDir();
  await holdThenKill(dir);
  const stateDir = dirname(dir.stateFile);
  const d = await AdminDaemon.start(dir);
  try {
    assert.deepEqual(await d.answer('hold.example.test'), ['127.0.0.4'], 'held on the secondary');
    renameSync(stateDir, `${stateDir}.saved`);
    writeFileSync(stateDir, 'not a folder'); // every state write fails (ENOTDIR), as on a read-only or full disk
    const fb = await d.api('POST', '/v1/records/hold.example.test/failback');
    assert.equal(fb.status, 503, JSON.stringify(fb.body));
    assert.equal(fb.body.error.code, 'STATE_WRITE_FAILED');
    assert.equal(fb.body.error.details.errno, 'ENOTDIR');
    assert.equal(fb.body.error.details.undone, false);
    assert.match(fb.body.error.message, /the failback is served \(hold\.example\.test\/A now answers 127\.0\.0\.3\) but not on disk: a restart would go back to the held answer/);
    assert.deepEqual(await d.answer('hold.example.test'), ['127.0.0.3'], 'served, as the reply says');
  } finally {
    await d.stop('SIGKILL'); // before the folder is back, so no later retry writes the failback
    rmSync(stateDir, { force: true });
    if (existsSync(`${stateDir}.saved`)) renameSync(`${stateDir}.saved`, stateDir);
  }
  // What the reply warned of: the state file still holds the hold.
  const again = await AdminDaemon.start(dir);
  try {
    assert.deepEqual(await again.answer('hold.example.test'), ['127.0.0.4']);
  } finally {
    await again.stop();
  }
});
