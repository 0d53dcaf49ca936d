/**
 * Maintenance windows: a cron a few seconds ahead drains its target for
 * `duration` (DNS answer, status, metrics, log), then releases it.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { AdminDaemon, metric, parsePrometheus, TestDir, wwwConfig } from './helpers/admin-daemon.ts';
import { httpBackendsOnOnePort, type Backend } from './helpers/backends.ts';

const dir = new TestDir();
let backends: Backend[] = [];
let d: AdminDaemon;
let startAt: number;

before(async () => {
  backends = await httpBackendsOnOnePort(['127.0.0.1', '127.0.0.2']);
  // A 6-field cron (with seconds) for a moment 5 s from now, in UTC.
  const at = new Date(Math.ceil((Date.now() + 5000) / 1000) * 1000);
  startAt = at.getTime();
  const cron = `${at.getUTCSeconds()} ${at.getUTCMinutes()} ${at.getUTCHours()} * * *`;
  dir.write(wwwConfig(backends[0]!.port, { extra: `maintenance:
  - name: patch
    targets: [www.example.test/A/127.0.0.1]
    cron: "${cron}"
    timezone: UTC
    duration: 2s
    reason: kernel patching
` }));
  d = await AdminDaemon.start(dir);
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
  assert.ok(Math.abs(Date.parse(during.maintenance[0].until) - (startAt + 2000)) < 500);
  assert.deepEqual(during.overrides.map((o: any) => [o.target, o.state, o.source, o.reason]), [['www.example.test/A/127.0.0.1', 'DOWN', 'maintenance:patch', 'maintenance patch: kernel patching']]);
  assert.equal(during.targets[0].real.health, 'UP');
  assert.equal(during.targets[0].effective.health, 'DOWN');
  assert.equal(await active(), 1);
  const started = await d.proc.waitForLog((l) => l.msg === 'maintenance window started');
  assert.deepEqual(started.drained, ['www.example.test/A/127.0.0.1']);

  await d.waitForAnswer('www.example.test', ['127.0.0.1'], 4000);
  const releasedAt = Date.now();
  assert.ok(releasedAt - startAt >= 1900 && releasedAt - startAt < 3500, `released after ${releasedAt - startAt} ms`);
  await d.proc.waitForLog((l) => l.msg === 'maintenance window ended: target released' && l.window === 'patch');
  const afterwards = (await d.api('GET', '/v1/status')).body;
  assert.equal(afterwards.maintenance[0].active, false);
  assert.deepEqual(afterwards.overrides, []);
  assert.equal(await active(), 0);
});
