/**
 * Route 53 follows the decision, not the raw probes: a drained primary and a
 * primary held back by `failback: manual` are unhealthy for Route 53 exactly
 * as long as the embedded DNS does not answer them. After every step the
 * embedded answer and what Route 53 would answer agree. Against moto_server.
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
import { createZone, needMoto, startMoto, TEST_CREDENTIALS } from './helpers/moto.ts';

const AWS_ENV = { AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey, AWS_EC2_METADATA_DISABLED: 'true', AWS_REGION: 'us-east-1' };
const PRIMARY = 'www.example.test/A/127.0.0.1';

interface Running {
  client: Route53Client;
  zoneId: string;
  backends: Backend[];
  admin: string[];
  resolver: Resolver;
  daemon: DaemonProcess;
}

async function start(t: TestContext, mode: 'records' | 'failover'): Promise<Running | undefined> {
  if (!needMoto(t)) return undefined;
  const moto = await startMoto();
  t.after(() => moto.stop());
  const { id: zoneId, client } = await createZone(moto.endpoint, 'example.test');
  const backends = await httpBackendsOnOnePort(['127.0.0.1', '127.0.0.2']);
  t.after(async () => {
    for (const b of backends) await b.kill();
  });
  const dir = mkdtempSync(join(tmpdir(), 'failoverd-r53d-'));
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
    failback: manual
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
  const daemon = new DaemonProcess(['run', '--config', config], { env: AWS_ENV });
  t.after(() => daemon.stop());
  const serving = await daemon.waitForLog((l) => l.msg === 'serving DNS', 15_000);
  const adminLog = await daemon.waitForLog((l) => l.msg === 'admin API listening', 5000);
  const a = adminLog.listen as { host: string; port: number };
  const resolver = new Resolver({ timeout: 1000, tries: 1 });
  resolver.setServers([`127.0.0.1:${(serving.listen as Array<{ port: number }>)[0]!.port}`]);
  return { client, zoneId, backends, admin: ['--admin', `http://${a.host}:${a.port}`], resolver, daemon };
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const start = performance.now();
  for (let i = 0; i < 10_000 && performance.now() - start < timeoutMs; i++) {
    const v = await fn();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
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
  return (await r.resolver.resolve4('www.example.test').catch(() => [])).sort();
}

/** Waits until the embedded DNS and Route 53 both answer `want` (within `ms`), then checks they agree. */
async function bothAnswer(r: Running, want: string, ms: number): Promise<void> {
  await until(`embedded ${want}`, async () => ((await embeddedAnswer(r)).join() === want ? true : undefined), ms);
  await until(`Route 53 ${want}`, async () => ((await route53Answer(r)).join() === want ? true : undefined), ms);
  assert.deepEqual(await route53Answer(r), await embeddedAnswer(r), 'Route 53 and the embedded DNS agree');
}

async function cli(r: Running, args: string[]): Promise<void> {
  const res = await runCli([...args, ...r.admin]);
  assert.equal(res.code, 0, res.stderr);
}

for (const mode of ['failover', 'records'] as const) {
  test(`${mode} mode: Route 53 follows a drain and a manual-failback hold, agreeing with the embedded DNS after every step`, async (t) => {
    const r = await start(t, mode);
    if (!r) return;
    await bothAnswer(r, '127.0.0.1', 15_000);

    // Drain the primary (its backend stays UP): within 3 s Route 53 no longer sends anyone to it.
    await cli(r, ['drain', PRIMARY, '--reason', 'maintenance']);
    await bothAnswer(r, '127.0.0.2', 3000);
    await cli(r, ['undrain', PRIMARY]);
    // An undrain is an operator's decision: the manual-failback hold applies to real failures only if the machine says so.
    const afterUndrain = await until('an answer after undrain', async () => {
      const e = (await embeddedAnswer(r)).join();
      return e ? e : undefined;
    }, 3000);
    if (afterUndrain !== '127.0.0.1') await cli(r, ['failback', 'www.example.test']);
    await bothAnswer(r, '127.0.0.1', 3000);

    // A real failure, then recovery under failback: manual: both stay on the secondary...
    await r.backends[0]!.kill();
    await bothAnswer(r, '127.0.0.2', 5000);
    await r.backends[0]!.revive();
    await until('the primary really UP again', async () => {
      const st = (await (await fetch(`${r.admin[1]}/v1/status`)).json()) as { targets: Array<{ id: string; real: { health: string } }> };
      return st.targets.find((x) => x.id === PRIMARY)?.real.health === 'UP' ? true : undefined;
    }, 5000);
    assert.deepEqual(await embeddedAnswer(r), ['127.0.0.2'], 'the hold keeps the embedded answer on the secondary');
    assert.deepEqual(await route53Answer(r), ['127.0.0.2'], 'the hold keeps Route 53 on the secondary');
    // ... until `failoverd failback`.
    await cli(r, ['failback', 'www.example.test']);
    await bothAnswer(r, '127.0.0.1', 3000);

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
