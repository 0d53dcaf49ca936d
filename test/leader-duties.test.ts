/**
 * LeaderDuties on a FakeClock: duties start in order on election and stop
 * in reverse order on loss, each stop awaited (a duty whose stop takes
 * scripted time holds deposed() until it is done); changes run one at a
 * time; assertLeader follows the term; a duty whose start throws is
 * failed (status, gauge), tried again with backoff while leading.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FakeClock } from './helpers/fake-clock.ts';
import { FailoverdError } from '../src/errors.ts';
import { LeaderDuties, type LeaderDuty } from '../src/leader-duties.ts';
import { Metrics } from '../src/admin/metrics.ts';
import { captureLog } from './helpers/log-capture.ts';

/** A duty whose start and stop each take `ms` of the fake clock, recording when they begin and end. */
function timedDuty(name: string, clock: FakeClock, events: string[], ms = { start: 0, stop: 0 }): LeaderDuty & { running: boolean } {
  const wait = (n: number) => (n === 0 ? Promise.resolve() : new Promise<void>((r) => clock.setTimer(n, r)));
  const duty = {
    name,
    running: false,
    async start() {
      events.push(`${name}:start@${clock.now() - T0}`);
      await wait(ms.start);
      duty.running = true;
      events.push(`${name}:started@${clock.now() - T0}`);
    },
    async stop() {
      events.push(`${name}:stop@${clock.now() - T0}`);
      await wait(ms.stop);
      duty.running = false;
      events.push(`${name}:stopped@${clock.now() - T0}`);
    },
  };
  return duty;
}

const T0 = 1_700_000_000_000;

/** Lets pending promise callbacks run (no time passes on the fake clock). */
async function flush(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

/** Advances the fake clock in steps of `step` ms until `p` settles (bounded). */
async function settle<T>(clock: FakeClock, p: Promise<T>, step = 10, maxSteps = 1000): Promise<T> {
  let done = false;
  const out = p.finally(() => {
    done = true;
  });
  for (let i = 0; i < maxSteps && !done; i++) {
    await flush();
    if (!done) clock.advance(step);
  }
  await flush();
  assert.ok(done, 'settled within the bound');
  return out;
}

test('elected starts the duties in order; deposed stops them in reverse and resolves only once each stop is done', async () => {
  const clock = new FakeClock(T0);
  const events: string[] = [];
  const log = captureLog();
  const duties = new LeaderDuties({ logger: log.logger, clock });
  const a = timedDuty('route53', clock, events, { start: 0, stop: 300 });
  const b = timedDuty('notify', clock, events);
  const c = timedDuty('maintenance', clock, events, { start: 0, stop: 100 });
  duties.add(a).add(b).add(c);
  assert.equal(duties.leading, false);
  await settle(clock, duties.elected());
  assert.deepEqual(events, ['route53:start@0', 'route53:started@0', 'notify:start@0', 'notify:started@0', 'maintenance:start@0', 'maintenance:started@0']);
  assert.deepEqual(duties.running(), ['route53', 'notify', 'maintenance']);
  assert.equal(duties.leading, true);

  events.length = 0;
  let stopped = false;
  const deposed = duties.deposed().then(() => (stopped = true));
  assert.equal(duties.leading, false, 'not leading from the moment of the loss');
  for (let i = 0; i < 39; i++) {
    await flush();
    clock.advance(10);
  }
  await flush();
  assert.equal(stopped, false, 'deposed() waits for both stops (100 + 300 ms)');
  assert.equal(a.running, true);
  await settle(clock, deposed);
  assert.deepEqual(events, ['maintenance:stop@0', 'maintenance:stopped@100', 'notify:stop@100', 'notify:stopped@100', 'route53:stop@100', 'route53:stopped@400']);
  assert.deepEqual(duties.running(), []);
  assert.ok(log.lines.some((l) => l.msg === 'leader duties stopped' && (l.ms as number) === 400));
});

test('a loss during a start waits for the start, then stops; a quick loss and re-election ends started, each duty started once more', async () => {
  const clock = new FakeClock(T0);
  const events: string[] = [];
  const duties = new LeaderDuties({ logger: captureLog().logger, clock });
  const a = timedDuty('route53', clock, events, { start: 200, stop: 50 });
  duties.add(a);
  const elected = duties.elected();
  await flush();
  clock.advance(100); // still starting
  const deposed = duties.deposed();
  await settle(clock, Promise.all([elected, deposed]));
  assert.deepEqual(events, ['route53:start@0', 'route53:started@200', 'route53:stop@200', 'route53:stopped@250']);
  assert.equal(a.running, false);

  events.length = 0;
  const calls = [duties.elected(), duties.deposed(), duties.elected()];
  await settle(clock, Promise.all(calls));
  assert.equal(a.running, true);
  assert.deepEqual(duties.running(), ['route53']);
  // Each pass brings the duties to what was asked last: start, (nothing or stop/start), never two starts in a row.
  for (let i = 1; i < events.length; i++) assert.notEqual(events[i]!.split('@')[0], events[i - 1]!.split('@')[0]);
  assert.equal(events.filter((e) => e.startsWith('route53:started')).length - events.filter((e) => e.startsWith('route53:stopped')).length, 1);
});

test('assertLeader: refused while not leading, proven by the proof while leading, refused when the loss comes during the proof', async () => {
  const clock = new FakeClock(T0);
  let proofs = 0;
  let proofDone: (() => void) | undefined;
  const duties = new LeaderDuties({
    logger: captureLog().logger,
    clock,
    proof: () => {
      proofs++;
      return new Promise<void>((r) => (proofDone = r));
    },
  });
  await assert.rejects(duties.assertLeader(), (e: unknown) => e instanceof FailoverdError && e.code === 'CLUSTER_NOT_LEADER');
  assert.equal(proofs, 0, 'no proof asked while not leading');
  await duties.elected();
  const ok = duties.assertLeader();
  await flush();
  proofDone!();
  await ok;
  assert.equal(proofs, 1);
  const late = duties.assertLeader();
  await flush();
  void duties.deposed();
  proofDone!();
  await assert.rejects(late, (e: unknown) => e instanceof FailoverdError && e.code === 'CLUSTER_NOT_LEADER');
});

test('assertLeader and leadsNow: a proof that succeeds does not help once the lead is no longer held (paused past the lease during the proof)', async () => {
  const clock = new FakeClock(T0);
  let holds = true;
  let proofDone: (() => void) | undefined;
  const duties = new LeaderDuties({ logger: captureLog().logger, clock, proof: () => new Promise<void>((r) => (proofDone = r)), holds: () => holds });
  assert.equal(duties.leadsNow(), false, 'not elected');
  await duties.elected();
  assert.equal(duties.leadsNow(), true);
  const proving = duties.assertLeader();
  await flush();
  holds = false;
  proofDone!();
  await assert.rejects(proving, (e: unknown) => e instanceof FailoverdError && e.code === 'CLUSTER_NOT_LEADER');
  assert.equal(duties.leadsNow(), false);
  await duties.close();
});

test('a duty that fails to start is logged and does not keep the others from starting; it is tried again at the next election', async () => {
  const clock = new FakeClock(T0);
  const log = captureLog();
  const duties = new LeaderDuties({ logger: log.logger, clock });
  let attempts = 0;
  const events: string[] = [];
  duties.add({
    name: 'flaky',
    start: () => {
      attempts++;
      if (attempts === 1) throw new Error('cannot start');
    },
    stop: () => undefined,
  });
  const b = timedDuty('notify', clock, events);
  duties.add(b);
  await duties.elected();
  assert.deepEqual(duties.running(), ['notify']);
  assert.ok(log.lines.some((l) => l.msg === 'a leader duty failed to start: trying again' && l.duty === 'flaky' && l.level === 50));
  await duties.deposed();
  await duties.elected();
  assert.equal(attempts, 2);
  assert.deepEqual(duties.running(), ['flaky', 'notify']);
});

test('add() while leading starts the duty; reload() reaches running duties only; after close() an election starts nothing', async () => {
  const clock = new FakeClock(T0);
  const duties = new LeaderDuties({ logger: captureLog().logger, clock });
  const reloads: string[] = [];
  const make = (name: string): LeaderDuty & { running: boolean } => {
    const d = { name, running: false, start: () => void (d.running = true), stop: () => void (d.running = false), reload: () => void reloads.push(name) };
    return d;
  };
  const a = make('a');
  duties.add(a);
  await duties.reload();
  assert.deepEqual(reloads, [], 'no reload of a duty that does not run');
  await duties.elected();
  const b = make('b');
  duties.add(b);
  await duties.reload();
  assert.equal(b.running, true, 'added while leading: started');
  assert.deepEqual(reloads, ['a', 'b']);
  await duties.close();
  assert.equal(a.running || b.running, false);
  await duties.elected();
  assert.equal(a.running || b.running, false, 'closed: an election starts nothing');
  assert.equal(duties.leading, false);
});

test('a duty whose start throws is failed: in status and the running gauge, tried again with backoff while leading (1 s, then 2 s), running once a start succeeds; a loss cancels the retry', async () => {
  const clock = new FakeClock(T0);
  const log = captureLog();
  // random 1: each pause is its ceiling (1 s, 2 s, ...).
  const duties = new LeaderDuties({ logger: log.logger, clock, random: () => 1 });
  let attempts = 0;
  let failUntil = 3;
  duties.add({
    name: 'route53',
    start: () => {
      attempts++;
      if (attempts < failUntil) throw new Error(`the zone cannot be read (attempt ${attempts})`);
    },
    stop: () => undefined,
  });
  duties.add(timedDuty('notify', clock, []));
  const metrics = new Metrics({ decisions: () => [], ready: () => true, snapshot: () => undefined, maintenance: () => [], notifyQueue: () => 0, now: () => clock.now(), leaderDuties: () => duties.view() });
  const gauges = async () => {
    const running = (await metrics.registry.getSingleMetric('failoverd_leader_duty_running')!.get()).values;
    const leading = (await metrics.registry.getSingleMetric('failoverd_leader_duties_leading')!.get()).values;
    const of = (duty: string) => running.find((v) => v.labels.duty === duty)?.value;
    return { route53: of('route53'), notify: of('notify'), leading: leading[0]?.value };
  };
  assert.deepEqual(await gauges(), { route53: 0, notify: 0, leading: 0 }, 'every configured duty exported from the start');

  await duties.elected();
  assert.equal(attempts, 1);
  let [r53] = duties.status();
  assert.equal(r53!.state, 'failed');
  assert.equal(r53!.failedStarts, 1);
  assert.match(r53!.error!.message, /attempt 1/);
  assert.equal(r53!.nextRetryAt, T0 + 1000);
  assert.deepEqual(await gauges(), { route53: 0, notify: 1, leading: 1 });
  assert.equal(duties.isRunning('route53'), false);
  assert.equal(duties.isWanted('route53'), true, 'its sink\'s metrics stay visible on the leader');

  clock.advance(999);
  await flush();
  assert.equal(attempts, 1, 'not before its pause');
  clock.advance(1);
  await flush();
  assert.equal(attempts, 2);
  [r53] = duties.status();
  assert.equal(r53!.failedStarts, 2);
  assert.equal(r53!.nextRetryAt, clock.now() + 2000);
  clock.advance(2000);
  await flush();
  assert.equal(attempts, 3);
  [r53] = duties.status();
  assert.equal(r53!.state, 'running');
  assert.equal(r53!.failedStarts, 0);
  assert.equal(r53!.error, undefined);
  assert.deepEqual(await gauges(), { route53: 1, notify: 1, leading: 1 });
  const failedLines = log.lines.filter((l) => l.msg === 'a leader duty failed to start: trying again');
  assert.deepEqual(failedLines.map((l) => l.level), [50, 40], 'error the first time, warn after');
  assert.ok(log.lines.some((l) => l.msg === 'a leader duty that had failed to start runs now' && l.failedStarts === 2));

  // Failing again in the next term; the lead is lost before its retry: the retry is canceled, nothing starts later.
  await duties.deposed();
  attempts = 0;
  failUntil = Infinity;
  await duties.elected();
  assert.equal(duties.status()[0]!.state, 'failed');
  await duties.deposed();
  assert.deepEqual(duties.status().map((d) => `${d.name}:${d.state}`), ['route53:stopped', 'notify:stopped']);
  assert.equal(duties.status()[0]!.nextRetryAt, undefined);
  clock.advance(120_000);
  await flush();
  assert.equal(attempts, 1, 'no start once deposed');
  assert.deepEqual(await gauges(), { route53: 0, notify: 0, leading: 0 });
});
