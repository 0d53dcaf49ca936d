/**
 * The Decider: one FailoverMachine per record set, run whenever a target's
 * health may have changed or a machine asked to be woken (failback after D),
 * and the decisions that come out of them. It reads health only through a
 * HealthSource: this instance's probes and overrides (TargetHealth) for one
 * process, or the cluster's combined view on the cluster's leader.
 */
import type { Clock, TimerHandle } from '../clock.ts';
import type { Config, RecordSetConfig, Target } from '../config/types.ts';
import type { TargetHealthView } from '../health/target-health.ts';
import type { Logger } from '../log.ts';
import { decide, type RecordSetDecision } from './decision.ts';
import { recordSetKey } from './describe.ts';
import { FailoverMachine } from './failover-machine.ts';
import type { RecordSetState, TargetView, Transition } from './types.ts';

/** Where a Decider reads each target's effective health. */
export interface HealthSource {
  view(t: Target): TargetHealthView;
}

/** One record set and what it answers now. */
export interface RecordSetAnswer {
  config: RecordSetConfig;
  state: RecordSetState;
}

export type FailbackOutcome =
  | { kind: 'moved'; transition: Transition }
  | { kind: 'unchanged'; reason: string }
  | { kind: 'refused'; reason: string };

/** How many transitions are kept for the API. */
export const TRANSITIONS_KEPT = 500;

/**
 * Transitions of one batch (one health change deciding many record sets
 * again, a reload) logged each at warn or info; the rest of a larger batch
 * (a mass failover: every record set of a dead data centre) go at debug,
 * with one summary line at the batch's end.
 */
export const TRANSITION_LINES_PER_BATCH = 20;

export class Decider {
  private cfg: Config;
  private machines = new Map<string, FailoverMachine>();
  /** probe key → the record sets whose targets it probes. */
  private dependents = new Map<string, RecordSetConfig[]>();
  private readonly wakeTimers = new Map<string, TimerHandle>();
  private readonly recent: Transition[] = [];
  private active = false;
  private stopped = false;
  /** Counts batches of answer changes: a decision's version is the batch that last made it. */
  private version = 1;
  /**
   * Each record set's decision as last made (record set key → decision),
   * made again only after its machine ran (evaluate): a decision's inputs
   * (its state, its targets' health and overrides) change only through
   * evaluate, so decisions() costs what changed, and an unchanged record set
   * keeps the same decision object (readers compare by identity).
   */
  private decided = new Map<string, RecordSetDecision>();
  /** Record set keys of cfg.records, in order (recordSetKey builds a string). */
  private keys: string[] = [];
  /** The batch being decided: transitions logged one per line, and those past TRANSITION_LINES_PER_BATCH (at debug). */
  private batch: { logged: number; quiet: number; quietFailovers: number; first?: Transition; last?: Transition } | undefined;
  /** Called after answers changed (once per batch of changes). */
  readonly changeListeners: Array<() => void> = [];
  /** Called for each transition. */
  readonly transitionListeners: Array<(t: Transition) => void> = [];

  constructor(
    config: Config,
    private readonly opts: { clock: Clock; logger: Logger; health: HealthSource; /** record set key → state to resume from. */ restore?: Record<string, RecordSetState> },
  ) {
    this.cfg = config;
    for (const rs of config.records) this.machines.set(recordSetKey(rs), new FailoverMachine(rs, opts.restore?.[recordSetKey(rs)]));
    this.dependents = dependentsOf(config);
    this.keys = config.records.map(recordSetKey);
  }

  get config(): Config {
    return this.cfg;
  }

  /** True once activated: health changes are decided from then on. */
  get isActive(): boolean {
    return this.active;
  }

  /**
   * Starts deciding: every record set gets its answer. A record set resumed
   * from saved state whose answer changes now makes a transition like any
   * other; a cold start makes none (the machine's first evaluation).
   */
  activate(): void {
    this.active = true;
    this.inBatch(() => {
      for (const rs of this.cfg.records) this.evaluate(rs);
    });
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.wakeTimers.values()) t.cancel();
    this.wakeTimers.clear();
  }

  /** Every record set with its current state (after activation). */
  answers(): RecordSetAnswer[] {
    const out: RecordSetAnswer[] = [];
    this.cfg.records.forEach((rs, i) => {
      const state = this.machines.get(this.keys[i]!)!.state;
      if (state) out.push({ config: rs, state });
    });
    return out;
  }

  /**
   * The decision of every record set: what sinks and readers take. Health
   * and answers come from the same moment. A record set whose machine did
   * not run since the last call keeps its decision (the same object, with
   * the version of the batch that made it).
   */
  decisions(): RecordSetDecision[] {
    return [...this.eachDecision()];
  }

  /**
   * The same decisions, each taken (or made, when its machine ran since) when
   * it is reached: a reader that can wait (the admin API) takes them a slice
   * at a time, so a burst of record sets to decide again does not hold the
   * event loop. Each record set's decision is of one moment; the event loop
   * may turn between two.
   */
  *eachDecision(): Generator<RecordSetDecision> {
    for (let i = 0; i < this.cfg.records.length; i++) {
      const rs = this.cfg.records[i]!;
      const key = this.keys[i]!;
      let d = this.decided.get(key);
      if (!d) {
        const state = this.machines.get(key)!.state;
        if (!state) continue;
        d = decide(rs, state, (t) => this.opts.health.view(t), this.version);
        this.decided.set(key, d);
      }
      yield d;
    }
  }

  /** Recent transitions, newest first. */
  transitions(limit = TRANSITIONS_KEPT): Transition[] {
    return this.recent.slice(-limit).reverse();
  }

  /** The health of the targets probed by `probeKey` changed. */
  probeKeyChanged(probeKey: string): void {
    this.probeKeysChanged([probeKey]);
  }

  /** The health of the targets probed by each of `probeKeys` changed: their record sets are decided again, as one batch. */
  probeKeysChanged(probeKeys: Iterable<string>): void {
    if (!this.active || this.stopped) return;
    const seen = new Set<RecordSetConfig>();
    let changed = false;
    this.inBatch(() => {
      for (const key of probeKeys) {
        for (const rs of this.dependents.get(key) ?? []) {
          if (seen.has(rs)) continue;
          seen.add(rs);
          changed = this.evaluate(rs) !== false || changed;
        }
      }
    });
    if (changed) this.notifyChange();
  }

  /** A target's effective health may have changed (an override). */
  targetChanged(targetId: string): void {
    if (!this.active || this.stopped) return;
    const rs = this.cfg.records.find((r) => r.targets.some((t) => t.id === targetId));
    if (rs && this.evaluate(rs) !== false) this.notifyChange();
  }

  /** A failback command for a record set (failover policy): moves to the first UP target before the active one. */
  failback(key: string): FailbackOutcome {
    const rs = this.cfg.records.find((r) => recordSetKey(r) === key);
    const machine = this.machines.get(key);
    if (!rs || !machine?.state) return { kind: 'refused', reason: `no record set ${key}` };
    if (rs.policy !== 'failover') return { kind: 'refused', reason: `${key} has policy ${rs.policy}; failback applies to policy failover` };
    const before = machine.state;
    if (before.activeId === rs.targets[0]!.id) return { kind: 'unchanged', reason: `${key} already answers its primary ${rs.targets[0]!.id}` };
    const transition = this.evaluate(rs, true);
    if (typeof transition === 'object') {
      this.notifyChange();
      return { kind: 'moved', transition };
    }
    const better = rs.targets.slice(0, Math.max(0, rs.targets.findIndex((t) => t.id === before.activeId))).map((t) => `${t.id} is ${this.opts.health.view(t).health}`);
    return { kind: 'refused', reason: `no target before the active one is UP: ${better.join('; ') || 'all targets are DOWN'}` };
  }

  /** Applies a new config: record sets keep their state; removed ones stop. Re-decides everything when active. */
  reload(config: Config): { added: string[]; removed: string[] } {
    const added: string[] = [];
    const removed: string[] = [];
    const machines = new Map<string, FailoverMachine>();
    for (const rs of config.records) {
      const key = recordSetKey(rs);
      const prev = this.machines.get(key);
      if (!prev) added.push(key);
      machines.set(key, new FailoverMachine(rs, prev?.state));
    }
    for (const key of this.machines.keys()) {
      if (machines.has(key)) continue;
      removed.push(key);
      this.wakeTimers.get(key)?.cancel();
      this.wakeTimers.delete(key);
    }
    this.machines = machines;
    this.dependents = dependentsOf(config);
    this.keys = config.records.map(recordSetKey);
    this.decided.clear();
    this.cfg = config;
    if (this.active) {
      this.inBatch(() => {
        for (const rs of config.records) this.evaluate(rs);
      });
      this.notifyChange();
    }
    return { added, removed };
  }

  /** Runs `decide` as one batch: past TRANSITION_LINES_PER_BATCH transitions, their lines go at debug and one summary line ends it. */
  private inBatch(decide: () => void): void {
    if (this.batch) return decide();
    const b: NonNullable<Decider['batch']> = { logged: 0, quiet: 0, quietFailovers: 0 };
    this.batch = b;
    try {
      decide();
    } finally {
      this.batch = undefined;
    }
    if (b.quiet === 0) return;
    this.opts.logger[b.quietFailovers > 0 ? 'warn' : 'info'](
      {
        component: 'failover',
        transitions: b.logged + b.quiet,
        failovers: b.quietFailovers,
        logged: b.logged,
        firstQuiet: b.first?.recordSet,
        lastQuiet: b.last?.recordSet,
        reason: b.last?.reason,
      },
      `transitions: ${b.logged + b.quiet} record sets changed their answer at once; the first ${b.logged} logged one per line, the other ${b.quiet} (${b.quietFailovers} of them failovers) at debug`,
    );
  }

  private notifyChange(): void {
    this.version++;
    for (const l of this.changeListeners) {
      try {
        l();
      } catch (err) {
        this.opts.logger.error({ err }, 'answer change listener failed');
      }
    }
  }

  /**
   * Runs the state machine of one record set. Returns false when what it
   * answers did not change, the transition when the selection changed
   * (logged, kept and given to the transition listeners), or true for a
   * publish-only change (TTL, weights).
   */
  private evaluate(rs: RecordSetConfig, failbackCommand = false): Transition | boolean {
    const key = recordSetKey(rs);
    const machine = this.machines.get(key)!;
    // Its decision is made again at the next decisions() (its health, override or state may have changed).
    this.decided.delete(key);
    const now = this.opts.clock.now();
    const views = new Map<string, TargetView>();
    for (const t of rs.targets) {
      const v = this.opts.health.view(t);
      views.set(t.id, { id: t.id, health: v.health, since: v.since, ...(v.reason !== undefined ? { reason: v.reason } : {}) });
    }
    const wasAllDown = machine.state?.allDown ?? false;
    const result = machine.evaluate(views, now, failbackCommand ? { kind: 'failback' } : undefined);
    // Every target DOWN without a transition (from the start, or the answer whenAllDown keeps is the one served): said at warn all the same.
    if (!result.transition && !wasAllDown && machine.state?.allDown) {
      this.opts.logger.warn({ component: 'failover', recordSet: key, answer: machine.state.reason, whenAllDown: rs.whenAllDown }, 'every target is DOWN: whenAllDown decides the answer');
    }
    this.wakeTimers.get(key)?.cancel();
    this.wakeTimers.delete(key);
    if (result.wakeAt !== undefined) {
      this.wakeTimers.set(
        key,
        this.opts.clock.setTimer(Math.max(0, result.wakeAt - now), () => {
          this.wakeTimers.delete(key);
          if (this.machines.get(key) === machine && this.evaluate(rs) !== false) this.notifyChange();
        }),
      );
    }
    if (!result.transition) return result.changed;
    const t = result.transition;
    this.recent.push(t);
    if (this.recent.length > TRANSITIONS_KEPT) this.recent.splice(0, this.recent.length - TRANSITIONS_KEPT);
    // A failover (the answer leaves the all-healthy one, or all are down) is a warning; the return to it is info.
    const failover = machine.state!.degraded || machine.state!.allDown;
    const b = this.batch;
    const quiet = b !== undefined && b.logged >= TRANSITION_LINES_PER_BATCH;
    if (b && quiet) {
      b.quiet++;
      if (failover) b.quietFailovers++;
      b.first ??= t;
      b.last = t;
    } else if (b) b.logged++;
    this.opts.logger[quiet ? 'debug' : failover ? 'warn' : 'info']({ component: 'failover', recordSet: t.recordSet, from: t.from, to: t.to, reason: t.reason }, 'transition');
    for (const l of this.transitionListeners) {
      try {
        l(t);
      } catch (err) {
        this.opts.logger.error({ err }, 'transition listener failed');
      }
    }
    return t;
  }
}

function dependentsOf(config: Config): Map<string, RecordSetConfig[]> {
  const out = new Map<string, RecordSetConfig[]>();
  for (const rs of config.records) {
    for (const t of rs.targets) {
      const deps = out.get(t.probeKey) ?? [];
      if (!deps.includes(rs)) deps.push(rs);
      out.set(t.probeKey, deps);
    }
  }
  return out;
}
