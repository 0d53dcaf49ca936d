/**
 * Maintenance windows: a cron a few seconds ahead drains its target for
 * `duration` (DNS answer, status, metrics, log), then releases it.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { readFileSync } from 'node:fs';
import { AdminDaemon, metric, parsePrometheus, TestDir, until, wwwConfig } from './helpers/admin-daemon.ts';
import { httpBackendsOnOnePort, type Backend } from './helpers/backends.ts';
import { scaled } from './helpers/eventually.ts';

const dir = new TestDir();
let backends: Backend[] = [];
let d: AdminDaemon;
let startAt: number;

/** A 6-field cron (with seconds) for the whole second at least `aheadMs` from now, in UTC, and that moment. */
function cronAhead(aheadMs: number): { cron: string; at: number } {
  const at = new Date(Math.ceil((Date.now() + aheadMs) / 1000) * 1000);
  return { cron: `${at.getUTCSeconds()} ${at.getUTCMinutes()} ${at.getUTCHours()} * * *`, at: at.getTime() };
}

/** The www config with one maintenance window that drains the primary 127.0.0.1. */
function withWindow(name: string, cron: string, duration: string, reason: string): string {
  return wwwConfig(backends[0]!.port, { extra: `maintenance:
  - name: ${name}
    targets: [www.example.test/A/127.0.0.1]
    cron: "${cron}"
    timezone: UTC
    duration: ${duration}
    reason: ${reason}
` });
}

before(async () => {
  backends = await httpBackendsOnOnePort(['127.0.0.1', '127.0.0.2']);
  // Started with the window hours away, then moved a few seconds ahead by a
  // reload: however long the start takes on a busy machine, the cron fires
  // while the test watches (a start slower than the lead time would move it to tomorrow).
  dir.write(withWindow('patch', cronAhead(3 * 3600_000).cron, '2s', 'kernel patching'));
  d = await AdminDaemon.start(dir);
  const { cron, at } = cronAhead(scaled(3000));
  startAt = at;
  dir.write(withWindow('patch', cron, '2s', 'kernel patching'));
  assert.equal((await d.api('POST', '/v1/reload')).status, 200);
});

after(async () => {
  await d?.stop();
  for (const b of backends) await b.kill();
  dir.remove();
});

async function active(): Promise<number | undefined> {
  return metric(parsePrometheus((await d.api('GET', '/metrics')).text), 'failoverd_maintenance_active', { window: 'patch' });
}

test('a maintenance window drains its target when the cron fires, visibly, then releases it', async () => {
  const before = (await d.api('GET', '/v1/status')).body;
  assert.deepEqual(before.maintenance.map((m: any) => [m.name, m.active, m.duration, m.reason, m.targets]), [['patch', false, 2000, 'kernel patching', ['www.example.test/A/127.0.0.1']]]);
  assert.equal(Date.parse(before.maintenance[0].next), startAt);
  assert.equal(await active(), 0);
  assert.deepEqual(await d.answer('www.example.test'), ['127.0.0.1']);

  await d.waitForAnswer('www.example.test', ['127.0.0.2'], startAt - Date.now() + 2000);
  const drainedAt = Date.now();
  assert.ok(drainedAt >= startAt - 50, `drained ${startAt - drainedAt} ms early`);
  const during = (await d.api('GET', '/v1/status')).body;
  assert.equal(during.maintenance[0].active, true);
  const lateMs = Date.parse(during.maintenance[0].until) - (startAt + 2000);
  assert.ok(lateMs > -50 && lateMs < scaled(500), `until is the fire time + 2 s: off by ${lateMs} ms`);
  assert.deepEqual(during.overrides.map((o: any) => [o.target, o.state, o.source, o.reason]), [['www.example.test/A/127.0.0.1', 'DOWN', 'maintenance:patch', 'maintenance patch: kernel patching']]);
  assert.equal(during.targets[0].real.health, 'UP');
  assert.equal(during.targets[0].effective.health, 'DOWN');
  assert.equal(await active(), 1);
  const started = await d.proc.waitForLog((l) => l.msg === 'maintenance window started');
  assert.deepEqual(started.drained, ['www.example.test/A/127.0.0.1']);

  await d.waitForAnswer('www.example.test', ['127.0.0.1'], 4000);
  const releasedAt = Date.now();
  assert.ok(releasedAt - startAt >= 1900 && releasedAt - startAt < 1500 + scaled(2000), `released after ${releasedAt - startAt} ms`);
  await d.proc.waitForLog((l) => l.msg === 'maintenance window ended: target released' && l.window === 'patch');
  const afterwards = (await d.api('GET', '/v1/status')).body;
  assert.equal(afterwards.maintenance[0].active, false);
  assert.deepEqual(afterwards.overrides, []);
  assert.equal(await active(), 0);
});

test('a window removed by a reload releases its drain; other overrides stay', async () => {
  const { cron, at } = cronAhead(scaled(1500));
  dir.write(withWindow('hotfix', cron, '1h', 'database migration'));
  assert.equal((await d.api('POST', '/v1/reload')).status, 200);
  const pin = await d.api('POST', `/v1/targets/${encodeURIComponent('www.example.test/A/127.0.0.2')}/override`, { body: { state: 'up', reason: 'known good' } });
  assert.equal(pin.status, 200);
  await d.waitForAnswer('www.example.test', ['127.0.0.2'], at - Date.now() + 2000);
  const during = (await d.api('GET', '/v1/status')).body;
  assert.deepEqual(during.overrides.map((o: any) => [o.target, o.state, o.source]).sort(), [
    ['www.example.test/A/127.0.0.1', 'DOWN', 'maintenance:hotfix'],
    ['www.example.test/A/127.0.0.2', 'UP', 'api'],
  ]);

  dir.write(wwwConfig(backends[0]!.port));
  assert.equal((await d.api('POST', '/v1/reload')).status, 200);
  // Released at the reload: answered again before the hour is over.
  await d.waitForAnswer('www.example.test', ['127.0.0.1'], 2000);
  const released = await d.proc.waitForLog((l) => l.msg === 'maintenance window no longer configured for this target: target released');
  assert.deepEqual([released.window, released.target], ['hotfix', 'www.example.test/A/127.0.0.1']);
  const afterwards = (await d.api('GET', '/v1/status')).body;
  assert.deepEqual(afterwards.maintenance, []);
  assert.deepEqual(afterwards.overrides.map((o: any) => [o.target, o.state, o.source]), [['www.example.test/A/127.0.0.2', 'UP', 'api']]);
});

test('a drain of a window that is gone from the config when failoverd starts again is released at start', async () => {
  const dir2 = new TestDir();
  // Every second: it fires soon after the daemon is up, however long the start takes.
  dir2.write(withWindow('retired', '* * * * * *', '1h', 'old window'));
  try {
    const first = await AdminDaemon.start(dir2);
    try {
      await first.waitForAnswer('www.example.test', ['127.0.0.2'], 3000);
      await until('the drain in the state file', () => {
        try {
          return JSON.parse(readFileSync(dir2.stateFile, 'utf8')).overrides['www.example.test/A/127.0.0.1']?.source === 'maintenance:retired';
        } catch {
          return false;
        }
      });
    } finally {
      await first.stop('SIGKILL');
    }
    dir2.write(wwwConfig(backends[0]!.port));
    const second = await AdminDaemon.start(dir2);
    try {
      const released = await second.proc.waitForLog((l) => l.msg === 'maintenance window no longer configured for this target: target released');
      assert.deepEqual([released.window, released.target], ['retired', 'www.example.test/A/127.0.0.1']);
      assert.deepEqual(await second.answer('www.example.test'), ['127.0.0.1']);
      assert.deepEqual((await second.api('GET', '/v1/status')).body.overrides, []);
    } finally {
      await second.stop();
    }
  } finally {
    dir2.remove();
  }
});
