/**
 * The Route 53 sink bound to a leader's term, on an in-memory port and a
 * FakeClock (the real Route 53 path, moto_server with a cluster, is in
 * cluster-leader-duties.test.ts): nothing is read before start() with
 * waitForStart; stop() during a read resolves only after the read, and no
 * request follows it (no next page, no health checks, no retry, no
 * change); start() again reads the whole zone afresh and writes.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { FakeClock } from './helpers/fake-clock.ts';
import { route53Schema } from '../src/config/route53.ts';
import { FailoverdError } from '../src/errors.ts';
import type { DesiredRecordSet } from '../src/route53/desired.ts';
import type { Route53Port } from '../src/route53/port.ts';
import { Route53Sink } from '../src/route53/sink.ts';
import { Metrics } from '../src/admin/metrics.ts';
import { captureLog } from './helpers/log-capture.ts';

const ZONE = 'example.test';

function desired(value: string): DesiredRecordSet {
  return { name: `www.${ZONE}`, type: 'A', ttl: 30, values: [value], policy: 'failover', targets: [{ id: 'p', address: '10.0.0.1' }, { id: 's', address: '10.0.0.2' }], primaryHealthy: value === '10.0.0.1' };
}

/** An in-memory zone behind the port; every request is counted; `hold` makes the next listRecordSets wait until released. */
function memoryPort() {
  const calls: string[] = [];
  let held: { release: () => void } | undefined;
  let holdNext = false;
  const records = new Map<string, { name: string; type: string; ttl: number; values: string[] }>();
  const port: Route53Port = {
    async listRecordSets() {
      calls.push('ListResourceRecordSets');
      if (holdNext) {
        holdNext = false;
        await new Promise<void>((r) => (held = { release: r }));
      }
      return { recordSets: [...records.values()].map((r) => ({ ...r, values: [...r.values] })) };
    },
    async changeRecordSets(_zone, changes) {
      calls.push('ChangeResourceRecordSets');
      for (const c of changes) {
        const key = `${c.recordSet.name}/${c.recordSet.type}/${c.recordSet.setIdentifier ?? ''}`;
        if (c.action === 'DELETE') records.delete(key);
        else records.set(key, { name: c.recordSet.name, type: c.recordSet.type, ttl: c.recordSet.ttl ?? 0, values: c.recordSet.values });
      }
      return { id: `c${calls.length}`, status: 'INSYNC' };
    },
    async getChange(id) {
      calls.push('GetChange');
      return { id, status: 'INSYNC' };
    },
    async listHealthChecks() {
      calls.push('ListHealthChecks');
      return { healthChecks: [] };
    },
    async createHealthCheck() {
      throw new Error('not used in records mode');
    },
    async updateHealthCheck() {
      throw new Error('not used in records mode');
    },
    async deleteHealthCheck() {
      throw new Error('not used in records mode');
    },
    async listHealthCheckTags() {
      calls.push('ListTagsForResources');
      return new Map();
    },
    async addHealthCheckTags() {
      throw new Error('not used in records mode');
    },
  };
  return {
    port,
    calls,
    records,
    hold: () => (holdNext = true),
    release: () => held?.release(),
    isHeld: () => held !== undefined,
  };
}

/** failoverd_route53_errors_total{code} as /metrics exports it for `sink` (the daemon's Metrics reading the sink's view). */
async function errorsByCode(sink: Route53Sink, clock: FakeClock): Promise<Record<string, number>> {
  const metrics = new Metrics({ decisions: () => [], ready: () => true, snapshot: () => undefined, maintenance: () => [], notifyQueue: () => 0, now: () => clock.now(), route53: () => sink.metricsView() });
  const values = (await metrics.registry.getSingleMetric('failoverd_route53_errors_total')!.get()).values;
  return Object.fromEntries(values.map((v) => [String(v.labels.code), v.value]));
}

async function flush(): Promise<void> {
  for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
}

/** Waits (bounded) until `cond` holds, letting promise callbacks and immediates run and the fake clock move 10 ms a step (the token bucket spaces requests 1/rate apart). */
async function until(what: string, clock: FakeClock, cond: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) {
    await new Promise((r) => setImmediate(r));
    clock.advance(10);
  }
  assert.ok(cond(), what);
}

/** Every sink made, stopped at the end even when a test fails (its reconcile schedule holds the process open). */
const made: Route53Sink[] = [];
after(() => Promise.all(made.map((s) => s.stop())));

function makeSink(mem: ReturnType<typeof memoryPort>, clock: FakeClock, gate?: () => Promise<void>, holdsLead?: () => boolean) {
  const config = route53Schema.parse({ hostedZoneId: 'Z0123456789ABC', zone: ZONE, ownerId: 'failoverd-test', maxRequestsPerSecond: 100 });
  const sink = new Route53Sink({ config, logger: captureLog().logger, port: mem.port, clock, waitForStart: true, backoff: { minMs: 1000, maxMs: 1000 }, random: () => 0.5, ...(gate ? { gate } : {}), ...(holdsLead ? { holdsLead } : {}) });
  made.push(sink);
  return sink;
}

test('waitForStart: update() before start() sends nothing; start() reads the zone and writes the record', async () => {
  const clock = new FakeClock();
  const mem = memoryPort();
  const sink = makeSink(mem, clock);
  sink.update([desired('10.0.0.1')]);
  await flush();
  clock.advance(60_000);
  await flush();
  assert.deepEqual(mem.calls, [], 'no request before start()');
  sink.start();
  await until('the record written', clock, () => mem.calls.includes('ChangeResourceRecordSets'));
  await sink.idle();
  assert.deepEqual([...mem.records.values()].filter((r) => r.type === 'A').map((r) => r.values), [['10.0.0.1']]);
  await sink.stop();
});

test('stop() during a read: resolves after it, and no request follows; start() again reads the whole zone and writes the latest state', async () => {
  const clock = new FakeClock();
  const mem = memoryPort();
  const sink = makeSink(mem, clock);
  sink.start();
  mem.hold();
  sink.update([desired('10.0.0.1')]);
  await until('a read in flight', clock, () => mem.isHeld());
  assert.deepEqual(mem.calls, ['ListResourceRecordSets']);
  let stopped = false;
  const stopping = sink.stop().then(() => (stopped = true));
  await flush();
  assert.equal(stopped, false, 'stop() waits for the read in flight');
  mem.release();
  await stopping;
  const atStop = mem.calls.length;
  // Updates, the retry backoff, the reconcile schedule: nothing reaches the port.
  sink.update([desired('10.0.0.2')]);
  for (let i = 0; i < 5; i++) {
    clock.advance(60_000);
    await flush();
  }
  await sink.reconcile();
  assert.equal(mem.calls.length, atStop, `no request after stop() resolved: ${mem.calls.slice(atStop).join(', ')}`);
  assert.equal([...mem.records.values()].filter((r) => r.type === 'A').length, 0, 'nothing written by the stopped term');
  assert.equal(sink.status().consecutiveFailures, 0, 'a cut cycle is not a failure');

  // Elected again: a full read, then the latest desired state.
  mem.calls.length = 0;
  sink.start();
  await until('written in the new term', clock, () => mem.calls.includes('ChangeResourceRecordSets'));
  await sink.idle();
  assert.equal(mem.calls[0], 'ListResourceRecordSets', 'the new term reads the zone first');
  assert.ok(mem.calls.includes('ListHealthChecks'), 'a full read: the owned health checks too');
  assert.deepEqual([...mem.records.values()].filter((r) => r.type === 'A').map((r) => r.values), [['10.0.0.2']]);
  await sink.stop();
});

test('the gate is asked before the zone is read: refused, the sink reads nothing and retries with backoff until stopped', async () => {
  const clock = new FakeClock();
  const mem = memoryPort();
  let leading = false;
  let asked = 0;
  let refused = 0;
  const sink = makeSink(mem, clock, async () => {
    asked++;
    if (leading) return;
    refused++;
    throw new FailoverdError('CLUSTER_NOT_LEADER', 'not the leader');
  });
  sink.update([desired('10.0.0.1')]);
  sink.start();
  await until('the gate asked', clock, () => asked >= 1);
  await flush();
  assert.deepEqual(mem.calls, [], 'refused by the gate: not even a read');
  assert.equal(sink.status().lastError?.code, 'CLUSTER_NOT_LEADER');
  assert.deepEqual(await errorsByCode(sink, clock), { CLUSTER_NOT_LEADER: refused }, 'each refusal counted in failoverd_route53_errors_total{code="CLUSTER_NOT_LEADER"}');
  leading = true;
  clock.advance(1000); // the retry
  await until('written once the gate lets it through', clock, () => mem.calls.includes('ChangeResourceRecordSets'));
  await sink.idle();
  assert.deepEqual(await errorsByCode(sink, clock), { CLUSTER_NOT_LEADER: refused }, 'the refusals stay counted; the write that passed is not an error');
  const before = asked;
  await sink.stop();
  clock.advance(120_000);
  await flush();
  assert.equal(asked, before, 'stopped: the gate is not asked either');
});

test('the lead lost after the gate proved it (a process paused past its lease): the planned read and change are not sent, and the cycle fails as not the leader', async () => {
  const clock = new FakeClock();
  const mem = memoryPort();
  let holds = true;
  let gateDone: (() => void) | undefined;
  const sink = makeSink(
    mem,
    clock,
    () => new Promise<void>((r) => (gateDone = r)),
    () => holds,
  );
  sink.update([desired('10.0.0.1')]);
  sink.start();
  await until('the gate asked', clock, () => gateDone !== undefined);
  // The proof's answer comes back only after the lease ran out (SIGSTOP, then SIGCONT).
  holds = false;
  gateDone!();
  await flush();
  assert.deepEqual(mem.calls, [], `nothing sent once the lead is not held: ${mem.calls.join(', ')}`);
  assert.equal(sink.status().lastError?.code, 'CLUSTER_NOT_LEADER');
  assert.equal(sink.status().retries, 0, 'not retried as a Route 53 error');
  assert.deepEqual(await errorsByCode(sink, clock), { CLUSTER_NOT_LEADER: 1 }, 'the deposed leader\'s refusal counted in failoverd_route53_errors_total');

  // A read in flight when the lead is lost: the change it planned is not sent.
  holds = true;
  gateDone = undefined;
  mem.hold();
  const gateAsked = () => gateDone !== undefined;
  clock.advance(1000); // the sink's retry
  await until('the gate asked again', clock, gateAsked);
  gateDone!();
  await until('a read in flight', clock, () => mem.isHeld());
  holds = false;
  mem.release();
  await flush();
  assert.deepEqual(mem.calls, ['ListResourceRecordSets'], `only the read sent before the lead was lost: ${mem.calls.join(', ')}`);
  assert.equal(sink.status().lastError?.code, 'CLUSTER_NOT_LEADER');
  assert.deepEqual(await errorsByCode(sink, clock), { CLUSTER_NOT_LEADER: 2 }, 'the second refusal counted too');
  await sink.stop();
});
