/**
 * The Route 53 sink driven by the daemon, end to end against moto_server:
 * a primary backend is killed, the embedded answer changes, and Route 53
 * follows (records mode: the record's value; failover mode: the health
 * check failoverd drives). Also measures the time from the embedded
 * answer's change to the Route 53 change being submitted.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Resolver } from 'node:dns/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { GetHealthCheckCommand, ListResourceRecordSetsCommand, type Route53Client } from '@aws-sdk/client-route-53';
import { httpBackendsOnOnePort, type Backend } from './helpers/backends.ts';
import { DaemonProcess, runCli } from './helpers/cli.ts';
import { EXAMPLE_ZONE_FILE } from './helpers/dns-fixture.ts';
import { createZone, needMoto, startMoto, TEST_CREDENTIALS, type Moto } from './helpers/moto.ts';

const AWS_ENV = { AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey, AWS_EC2_METADATA_DISABLED: 'true', AWS_REGION: 'us-east-1' };

interface Setup {
  moto: Moto;
  client: Route53Client;
  zoneId: string;
  backends: Backend[];
  dir: string;
  config: string;
}

async function setup(t: TestContext, mode: 'records' | 'failover'): Promise<Setup | undefined> {
  if (!needMoto(t)) return undefined;
  const moto = await startMoto();
  t.after(() => moto.stop());
  const { id: zoneId, client } = await createZone(moto.endpoint, 'example.test');
  const backends = await httpBackendsOnOnePort(['127.0.0.1', '127.0.0.2']);
  t.after(async () => {
    for (const b of backends) await b.kill();
  });
  const dir = mkdtempSync(join(tmpdir(), 'failoverd-r53-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'zones'));
  copyFileSync(EXAMPLE_ZONE_FILE, join(dir, 'zones', 'example.test.zone'));
  const config = join(dir, 'failoverd.yaml');
  writeFileSync(
    config,
    `dns: { listen: ["127.0.0.1:0"] }
admin: { listen: "127.0.0.1:0" }
zones: zones
checks:
  web: { type: http, port: ${backends[0]!.port}, interval: 1s, fastInterval: 100ms, timeout: 500ms, rise: 1, fall: 2 }
records:
  - name: www.example.test
    type: A
    ttl: 30
    targets: [{ address: 127.0.0.1, check: web }, { address: 127.0.0.2, check: web }]
route53:
  hostedZoneId: ${zoneId}
  zone: example.test
  mode: ${mode}
  ownerId: failoverd-test
  endpoint: ${moto.endpoint}
  maxRequestsPerSecond: 20
`,
  );
  return { moto, client, zoneId, backends, dir, config };
}

async function records(s: Setup, name: string) {
  const res = await s.client.send(new ListResourceRecordSetsCommand({ HostedZoneId: s.zoneId }));
  return (res.ResourceRecordSets ?? []).filter((r) => r.Name === `${name}.` && r.Type === 'A');
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const start = Date.now();
  while (Date.now() - start < timeoutMs) {
    const v = await fn();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function startDaemon(t: TestContext, s: Setup): Promise<{ daemon: DaemonProcess; resolver: Resolver }> {
  const daemon = new DaemonProcess(['run', '--config', s.config], { env: AWS_ENV });
  t.after(() => daemon.stop());
  const serving = await daemon.waitForLog((l) => l.msg === 'serving DNS', 15_000);
  const resolver = new Resolver({ timeout: 1000, tries: 1 });
  resolver.setServers([`127.0.0.1:${(serving.listen as Array<{ port: number }>)[0]!.port}`]);
  return { daemon, resolver };
}

test('records mode: plan shows the change, the daemon applies it, and a killed primary moves the Route 53 record', async (t) => {
  const s = await setup(t, 'records');
  if (!s) return;
  const plan = await runCli(['plan', '--config', s.config, '--json'], { env: AWS_ENV });
  assert.equal(plan.code, 0, plan.stderr);
  const planned = JSON.parse(plan.stdout) as { changes: Array<{ action: string; recordSet: { name: string; values: string[] } }> };
  assert.ok(planned.changes.some((c) => c.action === 'CREATE' && c.recordSet.name === 'www.example.test' && c.recordSet.values.includes('127.0.0.1')), plan.stdout);
  assert.equal((await records(s, 'www.example.test')).length, 0, 'plan changed nothing');

  const { daemon, resolver } = await startDaemon(t, s);
  await until('the primary in Route 53', async () => ((await records(s, 'www.example.test'))[0]?.ResourceRecords?.[0]?.Value === '127.0.0.1' ? true : undefined));
  await s.backends[0]!.kill();
  await until('the DNS answer to move', async () => ((await resolver.resolve4('www.example.test').catch(() => []))[0] === '127.0.0.2' ? true : undefined));
  const rr = await until('the secondary in Route 53', async () => {
    const r = (await records(s, 'www.example.test'))[0];
    return r?.ResourceRecords?.[0]?.Value === '127.0.0.2' ? r : undefined;
  });
  assert.equal(rr.TTL, 30);
  const transition = await daemon.waitForLog((l) => l.msg === 'transition' && l.to === '127.0.0.2');
  const submitted = await daemon.waitForLog((l) => l.msg === 'route53 change submitted' && Array.isArray(l.values) && (l.values as string[]).includes('127.0.0.2'));
  const ms = Date.parse(String(submitted.time)) - Date.parse(String(transition.time));
  t.diagnostic(`route53: embedded answer change → Route 53 change submitted: ${ms} ms`);
  assert.ok(ms >= 0 && ms < 1000, `submitted ${ms} ms after the transition`);
});

test('failover mode: PRIMARY/SECONDARY records and a health check that failoverd inverts when the primary dies', async (t) => {
  const s = await setup(t, 'failover');
  if (!s) return;
  const { daemon } = await startDaemon(t, s);
  const both = await until('PRIMARY and SECONDARY', async () => {
    const r = await records(s, 'www.example.test');
    return r.length === 2 ? r : undefined;
  });
  const primary = both.find((r) => r.Failover === 'PRIMARY')!;
  const secondary = both.find((r) => r.Failover === 'SECONDARY')!;
  assert.equal(primary.ResourceRecords?.[0]?.Value, '127.0.0.1');
  assert.equal(secondary.ResourceRecords?.[0]?.Value, '127.0.0.2');
  assert.ok(primary.HealthCheckId, 'the PRIMARY is tied to a health check');
  const hc = async () => (await s.client.send(new GetHealthCheckCommand({ HealthCheckId: primary.HealthCheckId! }))).HealthCheck?.HealthCheckConfig;
  assert.equal((await hc())?.Inverted ?? false, false);
  await s.backends[0]!.kill();
  await until('the health check inverted', async () => ((await hc())?.Inverted ? true : undefined));
  await s.backends[0]!.revive();
  await until('the health check back to healthy', async () => ((await hc())?.Inverted ? undefined : true));
  assert.ok(daemon.logs.some((l) => l.msg === 'route53 health check updated'));
});
