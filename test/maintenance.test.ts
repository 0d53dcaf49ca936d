/**
 * Maintenance windows on scripted time: a real daemon in this process on a
 * FakeClock, real HTTP backends, real DNS queries and admin requests. The
 * clock jumps to the cron's time: the window drains its target (DNS answer,
 * status, metrics, log), and when its duration is over releases it; a window
 * removed by a reload releases its drain at once; a drain whose window is
 * gone from the config when failoverd starts again is released at start.
 * No real time is waited for, only the answers the daemon gives (bounded).
 */
import assert from 'node:assert/strict';
import { Resolver } from 'node:dns/promises';
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { after, before, test, type TestContext } from 'node:test';
import { FakeClock } from './helpers/fake-clock.ts';
import { loadConfig } from '../src/config/load.ts';
import { Daemon } from '../src/daemon.ts';
import { formatStatus } from '../src/cli/admin-commands.ts';
import { metric, parsePrometheus, TestDir } from './helpers/admin-daemon.ts';
import { httpBackendsOnOnePort, type Backend } from './helpers/backends.ts';
import { eventually } from './helpers/eventually.ts';
import { captureLog, type CapturedLog } from './helpers/log-capture.ts';

const MIN = 60_000;
/** Sunday 2026-01-04 02:59:00 UTC: a minute before the window's cron. */
const T0 = Date.UTC(2026, 0, 4, 2, 59, 0);
const PRIMARY = 'www.example.test/A/127.0.0.1';

let backends: Backend[] = [];

/**
 * The www record set with one window on its primary. Probes every 6 h: the
 * clock's jumps (at most 2 h here) never reach a probe's timeout or its next
 * round, so the backends' health stays what the first round found.
 */
function config(port: number, window?: { name: string; cron: string; duration: string; reason: string }): string {
  return `dns: { listen: ["127.0.0.1:0"] }
zones: zones
admin: { listen: "127.0.0.1:0" }
startupTimeout: 2s
checks:
  web: { type: http, port: ${port}, interval: 6h, timeout: 5h, rise: 1, fall: 1, watch: false }
records:
  - name: www.example.test
    type: A
    ttl: 5
    targets: [{ address: 127.0.0.1, check: web }, { address: 127.0.0.2, check: web }]
${
  window
    ? `maintenance:
  - name: ${window.name}
    targets: [${PRIMARY}]
    cron: "${window.cron}"
    timezone: UTC
    duration: ${window.duration}
    reason: ${window.reason}
`
    : ''
}`;
}

/** A daemon of `dir`'s config in this process on `clock`, with its log, DNS and admin API. */
async function startDaemon(dir: TestDir, clock: FakeClock) {
  const log = captureLog('info');
  const daemon = new Daemon(await loadConfig(dir.config), { clock, logger: log.logger });
  const [dns] = await daemon.start();
  const admin = daemon.adminAddress()!;
  const resolver = new Resolver({ timeout: 1000, tries: 2 });
  resolver.setServers([`127.0.0.1:${dns!.port}`]);
  const api = async (method: string, path: string): Promise<{ status: number; body: any; text: string }> => {
    const res = await fetch(`http://127.0.0.1:${admin.port}${path}`, { method });
    const text = await res.text();
    return { status: res.status, text, body: res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : undefined };
  };
  return {
    daemon,
    log,
    api,
    answer: async (): Promise<string[]> => (await resolver.resolve4('www.example.test')).sort(),
    /** Bounded: the answer follows a jump of the clock within a few event-loop turns, not after real time. */
    waitForAnswer: (want: string[]) => eventually(`www.example.test to answer ${want.join(',')}`, async () => JSON.stringify((await resolver.resolve4('www.example.test')).sort()) === JSON.stringify(want), 5000, 10),
    active: async (window: string) => metric(parsePrometheus((await api('GET', '/metrics')).text), 'failoverd_maintenance_active', { window }),
    /** The window's failed runs and whether its last run succeeded, as /metrics exports them. */
    runs: async (window: string) => {
      const samples = parsePrometheus((await api('GET', '/metrics')).text);
      return { failures: metric(samples, 'failoverd_maintenance_run_failures_total', { window }), lastOk: metric(samples, 'failoverd_maintenance_last_run_successful', { window }) };
    },
  };
}

/**
 * A test folder with `window`'s config and a daemon of it on a FakeClock at T0. One hook stops the daemon, then removes
 * the folder: node:test runs hooks in the order they were added, and a removal while the daemon writes its state fails.
 */
async function startWithWindow(t: TestContext, window: Parameters<typeof config>[1]) {
  const dir = new TestDir();
  dir.write(config(backends[0]!.port, window));
  const clock = new FakeClock(T0);
  const d = await startDaemon(dir, clock);
  t.after(async () => {
    await d.daemon.stop();
    dir.remove();
  });
  return { dir, clock, d };
}

function logged(log: CapturedLog, msg: string): Promise<Record<string, unknown>> {
  return log.waitFor(msg, (l) => l.msg === msg);
}

before(async () => {
  backends = await httpBackendsOnOnePort(['127.0.0.1', '127.0.0.2']);
});

after(async () => {
  for (const b of backends) await b.kill();
});

test('a maintenance window drains its target when the cron fires, visibly, then releases it when its duration is over', async (t) => {
  const { clock, d } = await startWithWindow(t, { name: 'patch', cron: '0 3 * * 0', duration: '30m', reason: 'kernel patching' });

  const startAt = Date.UTC(2026, 0, 4, 3, 0, 0);
  const before = (await d.api('GET', '/v1/status')).body;
  assert.deepEqual(before.maintenance.map((m: any) => [m.name, m.active, m.duration, m.reason, m.targets]), [['patch', false, 30 * MIN, 'kernel patching', [PRIMARY]]]);
  assert.equal(Date.parse(before.maintenance[0].next), startAt, 'next: Sunday 03:00 UTC');
  assert.equal(await d.active('patch'), 0);
  assert.deepEqual(await d.answer(), ['127.0.0.1']);

  clock.advance(59_999);
  assert.equal(d.log.lines.some((l) => l.msg === 'maintenance window started'), false, 'not a millisecond early');
  clock.advance(1);
  const started = await logged(d.log, 'maintenance window started');
  assert.deepEqual([started.window, started.drained, started.until], ['patch', [PRIMARY], new Date(startAt + 30 * MIN).toISOString()]);
  await d.waitForAnswer(['127.0.0.2']);
  const during = (await d.api('GET', '/v1/status')).body;
  assert.equal(during.maintenance[0].active, true);
  assert.equal(Date.parse(during.maintenance[0].until), startAt + 30 * MIN);
  assert.equal(Date.parse(during.maintenance[0].next), startAt + 7 * 24 * 60 * MIN, 'next: a week later');
  assert.deepEqual(during.overrides.map((o: any) => [o.target, o.state, o.source, o.reason]), [[PRIMARY, 'DOWN', 'maintenance:patch', 'maintenance patch: kernel patching']]);
  assert.equal(during.targets[0].real.health, 'UP');
  assert.equal(during.targets[0].effective.health, 'DOWN');
  assert.equal(await d.active('patch'), 1);

  clock.advance(30 * MIN - 1);
  assert.equal((await d.api('GET', '/v1/status')).body.maintenance[0].active, true, 'still drained a millisecond before its end');
  clock.advance(1);
  const ended = await logged(d.log, 'maintenance window ended: target released');
  assert.equal(ended.window, 'patch');
  await d.waitForAnswer(['127.0.0.1']);
  const afterwards = (await d.api('GET', '/v1/status')).body;
  assert.equal(afterwards.maintenance[0].active, false);
  assert.deepEqual(afterwards.overrides, []);
  assert.equal(await d.active('patch'), 0);
});

test('a window removed by a reload releases its drain at once; an operator override stays', async (t) => {
  const { dir, clock, d } = await startWithWindow(t, { name: 'hotfix', cron: '0 3 * * *', duration: '1h', reason: 'database migration' });
  const pin = await fetch(`http://127.0.0.1:${d.daemon.adminAddress()!.port}/v1/targets/${encodeURIComponent('www.example.test/A/127.0.0.2')}/override`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ state: 'up', reason: 'known good' }),
  });
  assert.equal(pin.status, 200);
  clock.advance(MIN);
  await d.waitForAnswer(['127.0.0.2']);
  const during = (await d.api('GET', '/v1/status')).body;
  assert.deepEqual(during.overrides.map((o: any) => [o.target, o.state, o.source]).sort(), [
    [PRIMARY, 'DOWN', 'maintenance:hotfix'],
    ['www.example.test/A/127.0.0.2', 'UP', 'api'],
  ]);

  dir.write(config(backends[0]!.port));
  assert.equal((await d.daemon.reload()).ok, true);
  // Released at the reload, with the hour far from over (the clock has not moved).
  const released = await logged(d.log, 'maintenance window no longer configured for this target: target released');
  assert.deepEqual([released.window, released.target], ['hotfix', PRIMARY]);
  await d.waitForAnswer(['127.0.0.1']);
  const afterwards = (await d.api('GET', '/v1/status')).body;
  assert.deepEqual(afterwards.maintenance, []);
  assert.deepEqual(afterwards.overrides.map((o: any) => [o.target, o.state, o.source]), [['www.example.test/A/127.0.0.2', 'UP', 'api']]);
  clock.advance(24 * 60 * MIN);
  assert.equal(d.log.lines.filter((l) => l.msg === 'maintenance window started').length, 1, 'the removed window does not fire again');
});

test('a drain whose window is gone from the config when failoverd starts again is released at start', async (t) => {
  const dir = new TestDir();
  dir.write(config(backends[0]!.port, { name: 'retired', cron: '0 3 * * *', duration: '1h', reason: 'old window' }));
  const clock = new FakeClock(T0);
  const first = await startDaemon(dir, clock);
  try {
    clock.advance(MIN);
    await first.waitForAnswer(['127.0.0.2']);
  } finally {
    await first.daemon.stop(); // the state file keeps the drain and its expiry
  }
  dir.write(config(backends[0]!.port));
  const second = await startDaemon(dir, clock);
  t.after(() => second.daemon.stop());
  t.after(() => dir.remove());
  const restored = await logged(second.log, 'restored state');
  assert.equal(restored.overrides, 1, 'the drain came back from the state file');
  const released = await logged(second.log, 'maintenance window no longer configured for this target: target released');
  assert.deepEqual([released.window, released.target], ['retired', PRIMARY]);
  assert.deepEqual(await second.answer(), ['127.0.0.1']);
  assert.deepEqual((await second.api('GET', '/v1/status')).body.overrides, []);
});

test('a window whose run fails says so: log, /v1/status, failoverd status, the status page and metrics, until its next good run', async (t) => {
  const { dir, clock, d } = await startWithWindow(t, { name: 'patch', cron: '0 3 * * *', duration: '30m', reason: 'kernel patching' });
  const stateDir = dirname(dir.stateFile);
  const restore = () => {
    rmSync(stateDir, { force: true });
    renameSync(`${stateDir}.saved`, stateDir);
  };

  // Exported from the start, before any run.
  assert.deepEqual(await d.runs('patch'), { failures: 0, lastOk: 1 });
  const before = (await d.api('GET', '/v1/status')).body.maintenance[0];
  assert.equal(before.failedRuns, 0);
  assert.equal(before.lastRun, undefined);

  // The drain cannot be made durable: a regular file where the state folder was (fails for root too, as a full or read-only disk would).
  renameSync(stateDir, `${stateDir}.saved`);
  writeFileSync(stateDir, 'not a folder');
  let restored = false;
  t.after(() => {
    if (!restored) restore();
  });
  const runAt = Date.UTC(2026, 0, 4, 3, 0, 0);
  clock.advance(MIN);
  const failed = await logged(d.log, 'maintenance window run failed: its targets may not be drained');
  assert.equal(failed.level, 50, 'an error line');
  assert.equal(failed.window, 'patch');
  assert.equal((failed.err as { code?: string }).code, 'MAINTENANCE_RUN_FAILED');
  const started = d.log.lines.filter((l) => l.msg === 'maintenance window started');
  assert.deepEqual(started.map((l) => l.drained), [[PRIMARY]], 'the drain was made (the failure line follows it)');
  assert.ok(d.log.lines.indexOf(started[0]!) < d.log.lines.indexOf(failed), 'started, then failed');

  const s = (await d.api('GET', '/v1/status')).body;
  const w = s.maintenance[0];
  assert.equal(w.failedRuns, 1);
  assert.equal(w.lastRun.ok, false);
  assert.equal(Date.parse(w.lastRun.at), runAt);
  assert.equal(w.lastRun.error.code, 'MAINTENANCE_RUN_FAILED');
  assert.match(w.lastRun.error.message, /^maintenance window patch: the drain of www\.example\.test\/A\/127\.0\.0\.1 is not in the state file: a restart during the window would serve the targets again \(ENOTDIR\)$/);
  // The drain itself is in effect (the safe side for the work); only its durability failed.
  await d.waitForAnswer(['127.0.0.2']);
  assert.deepEqual(await d.runs('patch'), { failures: 1, lastOk: 0 });
  const text = formatStatus(s);
  assert.match(text, /^WARNING: maintenance window patch FAILED at 2026-01-04T03:00:00\.000Z \(1 failed run\(s\) since start\): maintenance window patch: the drain of .* is not in the state file/m);
  assert.match(text, /^patch +0 3 \* \* \* +1800s +ACTIVE until \S+ +FAILED /m);
  const page = (await d.api('GET', '/')).text;
  assert.match(page, /MAINTENANCE FAILED<\/span> window patch .*is not in the state file/);

  // Fixed: the next day's run succeeds; the failure stays counted.
  restore();
  restored = true;
  clock.advance(24 * 60 * MIN);
  await eventually('the next run recorded', async () => (await d.api('GET', '/v1/status')).body.maintenance[0].lastRun?.ok === true, 5000, 10);
  const again = (await d.api('GET', '/v1/status')).body;
  assert.equal(Date.parse(again.maintenance[0].lastRun.at), runAt + 24 * 60 * MIN);
  assert.equal(again.maintenance[0].failedRuns, 1);
  assert.deepEqual(await d.runs('patch'), { failures: 1, lastOk: 1 });
  assert.doesNotMatch(formatStatus(again), /WARNING: maintenance/);
  assert.doesNotMatch((await d.api('GET', '/')).text, /MAINTENANCE FAILED/);
  assert.equal(d.log.lines.filter((l) => l.msg === 'maintenance window started').length, 2);
});
