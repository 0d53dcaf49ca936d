/** Pure parts of the Route 53 sink: config schema and preflight, plan mapping, batching, token bucket and retries on a FakeClock. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from './helpers/fake-clock.ts';
import { route53Schema, validateRoute53 } from '../src/config/route53.ts';
import { batchChanges } from '../src/route53/batch.ts';
import { computePlan, type PlanChange } from '../src/route53/plan.ts';
import { TokenBucket } from '../src/route53/rate-limit.ts';
import { withRetry } from '../src/route53/retry.ts';
import { Route53Error } from '../src/route53/errors.ts';
import type { DesiredRecordSet } from '../src/route53/desired.ts';
import type { RecordSetConfig } from '../src/config/types.ts';

test('config: defaults, normalisation and the errors an operator sees', () => {
  const c = route53Schema.parse({ hostedZoneId: '/hostedzone/Z0123456789ABC', zone: 'Example.Test.', ownerId: 'failoverd-prod-1' });
  assert.equal(c.hostedZoneId, 'Z0123456789ABC');
  assert.equal(c.zone, 'example.test');
  assert.equal(c.mode, 'records');
  assert.equal(c.reconcile, '*/1 * * * *');
  assert.equal(c.maxRequestsPerSecond, 4);
  assert.equal(c.region, 'us-east-1');
  assert.equal(c.dryRun, false);
  assert.deepEqual(c.adopt, []);
  assert.deepEqual(c.guard, { maxChangeRatio: 0.3, minOwned: 10 });
  const bad = route53Schema.safeParse({ hostedZoneId: 'Z1', zone: 'example.test', reconcile: 'every minute', endpoint: 'not a url', extra: 1 });
  assert.equal(bad.success, false);
  const paths = bad.error!.issues.map((i) => i.path.join('.') || i.code);
  for (const p of ['ownerId', 'reconcile', 'endpoint']) assert.ok(paths.includes(p), `${p} in ${paths}`);
  assert.ok(bad.error!.issues.some((i) => i.code === 'unrecognized_keys'));
});

function rsc(name: string, type: 'A' | 'AAAA' | 'CNAME', addresses: string[], policy: RecordSetConfig['policy'] = 'failover'): RecordSetConfig {
  return {
    name,
    type,
    zone: 'example.test',
    ttl: 30,
    policy,
    failback: 'auto',
    whenAllDown: 'primary',
    maxAnswers: 8,
    targets: addresses.map((address, i) => ({ id: `${name}/${i}`, address, checkName: 'web', check: {} as RecordSetConfig['targets'][0]['check'], weight: 1, probeKey: `web@${address}` })),
  };
}

test('validateRoute53: served zone, names, values, apex CNAME, failover needs two targets', () => {
  const cfg = route53Schema.parse({ hostedZoneId: 'Z1', zone: 'example.test', ownerId: 'o', mode: 'failover', adopt: ['nope.example.test'] });
  const problems = validateRoute53(
    cfg,
    [rsc('www.example.test', 'A', ['10.0.0.1']), rsc('example.test', 'CNAME', ['a.example.net', 'b.example.net']), rsc('v6.example.test', 'AAAA', ['10.0.0.1', '2001:db8::1'])],
    ['other.test'],
  );
  const msgs = problems.map((p) => `${p.path}: ${p.message}`).join('\n');
  assert.match(msgs, /route53.zone: zone "example.test" is not a served zone/);
  assert.match(msgs, /records\[0\].targets: .*needs at least 2 targets/);
  assert.match(msgs, /records\[1\].type: .*CNAME at the zone apex/);
  assert.match(msgs, /records\[2\].targets\[0\].address: "10.0.0.1" is not a valid AAAA value/);
  assert.match(msgs, /route53.adopt\[0\]/);
  assert.deepEqual(validateRoute53(route53Schema.parse({ hostedZoneId: 'Z1', zone: 'example.test', ownerId: 'o' }), [rsc('www.example.test', 'A', ['10.0.0.1'])], ['example.test']), []);
});

const d = (o: Partial<DesiredRecordSet> = {}): DesiredRecordSet => ({
  name: 'www.example.test',
  type: 'A',
  ttl: 30,
  values: ['10.0.0.3'],
  policy: 'failover',
  targets: ['10.0.0.1', '10.0.0.2', '10.0.0.3'].map((address, i) => ({ id: String(i), address })),
  primaryHealthy: false,
  ...o,
});
const base = { zoneId: 'Z1', zone: 'example.test', ownerId: 'me', current: [], healthChecks: [], scope: 'full' as const };

test('plan mapping: failover mode gives PRIMARY+health check and SECONDARY carrying the current answer', () => {
  const p = computePlan({ ...base, mode: 'failover', desired: [d()] });
  const recs = p.changes.filter((c) => c.recordSet.type === 'A').map((c) => [c.action, c.recordSet.failover, c.recordSet.values.join(), c.recordSet.healthCheckId]);
  assert.deepEqual(recs, [
    ['CREATE', 'PRIMARY', '10.0.0.1', 'new:www.example.test/A'],
    ['CREATE', 'SECONDARY', '10.0.0.3', undefined],
  ]);
  assert.deepEqual(p.healthChecks.map((h) => [h.action, h.disabled, h.inverted]), [['CREATE', true, true]]);
  // weighted / multivalue in records mode: one simple record with every value answered now.
  const w = computePlan({ ...base, mode: 'records', desired: [d({ policy: 'weighted', values: ['10.0.0.1', '10.0.0.2'] })] });
  assert.deepEqual(w.changes[0]!.recordSet.values, ['10.0.0.1', '10.0.0.2']);
  assert.equal(w.changes[0]!.recordSet.setIdentifier, undefined);
  // SERVFAIL in records mode: skipped, nothing changes.
  const s = computePlan({ ...base, mode: 'records', desired: [d({ servfail: true, values: [] })] });
  assert.equal(s.changes.filter((c) => c.recordSet.type === 'A').length, 0);
  assert.equal(s.skipped.length, 1);
});

function change(action: PlanChange['action'], group: string, values: string[]): PlanChange {
  return { group, action, recordSet: { name: group, type: 'TXT', ttl: 1, values }, why: '', counted: false };
}

test('batches: within 1,000 records and 32,000 characters, UPSERT counting twice, groups never split', () => {
  const creates = Array.from({ length: 1200 }, (_, i) => change('CREATE', `g${i}`, ['1.2.3.4']));
  assert.deepEqual(batchChanges(creates).map((b) => b.length), [1000, 200]);
  const upserts = Array.from({ length: 600 }, (_, i) => change('UPSERT', `g${i}`, ['1.2.3.4']));
  assert.deepEqual(batchChanges(upserts).map((b) => b.length), [500, 100]);
  const big = Array.from({ length: 10 }, (_, i) => change('CREATE', `g${i}`, ['x'.repeat(4000)]));
  assert.deepEqual(batchChanges(big).map((b) => b.length), [8, 2]);
  const bigUpserts = Array.from({ length: 10 }, (_, i) => change('UPSERT', `g${i}`, ['x'.repeat(4000)]));
  assert.deepEqual(batchChanges(bigUpserts).map((b) => b.length), [4, 4, 2]);
  const grouped = [change('DELETE', 'a', ['1']), change('CREATE', 'a', ['2']), change('CREATE', 'b', ['3'])];
  const b = batchChanges(grouped, { maxRecords: 2, maxChars: 100 });
  assert.deepEqual(b.map((x) => x.map((c) => c.group).join()), ['a,a', 'b']);
});

test('token bucket: one bucket paces every request at the configured rate (FakeClock)', async () => {
  const clock = new FakeClock();
  const bucket = new TokenBucket(4, clock);
  const t0 = clock.now();
  const got: number[] = [];
  const all = Array.from({ length: 8 }, () => bucket.take().then(() => got.push(clock.now() - t0)));
  for (let i = 0; i < 200 && got.length < 8; i++) {
    await new Promise((r) => setImmediate(r));
    clock.advance(50);
  }
  await Promise.all(all);
  // One at once, then one every 250 ms: never more than 4 within a second (a burst of 4 after a second of refill made 8).
  assert.equal(got[0], 0);
  for (let i = 1; i < 8; i++) assert.ok(got[i]! >= i * 250, `request ${i} at ${got[i]} ms`);
  for (const a of got) assert.ok(got.filter((b) => b >= a && b < a + 1000).length <= 4, `more than 4 within 1 s of ${a} ms: ${got.join(', ')}`);
});

test('retry: backoff grows with jitter on a FakeClock; non-retryable errors fail at once', async () => {
  const clock = new FakeClock();
  const delays: number[] = [];
  let calls = 0;
  const throttled = Object.assign(new Error('Rate exceeded'), { name: 'Throttling', $metadata: { httpStatusCode: 400 }, $fault: 'client' });
  const p = withRetry(
    'op',
    async () => {
      if (++calls < 4) throw throttled;
      return 'ok';
    },
    { clock, baseMs: 100, maxDelayMs: 1000, random: () => 1, onRetry: (i) => delays.push(i.delayMs) },
  );
  for (let i = 0; i < 100 && delays.length < 3; i++) {
    await new Promise((r) => setImmediate(r));
    clock.advance(1000);
  }
  assert.equal(await p, 'ok');
  assert.deepEqual(delays, [100, 200, 400]);
  const invalid = Object.assign(new Error('bad'), { name: 'InvalidInput', $metadata: { httpStatusCode: 400 }, $fault: 'client' });
  let n = 0;
  await assert.rejects(
    withRetry('op', async () => {
      n++;
      throw invalid;
    }, { clock }),
    (e: unknown) => e instanceof Route53Error && e.code === 'ROUTE53_REJECTED' && e.awsCode === 'InvalidInput',
  );
  assert.equal(n, 1);
});
