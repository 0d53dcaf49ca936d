/**
 * The Route 53 sink against moto_server (a real Route 53 API emulator) on
 * loopback: both modes end to end, plan/apply/dry run, ownership refusals,
 * the 30% guard, health check clean-up, restart convergence, and an outage.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { pino } from 'pino';
import {
  ChangeResourceRecordSetsCommand,
  GetHealthCheckCommand,
  ListHealthChecksCommand,
  ListResourceRecordSetsCommand,
  ListTagsForResourceCommand,
  type Route53Client,
} from '@aws-sdk/client-route-53';
import { captureLog, type CapturedLog } from './helpers/log-capture.ts';
import { createZone, needMoto, startMoto, TEST_CREDENTIALS, type Moto } from './helpers/moto.ts';
import { freePort } from './helpers/ports.ts';
import { hasTool } from './helpers/tools.ts';
import { route53Schema, type Route53ConfigInput } from '../src/config/route53.ts';
import type { DesiredRecordSet } from '../src/route53/desired.ts';
import { Route53Sink } from '../src/route53/sink.ts';
import { FailoverdError } from '../src/errors.ts';
import { systemClock } from '../src/clock.ts';

process.env.AWS_EC2_METADATA_DISABLED = 'true';

let moto: Moto | undefined;
let motoError: unknown;
let zoneSeq = 0;

before(async () => {
  if (!hasTool('moto_server')) return;
  try {
    moto = await startMoto();
  } catch (err) {
    motoError = err;
  }
});
after(async () => {
  await moto?.stop();
});

function fo(name: string, type: 'A' | 'AAAA' | 'CNAME', targets: string[], opts: Partial<DesiredRecordSet> = {}): DesiredRecordSet {
  const primaryHealthy = opts.primaryHealthy ?? true;
  return {
    name,
    type,
    ttl: 30,
    values: primaryHealthy ? [targets[0]!] : [targets[1]!],
    policy: 'failover',
    targets: targets.map((address, i) => ({ id: `${name}/${type}/${i}`, address })),
    primaryHealthy,
    ...opts,
  };
}

interface Env {
  zone: string;
  zoneId: string;
  client: Route53Client;
  endpoint: string;
  sink(cfg?: Partial<Route53ConfigInput>, endpoint?: string): Route53Sink & Pick<CapturedLog, 'lines' | 'waitFor'>;
  records(): Promise<{ name: string; type: string; ttl?: number; values: string[]; setIdentifier?: string; failover?: string; healthCheckId?: string }[]>;
}

async function env(t: import('node:test').TestContext): Promise<Env | undefined> {
  if (!needMoto(t)) return undefined;
  if (motoError) throw motoError;
  const m = moto!;
  const zone = `z${++zoneSeq}-${process.pid}.example.test`;
  const { id: zoneId, client } = await createZone(m.endpoint, zone);
  const sinks: Route53Sink[] = [];
  t.after(async () => {
    for (const s of sinks) await s.stop();
    client.destroy();
  });
  return {
    zone,
    zoneId,
    client,
    endpoint: m.endpoint,
    sink(cfg = {}, endpoint = m.endpoint) {
      const { logger, lines, waitFor } = captureLog();
      const config = route53Schema.parse({ hostedZoneId: zoneId, zone, ownerId: 'failoverd-test-1', endpoint, maxRequestsPerSecond: 50, ...cfg });
      const s = new Route53Sink({
        clock: systemClock,
        config,
        logger,
        credentials: TEST_CREDENTIALS,
        retry: { baseMs: 20, maxDelayMs: 100, maxAttempts: 3, maxElapsedMs: 2000 },
        backoff: { minMs: 50, maxMs: 200 },
        insyncPoll: { pollMs: 20, maxPollMs: 50 },
      }) as Route53Sink & Pick<CapturedLog, 'lines' | 'waitFor'>;
      s.lines = lines;
      s.waitFor = waitFor;
      sinks.push(s);
      return s;
    },
    async records() {
      const res = await client.send(new ListResourceRecordSetsCommand({ HostedZoneId: zoneId }));
      return (res.ResourceRecordSets ?? []).map((r) => ({
        name: (r.Name ?? '').replace(/\.$/, ''),
        type: String(r.Type),
        ...(r.TTL !== undefined ? { ttl: r.TTL } : {}),
        values: (r.ResourceRecords ?? []).map((v) => v.Value ?? ''),
        ...(r.SetIdentifier ? { setIdentifier: r.SetIdentifier } : {}),
        ...(r.Failover ? { failover: r.Failover } : {}),
        ...(r.HealthCheckId ? { healthCheckId: r.HealthCheckId } : {}),
      }));
    },
  };
}

const find = (rs: Awaited<ReturnType<Env['records']>>, name: string, type: string) => rs.filter((r) => r.name === name && r.type === type);

test('records mode: the Route 53 record follows the failover answer; NODATA deletes it; markers show ownership', async (t) => {
  const e = await env(t);
  if (!e) return;
  const www = `www.${e.zone}`;
  const sink = e.sink();
  sink.update([fo(www, 'A', ['10.0.0.1', '10.0.0.2'])]);
  await sink.idle();
  let rs = await e.records();
  assert.deepEqual(find(rs, www, 'A').map((r) => r.values), [['10.0.0.1']]);
  assert.deepEqual(find(rs, `_failoverd.${www}`, 'TXT')[0]?.values, ['"heritage=failoverd,owner=failoverd-test-1,type=A"']);
  assert.equal(sink.status().pending, false);

  // The primary dies: failoverd answers the secondary; Route 53 follows.
  sink.update([fo(www, 'A', ['10.0.0.1', '10.0.0.2'], { primaryHealthy: false })]);
  await sink.idle();
  rs = await e.records();
  assert.deepEqual(find(rs, www, 'A').map((r) => r.values), [['10.0.0.2']]);
  const st = sink.status();
  assert.equal(st.pending, false);
  assert.equal(st.lastPlan?.scope, 'partial', 'a transition reads and plans only its own name');
  assert.ok(st.lastSubmitMs !== undefined && st.lastSubmitMs < 1000, `submitted ${st.lastSubmitMs} ms after the update`);
  process.stdout.write(`# route53 records mode: update() → change accepted in ${st.lastSubmitMs} ms\n`);
  const submitted = sink.lines.filter((l) => l.msg === 'route53 change submitted');
  assert.ok(submitted.some((l) => l.name === www && JSON.stringify(l.values) === '["10.0.0.2"]'));

  // All down with whenAllDown none: NODATA → the record is deleted, the name stays ours.
  sink.update([fo(www, 'A', ['10.0.0.1', '10.0.0.2'], { primaryHealthy: false, values: [] })]);
  await sink.idle();
  rs = await e.records();
  assert.equal(find(rs, www, 'A').length, 0);
  assert.equal(find(rs, `_failoverd.${www}`, 'TXT').length, 1);

  // SERVFAIL: nothing changes in Route 53 (last published values stay).
  sink.update([fo(www, 'A', ['10.0.0.1', '10.0.0.2'], { primaryHealthy: true })]);
  await sink.idle();
  sink.update([fo(www, 'A', ['10.0.0.1', '10.0.0.2'], { primaryHealthy: false, values: [], servfail: true })]);
  await sink.idle();
  rs = await e.records();
  assert.deepEqual(find(rs, www, 'A').map((r) => r.values), [['10.0.0.1']]);
  assert.ok(sink.lines.some((l) => l.msg === 'route53 record set left unchanged'));
});

test('failover mode: PRIMARY/SECONDARY records, a tagged health check driven by the verdict, clean-up when the record set leaves', async (t) => {
  const e = await env(t);
  if (!e) return;
  const api = `api.${e.zone}`;
  const sink = e.sink({ mode: 'failover' });
  sink.update([fo(api, 'A', ['10.0.1.1', '10.0.1.2'])]);
  await sink.idle();
  let rs = find(await e.records(), api, 'A');
  const primary = rs.find((r) => r.failover === 'PRIMARY');
  const secondary = rs.find((r) => r.failover === 'SECONDARY');
  assert.ok(primary && secondary, JSON.stringify(rs));
  assert.deepEqual(primary.values, ['10.0.1.1']);
  assert.deepEqual(secondary.values, ['10.0.1.2']);
  assert.ok(primary.setIdentifier && secondary.setIdentifier && primary.setIdentifier !== secondary.setIdentifier);
  assert.ok(primary.healthCheckId, 'PRIMARY is tied to a health check');
  assert.equal(secondary.healthCheckId, undefined);
  const hcId = primary.healthCheckId!;
  let hc = await e.client.send(new GetHealthCheckCommand({ HealthCheckId: hcId }));
  assert.equal(hc.HealthCheck?.HealthCheckConfig?.Type, 'CALCULATED');
  assert.equal(hc.HealthCheck?.HealthCheckConfig?.Disabled, true);
  assert.equal(hc.HealthCheck?.HealthCheckConfig?.Inverted, false);
  const tags = await e.client.send(new ListTagsForResourceCommand({ ResourceType: 'healthcheck', ResourceId: hcId }));
  const tagMap = Object.fromEntries((tags.ResourceTagSet?.Tags ?? []).map((x) => [x.Key, x.Value]));
  assert.equal(tagMap['failoverd:owner'], 'failoverd-test-1');
  assert.equal(tagMap['failoverd:record'], `${api}/A`);

  // The primary dies: the health check is inverted (disabled + inverted = unhealthy).
  sink.update([fo(api, 'A', ['10.0.1.1', '10.0.1.2'], { primaryHealthy: false })]);
  await sink.idle();
  hc = await e.client.send(new GetHealthCheckCommand({ HealthCheckId: hcId }));
  assert.equal(hc.HealthCheck?.HealthCheckConfig?.Inverted, true);
  assert.equal(hc.HealthCheck?.HealthCheckConfig?.Disabled, true);
  process.stdout.write(`# route53 failover mode: update() → health check flipped in ${sink.status().lastSubmitMs} ms\n`);
  // It recovers.
  sink.update([fo(api, 'A', ['10.0.1.1', '10.0.1.2'], { primaryHealthy: true })]);
  await sink.idle();
  hc = await e.client.send(new GetHealthCheckCommand({ HealthCheckId: hcId }));
  assert.equal(hc.HealthCheck?.HealthCheckConfig?.Inverted, false);

  // Restart convergence: a new instance with the same desired state plans nothing.
  const again = e.sink({ mode: 'failover' });
  const plan = await again.plan({ desired: [fo(api, 'A', ['10.0.1.1', '10.0.1.2'])] });
  assert.deepEqual(plan.changes, []);
  assert.deepEqual(plan.healthChecks, []);

  // The record set leaves the config: records, marker and health check go.
  sink.update([fo(`other.${e.zone}`, 'A', ['10.0.2.1', '10.0.2.2'])]);
  await sink.idle();
  rs = await e.records();
  assert.equal(find(rs, api, 'A').length, 0);
  assert.equal(find(rs, `_failoverd.${api}`, 'TXT').length, 0);
  const all = await e.client.send(new ListHealthChecksCommand({}));
  assert.ok(!(all.HealthChecks ?? []).some((h) => h.Id === hcId), 'the unused health check is deleted');
  assert.ok(sink.lines.some((l) => l.msg === 'route53 health check deleted' && l.healthCheckId === hcId));
});

test('plan changes nothing; dry run changes nothing; apply applies; a new instance then plans zero changes', async (t) => {
  const e = await env(t);
  if (!e) return;
  const desired = [fo(`a.${e.zone}`, 'A', ['10.0.3.1', '10.0.3.2']), fo(`b.${e.zone}`, 'AAAA', ['2001:db8::1', '2001:db8::2']), fo(`c.${e.zone}`, 'CNAME', ['one.example.net', 'two.example.net'])];
  const dry = e.sink({ dryRun: true });
  dry.update(desired);
  await dry.idle();
  assert.ok(dry.lines.some((l) => l.msg === 'route53 dry run: plan not applied'));
  const before = await e.records();
  assert.deepEqual(before.map((r) => r.type).sort(), ['NS', 'SOA']);

  const cli = e.sink();
  const plan = await cli.plan({ desired });
  assert.equal(plan.changes.filter((c) => c.action === 'CREATE').length, 6); // 3 records + 3 markers
  JSON.parse(JSON.stringify(plan)); // JSON-printable
  assert.deepEqual(await e.records(), before, 'plan changed nothing');

  const { result } = await cli.applyOnce({ desired });
  assert.equal(result.rejected.length, 0);
  assert.ok(result.submitted.every((s) => s.status === 'INSYNC'));
  const rs = await e.records();
  assert.deepEqual(find(rs, `c.${e.zone}`, 'CNAME')[0]?.values, ['one.example.net']);

  const fresh = e.sink();
  const p2 = await fresh.plan({ desired });
  assert.deepEqual(p2.changes, [], 'restart convergence');
});

test('ownership: records someone else created are refused unless adopted; another owner is never touched', async (t) => {
  const e = await env(t);
  if (!e) return;
  const theirs = `legacy.${e.zone}`;
  const shared = `shared.${e.zone}`;
  await e.client.send(
    new ChangeResourceRecordSetsCommand({
      HostedZoneId: e.zoneId,
      ChangeBatch: {
        Changes: [
          { Action: 'CREATE', ResourceRecordSet: { Name: theirs, Type: 'A', TTL: 300, ResourceRecords: [{ Value: '192.0.2.9' }] } },
          { Action: 'CREATE', ResourceRecordSet: { Name: shared, Type: 'A', TTL: 300, ResourceRecords: [{ Value: '192.0.2.10' }] } },
          { Action: 'CREATE', ResourceRecordSet: { Name: `_failoverd.${shared}`, Type: 'TXT', TTL: 300, ResourceRecords: [{ Value: '"heritage=failoverd,owner=someone-else,type=A"' }] } },
        ],
      },
    }),
  );
  const desired = [fo(theirs, 'A', ['10.0.4.1', '10.0.4.2']), fo(shared, 'A', ['10.0.5.1', '10.0.5.2'])];
  const sink = e.sink();
  sink.update(desired);
  await sink.idle();
  let rs = await e.records();
  assert.deepEqual(find(rs, theirs, 'A')[0]?.values, ['192.0.2.9'], 'unowned record untouched');
  assert.deepEqual(find(rs, shared, 'A')[0]?.values, ['192.0.2.10'], 'other owner untouched');
  const refused = sink.status().refused;
  assert.equal(refused.length, 2);
  assert.match(refused.find((r) => r.name === theirs)!.reason, /without a failoverd ownership marker/);
  assert.match(refused.find((r) => r.name === shared)!.reason, /owner=someone-else/);
  assert.ok(sink.lines.some((l) => l.msg === 'route53 record set refused' && l.name === theirs));

  // adopt: the listed name is taken over (and marked); the other owner's still is not.
  const adopter = e.sink({ adopt: [theirs, shared] });
  await adopter.applyOnce({ desired });
  rs = await e.records();
  assert.deepEqual(find(rs, theirs, 'A')[0]?.values, ['10.0.4.1']);
  assert.deepEqual(find(rs, `_failoverd.${theirs}`, 'TXT')[0]?.values, ['"heritage=failoverd,owner=failoverd-test-1,type=A"']);
  assert.deepEqual(find(rs, shared, 'A')[0]?.values, ['192.0.2.10']);
});

test('guard: a plan changing more than 30% of 10+ owned record sets is refused unless forced; failover transitions are not', async (t) => {
  const e = await env(t);
  if (!e) return;
  const desired = Array.from({ length: 10 }, (_, i) => fo(`h${i}.${e.zone}`, 'A', [`10.1.${i}.1`, `10.1.${i}.2`]));
  const sink = e.sink();
  await sink.applyOnce({ desired });
  // An outage flips every answer: published, since that is what failover is for.
  const allDown = desired.map((d) => ({ ...d, primaryHealthy: false, values: [d.targets[1]!.address] }));
  const p0 = await sink.plan({ desired: allDown });
  assert.equal(p0.guard.blocked, false);
  assert.equal(p0.changes.length, 10);
  // A config mistake drops 4 of 10 record sets: refused.
  const shrunk = desired.slice(0, 6);
  const p1 = await sink.plan({ desired: shrunk });
  assert.equal(p1.guard.owned, 10);
  assert.equal(p1.guard.changing, 4);
  assert.equal(p1.guard.blocked, true);
  await assert.rejects(sink.applyOnce({ desired: shrunk }), (err: unknown) => err instanceof FailoverdError && err.code === 'PLAN_UNSAFE');
  assert.equal(find(await e.records(), `h9.${e.zone}`, 'A').length, 1, 'nothing deleted');
  // The daemon path refuses too, and says so in status.
  const daemon = e.sink();
  daemon.update(shrunk);
  await daemon.idle();
  assert.equal(daemon.status().lastError?.code, 'PLAN_UNSAFE');
  assert.equal(daemon.status().pending, true);
  // --force applies it.
  const { plan } = await sink.applyOnce({ desired: shrunk, force: true });
  assert.equal(plan.guard.forced, true);
  assert.equal(find(await e.records(), `h9.${e.zone}`, 'A').length, 0);
});

test('drift: a record changed behind failoverd is repaired at reconcile and logged', async (t) => {
  const e = await env(t);
  if (!e) return;
  const www = `drift.${e.zone}`;
  const sink = e.sink();
  sink.update([fo(www, 'A', ['10.0.6.1', '10.0.6.2'])]);
  await sink.idle();
  await e.client.send(
    new ChangeResourceRecordSetsCommand({
      HostedZoneId: e.zoneId,
      ChangeBatch: { Changes: [{ Action: 'UPSERT', ResourceRecordSet: { Name: www, Type: 'A', TTL: 30, ResourceRecords: [{ Value: '203.0.113.66' }] } }] },
    }),
  );
  await sink.reconcile();
  await sink.idle();
  assert.deepEqual(find(await e.records(), www, 'A')[0]?.values, ['10.0.6.1']);
  const drift = sink.lines.find((l) => l.msg === 'route53 drift repaired');
  assert.ok(drift, 'drift logged');
  assert.equal(drift.name, www);

  // The node-cron schedule does the same on its own.
  const scheduled = e.sink({ reconcile: '* * * * * *' });
  scheduled.update([fo(www, 'A', ['10.0.6.1', '10.0.6.2'])]);
  await scheduled.idle();
  scheduled.start();
  await e.client.send(
    new ChangeResourceRecordSetsCommand({
      HostedZoneId: e.zoneId,
      ChangeBatch: { Changes: [{ Action: 'UPSERT', ResourceRecordSet: { Name: www, Type: 'A', TTL: 30, ResourceRecords: [{ Value: '203.0.113.67' }] } }] },
    }),
  );
  await scheduled.waitFor('drift repaired on the schedule', (l) => l.msg === 'route53 drift repaired', 5000);
  await scheduled.idle();
  assert.deepEqual(find(await e.records(), www, 'A')[0]?.values, ['10.0.6.1']);
  await scheduled.stop();
});

test('nothing lost: while Route 53 is unreachable the latest desired state stays pending and lands when it is back', async (t) => {
  const e = await env(t);
  if (!e) return;
  // A loopback proxy in front of moto that can cut every connection.
  let down = true;
  let cut = 0;
  const proxy: Server = createServer(async (req, res) => {
    if (down) {
      cut++;
      req.socket.destroy();
      return;
    }
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => !['host', 'connection', 'content-length'].includes(k))) as Record<string, string>;
    const body = chunks.length ? Buffer.concat(chunks) : undefined;
    const up = await fetch(e.endpoint + req.url, { method: req.method, headers, ...(body ? { body } : {}) });
    res.writeHead(up.status, Object.fromEntries(up.headers));
    res.end(Buffer.from(await up.arrayBuffer()));
  });
  const port = await freePort();
  await new Promise<void>((r) => proxy.listen(port, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => proxy.close(() => r())));
  const www = `outage.${e.zone}`;
  const sink = e.sink({}, `http://127.0.0.1:${port}`);
  sink.update([fo(www, 'A', ['10.0.7.1', '10.0.7.2'])]);
  // Transitions keep arriving during the outage; only the latest must land.
  sink.update([fo(www, 'A', ['10.0.7.1', '10.0.7.2'], { primaryHealthy: false })]);
  const deadline = Date.now() + 5000;
  while (sink.status().consecutiveFailures < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const st = sink.status();
  assert.equal(st.pending, true);
  assert.equal(st.lastError?.code, 'ROUTE53_UNAVAILABLE');
  assert.ok(cut > 0);
  sink.update([fo(www, 'A', ['10.0.7.1', '10.0.7.2'], { primaryHealthy: false, values: ['10.0.7.3'], targets: [{ id: '1', address: '10.0.7.1' }, { id: '2', address: '10.0.7.2' }, { id: '3', address: '10.0.7.3' }] })]);
  down = false;
  const deadline2 = Date.now() + 5000;
  while ((sink.status().pending || sink.status().inFlight) && Date.now() < deadline2) await new Promise((r) => setTimeout(r, 20));
  assert.equal(sink.status().pending, false);
  assert.deepEqual(find(await e.records(), www, 'A')[0]?.values, ['10.0.7.3']);
  assert.ok(sink.lines.some((l) => l.msg === 'route53 unreachable or failing; desired state kept pending and retried'));
  const logged = JSON.stringify(sink.lines);
  assert.ok(!/accessKeyId|secretAccessKey|AWS4-HMAC|Credential=/i.test(logged), 'no credentials in logs');
});

test('cli: plan --json prints the plan and changes nothing; apply applies; plan then shows no changes', async (t) => {
  const e = await env(t);
  if (!e) return;
  const { Command } = await import('commander');
  const { registerRoute53Commands } = await import('../src/cli/route53-commands.ts');
  const config = route53Schema.parse({ hostedZoneId: e.zoneId, zone: e.zone, ownerId: 'failoverd-cli', endpoint: e.endpoint, maxRequestsPerSecond: 50, insyncTimeout: '5s' });
  const desired = [fo(`cli.${e.zone}`, 'A', ['10.0.8.1', '10.0.8.2'])];
  let output = '';
  const run = async (...args: string[]) => {
    output = '';
    const program = new Command().exitOverride();
    registerRoute53Commands(program, async () => ({ route53: config, desired }), { out: (s) => (output += s), credentials: TEST_CREDENTIALS, logger: pino({ level: 'silent' }) });
    await program.parseAsync(['node', 'failoverd', ...args]);
  };
  const before = await e.records();
  await run('plan', '--config', 'failoverd.yaml', '--json');
  const plan = JSON.parse(output);
  assert.equal(plan.changes.length, 2);
  assert.deepEqual(await e.records(), before);
  await run('apply', '--config', 'failoverd.yaml');
  assert.match(output, /submitted .*INSYNC/);
  assert.deepEqual(find(await e.records(), `cli.${e.zone}`, 'A')[0]?.values, ['10.0.8.1']);
  await run('plan', '--config', 'failoverd.yaml');
  assert.match(output, /no changes/);
  assert.equal(process.exitCode ?? 0, 0);
});
