/**
 * Route 53 follows the decision, not the raw probes: a drained primary and a
 * primary held back by `failback: manual` are unhealthy for Route 53 exactly
 * as long as the embedded DNS does not answer them. After every step the
 * embedded answer and what Route 53 would answer agree. Against moto_server.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { GetHealthCheckCommand, ListResourceRecordSetsCommand, type Route53Client } from '@aws-sdk/client-route-53';
import { until, type AdminDaemon } from './helpers/admin-daemon.ts';
import type { Backend } from './helpers/backends.ts';
import { runCli } from './helpers/cli.ts';
import { motoZone } from './helpers/moto.ts';
import { route53Daemon } from './helpers/route53-daemon.ts';

const PRIMARY = 'www.example.test/A/127.0.0.1';

interface Running {
  mode: 'records' | 'failover';
  client: Route53Client;
  zoneId: string;
  backends: Backend[];
  admin: string[];
  daemon: AdminDaemon;
}

async function start(t: TestContext, mode: 'records' | 'failover'): Promise<Running | undefined> {
  const moto = await motoZone(t, 'example.test');
  if (!moto) return undefined;
  const { backends, daemon } = await route53Daemon(t, { endpoint: moto.endpoint, zoneId: moto.zoneId, mode, failback: 'manual' });
  return { mode, client: moto.client, zoneId: moto.zoneId, backends, admin: ['--admin', daemon.adminUrl], daemon };
}

/** What Route 53 answers for www.example.test A now: the records, resolved through the health check in failover mode. */
async function route53Answer(r: Running): Promise<string[]> {
  const res = await r.client.send(new ListResourceRecordSetsCommand({ HostedZoneId: r.zoneId }));
  const sets = (res.ResourceRecordSets ?? []).filter((s) => s.Name === 'www.example.test.' && s.Type === 'A');
  const values = (s: (typeof sets)[number] | undefined) => (s?.ResourceRecords ?? []).map((v) => v.Value!).sort();
  const primary = sets.find((s) => s.Failover === 'PRIMARY');
  if (!primary) return values(sets[0]);
  const hc = (await r.client.send(new GetHealthCheckCommand({ HealthCheckId: primary.HealthCheckId! }))).HealthCheck!.HealthCheckConfig!;
  // failoverd's health checks are always Disabled: Route 53 then takes them as healthy, or unhealthy when Inverted.
  assert.equal(hc.Disabled, true);
  return hc.Inverted ? values(sets.find((s) => s.Failover === 'SECONDARY')) : values(primary);
}

async function embeddedAnswer(r: Running): Promise<string[]> {
  return (await r.daemon.resolver.resolve4('www.example.test').catch(() => [])).sort();
}

type LogLine = Record<string, unknown>;

/** The daemon's line for Route 53 taking `want` as www.example.test's answer: the record's change (records mode), the PRIMARY's health check (failover mode). */
function route53Took(r: Running, want: string): (l: LogLine) => boolean {
  if (r.mode === 'records') return (l) => l.msg === 'route53 change submitted' && l.name === 'www.example.test' && l.type === 'A' && JSON.stringify(l.values) === JSON.stringify([want]);
  return (l) => l.msg === 'route53 health check updated' && l.inverted === (want !== '127.0.0.1');
}

/**
 * After an action begun at log line `mark`: waits for www.example.test's
 * transition to `want` (the embedded answer moves in that turn) and for
 * Route 53 to take it (logged once moto has it), then reads both: they agree.
 */
async function bothMoveTo(r: Running, want: string, mark: number, ms: number): Promise<void> {
  await r.daemon.proc.waitForLog((l) => l.msg === 'transition' && l.recordSet === 'www.example.test/A' && l.to === want, ms, mark);
  await r.daemon.proc.waitForLog(route53Took(r, want), ms, mark);
  assert.deepEqual(await embeddedAnswer(r), [want], 'the embedded answer');
  assert.deepEqual(await route53Answer(r), [want], 'what Route 53 answers');
}

async function cli(r: Running, args: string[]): Promise<void> {
  const res = await runCli([...args, ...r.admin]);
  assert.equal(res.code, 0, res.stderr);
}

for (const mode of ['failover', 'records'] as const) {
  test(`${mode} mode: Route 53 follows a drain and a manual-failback hold, agreeing with the embedded DNS after every step`, async (t) => {
    const r = await start(t, mode);
    if (!r) return;
    // The first apply (logged once moto has it): both answer the primary.
    await r.daemon.proc.waitForLog((l) => l.msg === 'route53 changes submitted', 15_000);
    assert.deepEqual(await embeddedAnswer(r), ['127.0.0.1']);
    assert.deepEqual(await route53Answer(r), ['127.0.0.1']);

    // Drain the primary (its backend stays UP): within 3 s Route 53 no longer sends anyone to it.
    let mark = r.daemon.proc.logs.length;
    await cli(r, ['drain', PRIMARY, '--reason', 'maintenance']);
    await bothMoveTo(r, '127.0.0.2', mark, 3000);
    mark = r.daemon.proc.logs.length;
    await cli(r, ['undrain', PRIMARY]);
    // An undrain is an operator's decision: the manual-failback hold applies to real failures only if the
    // machine says so. The API answered once the decision was made: a query now sees it.
    if ((await embeddedAnswer(r)).join() !== '127.0.0.1') await cli(r, ['failback', 'www.example.test']);
    await bothMoveTo(r, '127.0.0.1', mark, 3000);

    // A real failure, then recovery under failback: manual: both stay on the secondary...
    mark = r.daemon.proc.logs.length;
    await r.backends[0]!.kill();
    await bothMoveTo(r, '127.0.0.2', mark, 5000);
    mark = r.daemon.proc.logs.length;
    await r.backends[0]!.revive();
    // The primary really UP again: the machine decides in the turn of that line, before any later query.
    await r.daemon.proc.waitForLog((l) => l.msg === 'target health changed' && l.target === 'web@127.0.0.1' && l.to === 'UP', 5000, mark);
    assert.deepEqual(await embeddedAnswer(r), ['127.0.0.2'], 'the hold keeps the embedded answer on the secondary');
    assert.deepEqual(await route53Answer(r), ['127.0.0.2'], 'the hold keeps Route 53 on the secondary');
    assert.ok(!r.daemon.proc.logs.slice(mark).some(route53Took(r, '127.0.0.1')), 'no change to the primary sent to Route 53');
    // ... until `failoverd failback`.
    mark = r.daemon.proc.logs.length;
    await cli(r, ['failback', 'www.example.test']);
    await bothMoveTo(r, '127.0.0.1', mark, 3000);

    // The sink is visible: in /v1/status (key route53) and in `failoverd status`.
    const view = await until('Route 53 in sync in /v1/status', async () => {
      const st = (await (await fetch(`${r.admin[1]}/v1/status`)).json()) as { route53: { inSync: boolean } & Record<string, unknown> };
      return st.route53.inSync ? st.route53 : undefined;
    }, 5000);
    assert.equal(view.mode, mode);
    assert.equal(view.pendingChanges, 0);
    assert.equal(view.lastError, null);
    assert.equal(view.healthChecksOwned, mode === 'failover' ? 1 : 0);
    assert.ok(!Number.isNaN(Date.parse(String(view.lastAppliedAt))), `lastAppliedAt ${view.lastAppliedAt}`);
    const metrics = await (await fetch(`${r.admin[1]}/metrics`)).text();
    assert.match(metrics, new RegExp(`^failoverd_route53_in_sync\\{mode="${mode}"\\} 1$`, 'm'));
    assert.match(metrics, new RegExp(`^failoverd_route53_seconds_since_in_sync\\{mode="${mode}"\\} 0$`, 'm'));
    assert.match(metrics, /^failoverd_route53_changes_total\{outcome="applied"\} [1-9]\d*$/m);
    const st = await runCli(['status', ...r.admin]);
    assert.match(st.stdout, new RegExp(`^Route 53 \\(${mode} mode\\): in sync; last applied \\d+s ago; health checks owned ${mode === 'failover' ? 1 : 0}$`, 'm'));
  });
}
