/**
 * The Route 53 sink driven by the daemon, end to end against moto_server:
 * a primary backend is killed, the embedded answer changes, and Route 53
 * follows (records mode: the record's value; failover mode: the health
 * check failoverd drives). Also measures the time from the embedded
 * answer's change to the Route 53 change being submitted.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GetHealthCheckCommand, ListResourceRecordSetsCommand, type Route53Client } from '@aws-sdk/client-route-53';
import { runCli } from './helpers/cli.ts';
import { AWS_ENV, motoZone } from './helpers/moto.ts';
import { route53Daemon, route53Setup } from './helpers/route53-daemon.ts';

async function records(moto: { client: Route53Client; zoneId: string }, name: string) {
  const res = await moto.client.send(new ListResourceRecordSetsCommand({ HostedZoneId: moto.zoneId }));
  return (res.ResourceRecordSets ?? []).filter((r) => r.Name === `${name}.` && r.Type === 'A');
}

const values = (rs: Awaited<ReturnType<typeof records>>) => rs.flatMap((r) => (r.ResourceRecords ?? []).map((v) => v.Value));

/** The daemon's log line for a record change Route 53 has taken, with `value` among its values. */
const submitted = (value: string) => (l: Record<string, unknown>) => l.msg === 'route53 change submitted' && Array.isArray(l.values) && (l.values as string[]).includes(value);

test('records mode: plan shows the change, the daemon applies it, and a killed primary moves the Route 53 record', async (t) => {
  const moto = await motoZone(t, 'example.test');
  if (!moto) return;
  const s = await route53Setup(t, { endpoint: moto.endpoint, zoneId: moto.zoneId, mode: 'records' });
  const plan = await runCli(['plan', '--config', s.dir.config, '--json'], { env: AWS_ENV });
  assert.equal(plan.code, 0, plan.stderr);
  const planned = JSON.parse(plan.stdout) as { changes: Array<{ action: string; recordSet: { name: string; values: string[] } }> };
  assert.ok(planned.changes.some((c) => c.action === 'CREATE' && c.recordSet.name === 'www.example.test' && c.recordSet.values.includes('127.0.0.1')), plan.stdout);
  assert.equal((await records(moto, 'www.example.test')).length, 0, 'plan changed nothing');

  const daemon = await s.start();
  // Each change is logged once Route 53 (moto) has taken it: wait on the line, then read Route 53.
  await daemon.proc.waitForLog(submitted('127.0.0.1'), 10_000);
  assert.deepEqual(values(await records(moto, 'www.example.test')), ['127.0.0.1']);
  await s.backends[0]!.kill();
  const transition = await daemon.proc.waitForLog((l) => l.msg === 'transition' && l.to === '127.0.0.2', 10_000);
  assert.deepEqual(await daemon.answer('www.example.test'), ['127.0.0.2'], 'the embedded answer moved with the transition');
  const change = await daemon.proc.waitForLog(submitted('127.0.0.2'), 10_000);
  const rr = await records(moto, 'www.example.test');
  assert.deepEqual(values(rr), ['127.0.0.2']);
  assert.equal(rr[0]!.TTL, 30);
  const ms = Date.parse(String(change.time)) - Date.parse(String(transition.time));
  t.diagnostic(`route53: embedded answer change → Route 53 change submitted: ${ms} ms`);
  assert.ok(ms >= 0 && ms < 1000, `submitted ${ms} ms after the transition`);
});

test('failover mode: PRIMARY/SECONDARY records and a health check that failoverd inverts when the primary dies', async (t) => {
  const moto = await motoZone(t, 'example.test');
  if (!moto) return;
  const { backends, daemon } = await route53Daemon(t, { endpoint: moto.endpoint, zoneId: moto.zoneId, mode: 'failover' });
  await daemon.proc.waitForLog((l) => l.msg === 'route53 changes submitted', 10_000);
  const both = await records(moto, 'www.example.test');
  assert.equal(both.length, 2, JSON.stringify(both));
  const primary = both.find((r) => r.Failover === 'PRIMARY')!;
  const secondary = both.find((r) => r.Failover === 'SECONDARY')!;
  assert.equal(primary.ResourceRecords?.[0]?.Value, '127.0.0.1');
  assert.equal(secondary.ResourceRecords?.[0]?.Value, '127.0.0.2');
  assert.ok(primary.HealthCheckId, 'the PRIMARY is tied to a health check');
  const hc = async () => (await moto.client.send(new GetHealthCheckCommand({ HealthCheckId: primary.HealthCheckId! }))).HealthCheck?.HealthCheckConfig;
  assert.equal((await hc())?.Inverted ?? false, false);
  const updated = (inverted: boolean) => (l: Record<string, unknown>) => l.msg === 'route53 health check updated' && l.healthCheckId === primary.HealthCheckId && l.inverted === inverted;
  await backends[0]!.kill();
  await daemon.proc.waitForLog(updated(true), 10_000);
  assert.equal((await hc())?.Inverted, true, 'inverted in Route 53');
  await backends[0]!.revive();
  await daemon.proc.waitForLog(updated(false), 10_000);
  assert.equal((await hc())?.Inverted ?? false, false, 'healthy again in Route 53');
});
