/**
 * Property tests (fast-check) for the failover stage: random record sets
 * (1-4 targets, every failback mode and whenAllDown answer, rise/fall 1-4
 * per target) and random timelines of probe results, operator overrides
 * (drains and pins, some expiring), failback commands and time passing, on
 * a FakeClock. The timeline drives the same parts the controller wires
 * together: a HealthTracker per target, the OverrideStore (expiry through
 * the clock), effective health, and a FailoverMachine re-evaluated on every
 * health or override change, command and wake-up (failback after D).
 *
 * After every evaluation:
 * - policy failover never answers an effectively DOWN target while an UP
 *   one exists, and answers per whenAllDown exactly when all are DOWN;
 * - the answer never changes without a transition, and the transitions
 *   replayed from the first answer give every later answer;
 * - a target's health moves only as rise/fall allow (UP only after `rise`
 *   successes in a row, DOWN only after `fall` failures in a row, and then
 *   at once);
 * - `failback: manual` never moves away from a usable active target
 *   without a command; `auto` never stays behind an UP better target;
 *   `after D` moves to a better target only once it has been UP for D;
 * - all of it across restarts (a new machine resumed from the persisted
 *   state, as the controller resumes from the state file);
 * - multivalue and weighted answer exactly the usable targets (capped by
 *   maxAnswers, weight > 0 first).
 *
 * FAILOVERD_PROP_RUNS sets the number of runs (default 1,000);
 * FAILOVERD_PROP_SEED repeats a run (fast-check prints the seed and the
 * shrunk counterexample on failure).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { FakeClock } from './helpers/fake-clock.ts';
import type { CheckConfig, Failback, Health, Policy, RecordSetConfig, WhenAllDown } from '../src/config/types.ts';
import { selectionEqual } from '../src/failover/answers.ts';
import { describeAnswer } from '../src/failover/describe.ts';
import { FailoverMachine } from '../src/failover/failover-machine.ts';
import type { Answer, StepResult, TargetView, Transition } from '../src/failover/types.ts';
import { effectiveHealth } from '../src/health/effective.ts';
import { HealthTracker } from '../src/health/hysteresis.ts';
import { OverrideStore } from '../src/health/overrides.ts';

const RUNS = Number(process.env.FAILOVERD_PROP_RUNS ?? 1000);
const SEED = process.env.FAILOVERD_PROP_SEED === undefined ? undefined : Number(process.env.FAILOVERD_PROP_SEED);
const T0 = 1_700_000_000_000;

interface Scenario {
  n: number;
  policy: Policy;
  weights: number[];
  maxAnswers: number;
  failback: Failback;
  whenAllDown: WhenAllDown;
  thresholds: Array<{ rise: number; fall: number }>;
  events: Event[];
}

type Event =
  /** `count` results in a row, `dt` apart. */
  | { kind: 'probe'; target: number; ok: boolean; count: number; dt: number }
  | { kind: 'override'; target: number; state: 'UP' | 'DOWN'; expiresIn?: number }
  | { kind: 'clear'; target: number }
  | { kind: 'failback' }
  | { kind: 'wait'; dt: number }
  /** A restart: a new machine resumed from the persisted state; health and overrides persist too. */
  | { kind: 'restart' };

const scenarioArb: fc.Arbitrary<Scenario> = fc.integer({ min: 1, max: 4 }).chain((n) =>
  fc.record({
    n: fc.constant(n),
    policy: fc.constant<Policy>('failover'),
    weights: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: n, maxLength: n }),
    maxAnswers: fc.integer({ min: 1, max: 4 }),
    failback: fc.oneof(fc.constant<Failback>('auto'), fc.constant<Failback>('manual'), fc.integer({ min: 1, max: 30_000 }).map((after): Failback => ({ after }))),
    whenAllDown: fc.constantFrom<WhenAllDown>('primary', 'all', 'none', 'servfail'),
    thresholds: fc.array(fc.record({ rise: fc.integer({ min: 1, max: 4 }), fall: fc.integer({ min: 1, max: 4 }) }), { minLength: n, maxLength: n }),
    events: fc.array(
      fc.oneof(
        { weight: 12, arbitrary: fc.record({ kind: fc.constant('probe' as const), target: fc.nat(n - 1), ok: fc.boolean(), count: fc.integer({ min: 1, max: 5 }), dt: fc.integer({ min: 0, max: 5_000 }) }) },
        { weight: 2, arbitrary: fc.record({ kind: fc.constant('override' as const), target: fc.nat(n - 1), state: fc.constantFrom('UP' as const, 'DOWN' as const), expiresIn: fc.option(fc.integer({ min: 1, max: 60_000 }), { nil: undefined }) }) },
        { weight: 1, arbitrary: fc.record({ kind: fc.constant('clear' as const), target: fc.nat(n - 1) }) },
        { weight: 2, arbitrary: fc.constant({ kind: 'failback' as const }) },
        { weight: 2, arbitrary: fc.record({ kind: fc.constant('wait' as const), dt: fc.integer({ min: 1, max: 40_000 }) }) },
        { weight: 1, arbitrary: fc.constant({ kind: 'restart' as const }) },
      ),
      { minLength: 5, maxLength: 60, size: 'max' },
    ),
  }),
);

function recordSet(s: Scenario): RecordSetConfig {
  const targets = s.thresholds.map(({ rise, fall }, i) => {
    const address = `127.0.0.${i + 1}`;
    const check: CheckConfig = { type: 'http', port: 80, path: '/', headers: {}, expect: { status: ['200-399'] }, tlsVerify: true, interval: 1000, fastInterval: 100, timeout: 500, rise, fall, watch: false };
    return { id: `www.example.test/A/${address}`, address, checkName: `c${i}`, check, weight: s.weights[i]!, probeKey: `c${i}@${address}` };
  });
  return { name: 'www.example.test', type: 'A', zone: 'example.test', ttl: 30, policy: s.policy, failback: s.failback, whenAllDown: s.whenAllDown, maxAnswers: s.maxAnswers, targets };
}

/** One evaluation as the checks see it. */
interface Evaluation {
  at: number;
  command: boolean;
  /** The views the machine was given. */
  views: Map<string, TargetView>;
  before: StepResult['state'] | undefined;
  result: StepResult;
}

/**
 * The world of one scenario: trackers, overrides and the machine, wired as
 * the controller wires them (effective `since`: the override's creation or
 * the tracker's since when first seen, then the moment the effective health
 * changed).
 */
class World {
  readonly clock = new FakeClock(T0);
  readonly cfg: RecordSetConfig;
  readonly trackers: HealthTracker[];
  machine: FailoverMachine;
  readonly overrides: OverrideStore;
  readonly evaluations: Evaluation[] = [];
  readonly transitions: Transition[] = [];
  /** Every probe result per target, in order (for the rise/fall check). */
  readonly results: boolean[][];
  private readonly effectiveSince = new Map<string, { health: Health; since: number }>();
  private wake: { cancel(): void } | undefined;

  constructor(readonly s: Scenario) {
    this.cfg = recordSet(s);
    this.trackers = s.thresholds.map((t) => new HealthTracker(t, 'UNKNOWN', T0));
    this.results = s.thresholds.map(() => []);
    this.machine = new FailoverMachine(this.cfg);
    this.overrides = new OverrideStore(this.clock, () => this.evaluate(false));
  }

  run(): void {
    this.evaluate(false);
    for (const e of this.s.events) {
      switch (e.kind) {
        case 'probe':
          for (let i = 0; i < e.count; i++) {
            this.clock.advance(e.dt);
            this.results[e.target]!.push(e.ok);
            const obs = this.trackers[e.target]!.observe({ ok: e.ok, at: this.clock.now(), latencyMs: 1, reason: e.ok ? 'ok' : 'refused' });
            checkHysteresis(this.s.thresholds[e.target]!, this.results[e.target]!, obs.from, obs.health);
            if (obs.changed) this.evaluate(false);
          }
          break;
        case 'override': {
          const now = this.clock.now();
          const id = this.cfg.targets[e.target]!.id;
          this.overrides.set(id, { state: e.state, reason: 'property test', source: 'api', createdAt: now, ...(e.expiresIn !== undefined ? { expiresAt: now + e.expiresIn } : {}) });
          break;
        }
        case 'clear':
          this.overrides.clear(this.cfg.targets[e.target]!.id);
          break;
        case 'failback':
          this.evaluate(true);
          break;
        case 'wait':
          this.clock.advance(e.dt);
          break;
        case 'restart':
          // As the controller restarts: the persisted record set state, health and overrides; effective `since` recomputed.
          this.wake?.cancel();
          this.machine = new FailoverMachine(this.cfg, this.machine.state);
          this.effectiveSince.clear();
          this.evaluate(false);
          break;
      }
    }
  }

  effective(i: number): Health {
    const t = this.cfg.targets[i]!;
    return effectiveHealth(this.trackers[i]!.health, this.overrides.get(t.id), this.clock.now()).health;
  }

  private evaluate(command: boolean): void {
    const now = this.clock.now();
    const views = new Map<string, TargetView>();
    this.cfg.targets.forEach((t, i) => {
      const tracker = this.trackers[i]!;
      const override = this.overrides.get(t.id);
      const eff = effectiveHealth(tracker.health, override, now);
      const known = this.effectiveSince.get(t.id);
      const since = !known ? (eff.overridden ? override!.createdAt : tracker.since) : known.health !== eff.health ? now : known.since;
      this.effectiveSince.set(t.id, { health: eff.health, since });
      views.set(t.id, { id: t.id, health: eff.health, since });
    });
    // The state before, as persisted: after a restart it is the last one of the old machine.
    const before = this.evaluations[this.evaluations.length - 1]?.result.state;
    const result = this.machine.evaluate(views, now, command ? { kind: 'failback' } : undefined);
    if (result.transition) this.transitions.push(result.transition);
    const evaluation = { at: now, command, views, before, result };
    this.evaluations.push(evaluation);
    checkEvaluation(this, evaluation);
    this.wake?.cancel();
    this.wake = result.wakeAt === undefined ? undefined : this.clock.setTimer(result.wakeAt - now, () => this.evaluate(false));
  }
}

/** Rise/fall: UP only after `rise` successes in a row, DOWN only after `fall` failures in a row, and then at once. */
function checkHysteresis(t: { rise: number; fall: number }, results: boolean[], from: Health, to: Health): void {
  const last = (k: number, ok: boolean) => results.length >= k && results.slice(-k).every((r) => r === ok);
  if (to === 'UP' && from !== 'UP') assert.ok(last(t.rise, true), `became UP after ${JSON.stringify(results)} with rise ${t.rise}`);
  if (to === 'DOWN' && from !== 'DOWN') assert.ok(last(t.fall, false), `became DOWN after ${JSON.stringify(results)} with fall ${t.fall}`);
  if (last(t.rise, true)) assert.equal(to, 'UP', `not UP after ${JSON.stringify(results)} with rise ${t.rise}`);
  if (last(t.fall, false)) assert.equal(to, 'DOWN', `not DOWN after ${JSON.stringify(results)} with fall ${t.fall}`);
  if (to !== from) assert.notEqual(results.length, 0);
}

function answeredIds(a: Answer): string[] {
  return a.kind === 'targets' ? a.targetIds : [];
}

function checkEvaluation(w: World, e: Evaluation): void {
  const { cfg } = w;
  const state = e.result.state;
  const health = (id: string) => e.views.get(id)!.health;
  const anyUp = cfg.targets.some((t) => health(t.id) === 'UP');
  const allDown = cfg.targets.every((t) => health(t.id) === 'DOWN');
  const ctx = `at +${e.at - T0} ms; views ${JSON.stringify([...e.views.values()].map((v) => [v.health, v.since - T0]))}; before ${JSON.stringify(e.before)}; after ${JSON.stringify(state)}`;

  // The views are the world's effective health.
  cfg.targets.forEach((t, i) => assert.equal(health(t.id), w.effective(i), `view of target ${i}: ${ctx}`));

  // Never an effectively DOWN target while an UP one exists; the all-down answer exactly when all are DOWN.
  if (anyUp) for (const id of answeredIds(state.answer)) assert.notEqual(health(id), 'DOWN', `answers DOWN ${id} while a target is UP: ${ctx}`);
  assert.equal(state.allDown, allDown, `allDown flag: ${ctx}`);
  if (!allDown && cfg.policy !== 'failover') {
    // multivalue: every usable target in order, capped; weighted: the usable ones of weight > 0 (else all usable), uncapped.
    const usable = cfg.targets.filter((t) => health(t.id) !== 'DOWN');
    const positive = usable.filter((t) => t.weight > 0);
    const want = cfg.policy === 'multivalue' ? usable.slice(0, cfg.maxAnswers) : positive.length > 0 ? positive : usable;
    assert.deepEqual(answeredIds(state.answer), want.map((t) => t.id), `${cfg.policy} pool: ${ctx}`);
    assert.equal(state.answer.kind === 'targets' && state.answer.weighted, cfg.policy === 'weighted', ctx);
  } else if (!allDown) {
    assert.equal(state.answer.kind, 'targets', ctx);
    assert.equal(answeredIds(state.answer).length, 1, `failover answers one target: ${ctx}`);
    assert.notEqual(health(state.activeId!), 'DOWN', `active target DOWN while another is usable: ${ctx}`);
  } else {
    const want = { primary: 'targets', all: 'targets', none: 'nodata', servfail: 'servfail' }[cfg.whenAllDown];
    assert.equal(state.answer.kind, want, `whenAllDown ${cfg.whenAllDown}: ${ctx}`);
  }

  // No change without a transition (the first evaluation has none), and each transition tells from and to.
  if (e.before) {
    const same = selectionEqual(e.before.answer, state.answer);
    assert.equal(e.result.transition === undefined, same, `transition iff the selection changed: ${ctx}`);
    if (e.result.transition) {
      assert.equal(e.result.transition.from, describeAnswer(cfg, e.before.answer), ctx);
      assert.equal(e.result.transition.to, describeAnswer(cfg, state.answer), ctx);
      assert.equal(e.result.transition.at, e.at, ctx);
    }
  } else assert.equal(e.result.transition, undefined, ctx);

  if (cfg.policy !== 'failover' || !e.before || e.before.allDown || allDown || e.before.activeId === undefined) return;
  const prevActive = cfg.targets.findIndex((t) => t.id === e.before!.activeId);
  const nowActive = cfg.targets.findIndex((t) => t.id === state.activeId);
  const prevUsable = health(e.before.activeId) !== 'DOWN';
  const firstUp = cfg.targets.findIndex((t) => health(t.id) === 'UP');
  const fb = cfg.failback;

  // A move away from a usable active target is a failback: to a better target that is UP.
  if (prevUsable && nowActive !== prevActive) {
    assert.ok(nowActive < prevActive && health(state.activeId!) === 'UP', `moved from a usable target to a target that is not a better UP one: ${ctx}`);
    if (!e.command) {
      assert.notEqual(fb, 'manual', `failback manual moved without a command: ${ctx}`);
      if (typeof fb === 'object') {
        const since = e.views.get(state.activeId!)!.since;
        assert.ok(since + fb.after <= e.at, `failback after ${fb.after} ms moved to a target UP only since +${since - T0}: ${ctx}`);
      }
    } else assert.equal(nowActive, firstUp, `a failback command goes to the first UP target: ${ctx}`);
  }
  // A failback command moves to the first UP target when it is better than the active one.
  if (e.command && prevUsable && firstUp >= 0 && firstUp < prevActive) assert.equal(nowActive, firstUp, `failback command did not move: ${ctx}`);
  // manual: the hold stays, and says so.
  if (fb === 'manual' && !e.command && prevUsable) {
    assert.equal(nowActive, prevActive, `manual hold moved: ${ctx}`);
    if (firstUp >= 0 && firstUp < prevActive) assert.ok(state.pending, `manual hold without a pending note: ${ctx}`);
  }
  // auto: never behind an UP better target.
  if (fb === 'auto' && firstUp >= 0) assert.ok(nowActive <= firstUp, `auto failback stayed behind UP target ${firstUp}: ${ctx}`);
  // after D: behind a better target only while none of those UP has been UP for D, and then a wake-up is set.
  if (typeof fb === 'object') {
    const due = cfg.targets.slice(0, nowActive).filter((t) => health(t.id) === 'UP' && e.views.get(t.id)!.since + fb.after <= e.at);
    assert.equal(due.length, 0, `failback after ${fb.after} ms: ${due.map((t) => t.id).join(', ')} due but not taken: ${ctx}`);
    const waiting = cfg.targets.slice(0, nowActive).filter((t) => health(t.id) === 'UP');
    if (waiting.length > 0) assert.equal(e.result.wakeAt, Math.min(...waiting.map((t) => e.views.get(t.id)!.since + fb.after)), `wake-up for the earliest due: ${ctx}`);
  }
}

test('failover machine: random health timelines and overrides keep every invariant', () => {
  fc.assert(
    fc.property(scenarioArb, (s) => {
      const w = new World(s);
      w.run();
      // Replaying the transitions from the first answer gives every later answer.
      let current = describeAnswer(w.cfg, w.evaluations[0]!.result.state.answer);
      let next = 0;
      for (const e of w.evaluations.slice(1)) {
        if (e.result.transition) {
          assert.equal(e.result.transition, w.transitions[next++]);
          assert.equal(e.result.transition.from, current);
          current = e.result.transition.to;
        }
        assert.equal(describeAnswer(w.cfg, e.result.state.answer), current, 'an answer changed without a transition');
      }
      assert.equal(next, w.transitions.length);
    }),
    { numRuns: RUNS, ...(SEED !== undefined ? { seed: SEED } : {}) },
  );
});

test('multivalue and weighted: the pool is exactly the usable targets, never a DOWN one while any is usable', () => {
  const pools = scenarioArb.chain((s) => fc.constantFrom<Policy>('multivalue', 'weighted').map((policy) => ({ ...s, policy })));
  fc.assert(
    fc.property(pools, (s) => {
      const w = new World(s);
      w.run();
      assert.ok(w.evaluations.length > 0);
    }),
    { numRuns: RUNS, ...(SEED !== undefined ? { seed: SEED } : {}) },
  );
});

test('failback manual: a hold never moves without a command, however long and however health flaps, across restarts', () => {
  const manual = scenarioArb.map((s) => ({ ...s, failback: 'manual' as const }));
  fc.assert(
    fc.property(manual, (s) => {
      const w = new World(s);
      w.run();
      for (const e of w.evaluations) {
        const before = e.before;
        if (!before || before.allDown || e.command || before.activeId === undefined) continue;
        // Only a DOWN active target (or all DOWN) may move the answer without a command.
        if (e.result.state.activeId !== before.activeId) assert.ok(e.views.get(before.activeId)!.health === 'DOWN' || e.result.state.allDown, `hold moved at +${e.at - T0}`);
      }
    }),
    { numRuns: RUNS, ...(SEED !== undefined ? { seed: SEED } : {}) },
  );
});
