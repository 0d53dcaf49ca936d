/**
 * The deciding half of failoverd: probes → health → failover. It keeps one
 * HealthTracker per probed target, the operators' overrides on top of them,
 * and one FailoverMachine per record set, and tells its listeners when an
 * answer changes. It knows nothing of sinks; daemon.ts connects it to them.
 */
import { createHash } from 'node:crypto';
import { systemClock, type Clock, type TimerHandle } from './clock.ts';
import type { CheckConfig, Config, Health, RecordSetConfig, Target } from './config/types.ts';
import { decide, type RecordSetDecision } from './failover/decision.ts';
import { recordSetKey } from './failover/describe.ts';
import { FailoverMachine } from './failover/failover-machine.ts';
import type { RecordSetState, TargetView, Transition } from './failover/types.ts';
import { effectiveHealth } from './health/effective.ts';
import { HealthTracker } from './health/hysteresis.ts';
import { OverrideStore, type OverrideEvent, type TargetOverride } from './health/overrides.ts';
import type { Logger } from './log.ts';
import { ProbeScheduler } from './probes/scheduler.ts';
import type { ProbeResult } from './probes/types.ts';

/** What a controller may resume from (the persisted state file). */
export interface ControllerRestore {
  /** probe key → last health, when it began, and a hash of the check it was measured with. */
  health?: Record<string, { health: Health; since: number; check: string }>;
  /** record set key → its state (keeps manual-failback holds across restarts). */
  recordSets?: Record<string, RecordSetState>;
  /** target id → override. */
  overrides?: Record<string, TargetOverride>;
}

export interface ControllerOptions {
  logger: Logger;
  clock?: Clock;
  restore?: ControllerRestore;
}

/** One record set and what it answers now. */
export interface RecordSetAnswer {
  config: RecordSetConfig;
  state: RecordSetState;
}

/** A target's effective health (override over real) and since when. */
export interface EffectiveView {
  health: Health;
  since: number;
  overridden: boolean;
}

export interface ReloadSummary {
  probesKept: string[];
  probesAdded: string[];
  probesChanged: string[];
  probesRemoved: string[];
  recordSetsAdded: string[];
  recordSetsRemoved: string[];
  overridesDropped: string[];
}

export type FailbackOutcome =
  | { kind: 'moved'; transition: Transition }
  | { kind: 'unchanged'; reason: string }
  | { kind: 'refused'; reason: string };

/** How many transitions are kept for the API. */
export const TRANSITIONS_KEPT = 500;

/** A short, stable fingerprint of a check's settings: unchanged settings keep their health across reloads and restarts. */
export function checkHash(check: CheckConfig): string {
  return createHash('sha256').update(JSON.stringify(check)).digest('hex').slice(0, 16);
}

export class Controller {
  private readonly log: Logger;
  private readonly clock: Clock;
  private cfg: Config;
  private readonly trackers = new Map<string, HealthTracker>();
  private readonly checkHashes = new Map<string, string>();
  private machines = new Map<string, FailoverMachine>();
  /** probe key → the record sets whose targets it probes. */
  private dependents = new Map<string, RecordSetConfig[]>();
  private readonly wakeTimers = new Map<string, TimerHandle>();
  private readonly effective = new Map<string, EffectiveView>();
  private readonly scheduler: ProbeScheduler;
  private readonly probedSinceStart = new Set<string>();
  private readonly recent: Transition[] = [];
  readonly overrides: OverrideStore;
  private ready = false;
  /** Counts batches of answer changes: the version of the decisions. */
  private version = 1;
  private stopped = false;
  private onFirstRound: (() => void) | undefined;
  /** Called after answers changed (once per batch of changes). */
  readonly changeListeners: Array<() => void> = [];
  /** Called for each transition. */
  readonly transitionListeners: Array<(t: Transition) => void> = [];
  /** Called for each probe result (metrics). */
  readonly probeListeners: Array<(probeKey: string, result: ProbeResult) => void> = [];
  /** Called when a target's real health changes (persisted state). */
  readonly healthListeners: Array<(probeKey: string) => void> = [];
  /** Called for each override set, cleared or expired. */
  readonly overrideListeners: Array<(e: OverrideEvent) => void> = [];

  constructor(config: Config, opts: ControllerOptions) {
    this.cfg = config;
    this.log = opts.logger;
    this.clock = opts.clock ?? systemClock;
    const probeLog = this.log.child({ component: 'probes' });
    this.scheduler = new ProbeScheduler({
      clock: this.clock,
      watch: true,
      onResult: (key, result) => this.onProbeResult(key, result),
      onError: (key, err) => probeLog.error({ target: key, err }, 'probe result handler failed'),
    });
    this.overrides = new OverrideStore(this.clock, (e) => this.onOverride(e));
    const restore = opts.restore ?? {};
    for (const rs of config.records) {
      this.machines.set(recordSetKey(rs), new FailoverMachine(rs, restore.recordSets?.[recordSetKey(rs)]));
      for (const t of rs.targets) this.addProbe(t, restore.health?.[t.probeKey]);
    }
    this.dependents = dependentsOf(config);
    const ids = targetIds(config);
    for (const [id, o] of Object.entries(restore.overrides ?? {})) {
      if (!ids.has(id)) {
        this.log.warn({ component: 'overrides', target: id, reason: o.reason }, 'dropped a saved override: its target is no longer configured');
        continue;
      }
      if (o.expiresAt !== undefined && o.expiresAt <= this.clock.now()) continue;
      this.overrides.set(id, o, { silent: true });
    }
  }

  get config(): Config {
    return this.cfg;
  }

  /** True once every target was probed since start and the first answers are published. */
  get isReady(): boolean {
    return this.ready;
  }

  /**
   * Starts probing and resolves once every target has been probed and its
   * health agrees with that probe (a verdict), or after startupTimeout; then
   * every record set has its first answer.
   */
  async start(): Promise<void> {
    const firstRound = new Promise<void>((resolve) => {
      this.onFirstRound = resolve;
    });
    this.scheduler.start();
    if (this.firstRoundDone()) this.onFirstRound?.(); // nothing to probe
    let timer: TimerHandle | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      timer = this.clock.setTimer(this.cfg.startupTimeout, () => resolve(true));
    });
    const late = await Promise.race([firstRound.then(() => false), timedOut]);
    timer?.cancel();
    this.onFirstRound = undefined;
    if (late) {
      const unsettled = [...this.trackers].filter(([k, t]) => !this.probedSinceStart.has(k) || t.unsettled).map(([k, t]) => `${k} (${t.health})`);
      this.log.warn({ unsettled, startupTimeout: this.cfg.startupTimeout }, 'startup timeout: answering before every target has a verdict; targets without one rank as UP');
    }
    this.ready = true;
    // Announced: a record set resumed from the state file whose answer changes
    // now (its target died while failoverd was down) makes a transition like
    // any other; a cold start makes none (the machine's first evaluation).
    for (const rs of this.cfg.records) this.evaluate(rs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.wakeTimers.values()) t.cancel();
    this.wakeTimers.clear();
    this.overrides.stop();
    await this.scheduler.stop();
  }

  /** Every record set with its current state (after start). */
  answers(): RecordSetAnswer[] {
    const out: RecordSetAnswer[] = [];
    for (const rs of this.cfg.records) {
      const state = this.machines.get(recordSetKey(rs))!.state;
      if (state) out.push({ config: rs, state });
    }
    return out;
  }

  /**
   * The decision of every record set (after start): what sinks and readers
   * take. Effective health and answers come from the same moment.
   */
  decisions(): RecordSetDecision[] {
    const out: RecordSetDecision[] = [];
    for (const a of this.answers()) out.push(decide(a.config, a.state, (t) => this.healthOf(t), this.version));
    return out;
  }

  /** A target's effective and real health, with the override's reason. */
  private healthOf(t: Target): { health: Health; realHealth: Health; since: number; overridden: boolean; overrideReason?: string } {
    const e = this.effectiveOf(t);
    const o = e.overridden ? this.overrides.get(t.id) : undefined;
    return { ...e, realHealth: this.trackers.get(t.probeKey)?.health ?? 'UNKNOWN', ...(o ? { overrideReason: o.reason ? `${o.state}: ${o.reason}` : o.state } : {}) };
  }

  /** The hysteresis state of one probed target ("<check>@<address>"). */
  tracker(probeKey: string): HealthTracker | undefined {
    return this.trackers.get(probeKey);
  }

  /** The check hash a probe key's health was measured with. */
  checkHashOf(probeKey: string): string | undefined {
    return this.checkHashes.get(probeKey);
  }

  /** Effective health of a target id: the override over the real health. */
  effectiveOf(target: Target): EffectiveView {
    const known = this.effective.get(target.id);
    const now = this.clock.now();
    const tracker = this.trackers.get(target.probeKey);
    const e = effectiveHealth(tracker?.health ?? 'UNKNOWN', this.overrides.get(target.id), now);
    if (known && known.health === e.health && known.overridden === e.overridden) return known;
    return { health: e.health, since: known?.since ?? tracker?.since ?? now, overridden: e.overridden };
  }

  findTarget(id: string): { target: Target; recordSet: RecordSetConfig } | undefined {
    for (const rs of this.cfg.records) {
      const target = rs.targets.find((t) => t.id === id);
      if (target) return { target, recordSet: rs };
    }
    return undefined;
  }

  /** Recent transitions, newest first. */
  transitions(limit = TRANSITIONS_KEPT): Transition[] {
    return this.recent.slice(-limit).reverse();
  }

  /** Sets an override on a target id and re-evaluates its record set; throws RangeError for an unknown id. */
  setOverride(targetId: string, o: Omit<TargetOverride, 'createdAt'> & { createdAt?: number }): TargetOverride {
    if (!this.findTarget(targetId)) throw new RangeError(`unknown target ${targetId}`);
    const full: TargetOverride = { ...o, createdAt: o.createdAt ?? this.clock.now() };
    this.overrides.set(targetId, full);
    return full;
  }

  /** Removes a target's override; undefined when it had none. */
  clearOverride(targetId: string): TargetOverride | undefined {
    return this.overrides.clear(targetId);
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
    const better = rs.targets.slice(0, Math.max(0, rs.targets.findIndex((t) => t.id === before.activeId))).map((t) => `${t.id} is ${this.effectiveOf(t).health}`);
    return { kind: 'refused', reason: `no target before the active one is UP: ${better.join('; ') || 'all targets are DOWN'}` };
  }

  /**
   * Applies a new config. Probes whose key ("<check>@<address>") and check
   * settings are unchanged keep running with their health; a key whose
   * settings changed starts a new probe that begins from the old health;
   * new keys start UNKNOWN. Record sets keep their state; overrides of
   * targets that are gone are dropped.
   */
  reload(config: Config): ReloadSummary {
    const summary: ReloadSummary = { probesKept: [], probesAdded: [], probesChanged: [], probesRemoved: [], recordSetsAdded: [], recordSetsRemoved: [], overridesDropped: [] };
    const wanted = new Map<string, Target>();
    for (const rs of config.records) for (const t of rs.targets) if (!wanted.has(t.probeKey)) wanted.set(t.probeKey, t);
    for (const key of [...this.trackers.keys()]) {
      if (wanted.has(key)) continue;
      this.scheduler.remove(key);
      this.trackers.delete(key);
      this.checkHashes.delete(key);
      this.probedSinceStart.delete(key);
      summary.probesRemoved.push(key);
    }
    for (const [key, t] of wanted) {
      const old = this.trackers.get(key);
      if (!old) {
        this.addProbe(t);
        summary.probesAdded.push(key);
      } else if (this.checkHashes.get(key) !== checkHash(t.check)) {
        this.scheduler.remove(key);
        this.trackers.delete(key);
        this.addProbe(t, old.health === 'UNKNOWN' ? undefined : { health: old.health, since: old.since, check: checkHash(t.check) });
        summary.probesChanged.push(key);
      } else summary.probesKept.push(key);
    }
    const machines = new Map<string, FailoverMachine>();
    for (const rs of config.records) {
      const key = recordSetKey(rs);
      const prev = this.machines.get(key);
      if (!prev) summary.recordSetsAdded.push(key);
      machines.set(key, new FailoverMachine(rs, prev?.state));
    }
    for (const key of this.machines.keys()) {
      if (machines.has(key)) continue;
      summary.recordSetsRemoved.push(key);
      this.wakeTimers.get(key)?.cancel();
      this.wakeTimers.delete(key);
    }
    const ids = targetIds(config);
    for (const [id] of this.overrides.all()) {
      if (ids.has(id)) continue;
      this.overrides.drop(id);
      summary.overridesDropped.push(id);
    }
    for (const id of [...this.effective.keys()]) if (!ids.has(id)) this.effective.delete(id);
    this.machines = machines;
    this.dependents = dependentsOf(config);
    this.cfg = config;
    if (this.ready) {
      for (const rs of config.records) this.evaluate(rs);
      this.notifyChange();
    }
    return summary;
  }

  private addProbe(t: Target, restored?: { health: Health; since: number; check: string }): void {
    if (this.trackers.has(t.probeKey)) return;
    const hash = checkHash(t.check);
    const usable = restored && restored.check === hash && restored.health !== 'UNKNOWN';
    this.trackers.set(t.probeKey, new HealthTracker({ rise: t.check.rise, fall: t.check.fall }, usable ? restored.health : 'UNKNOWN', usable ? restored.since : this.clock.now()));
    this.checkHashes.set(t.probeKey, hash);
    this.scheduler.add(t.probeKey, { address: t.address, check: t.check });
  }

  private firstRoundDone(): boolean {
    for (const [k, t] of this.trackers) if (!this.probedSinceStart.has(k) || t.unsettled) return false;
    return true;
  }

  private onProbeResult(key: string, result: ProbeResult): { unsettled: boolean } {
    const tracker = this.trackers.get(key);
    if (!tracker || this.stopped) return { unsettled: false };
    this.probedSinceStart.add(key);
    for (const l of this.probeListeners) {
      try {
        l(key, result);
      } catch (err) {
        this.log.error({ err }, 'probe listener failed');
      }
    }
    const obs = tracker.observe(result);
    if (obs.changed) {
      this.log.info({ component: 'health', target: key, from: obs.from, to: obs.health, reason: result.reason, latencyMs: Math.round(result.latencyMs) }, 'target health changed');
      for (const l of this.healthListeners) l(key);
      if (this.ready) {
        let changed = false;
        for (const rs of this.dependents.get(key) ?? []) changed = this.evaluate(rs) !== false || changed;
        if (changed) this.notifyChange();
      }
    }
    if (!this.ready && this.onFirstRound && this.firstRoundDone()) this.onFirstRound();
    return { unsettled: obs.unsettled };
  }

  private onOverride(e: OverrideEvent): void {
    const o = e.override;
    this.log.info({ component: 'overrides', action: e.action, target: e.targetId, state: o.state, reason: o.reason, source: o.source, expiresAt: o.expiresAt === undefined ? undefined : new Date(o.expiresAt).toISOString() }, `override ${e.action}`);
    for (const l of this.overrideListeners) {
      try {
        l(e);
      } catch (err) {
        this.log.error({ err }, 'override listener failed');
      }
    }
    const found = this.findTarget(e.targetId);
    if (found && this.ready && !this.stopped && this.evaluate(found.recordSet) !== false) this.notifyChange();
  }

  private notifyChange(): void {
    this.version++;
    for (const l of this.changeListeners) {
      try {
        l();
      } catch (err) {
        this.log.error({ err }, 'answer change listener failed');
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
    const now = this.clock.now();
    const views = new Map<string, TargetView>();
    for (const t of rs.targets) {
      const tracker = this.trackers.get(t.probeKey)!;
      const override = this.overrides.get(t.id);
      const eff = effectiveHealth(tracker.health, override, now);
      const known = this.effective.get(t.id);
      const since = !known ? (eff.overridden ? override!.createdAt : tracker.since) : known.health !== eff.health ? now : known.since;
      this.effective.set(t.id, { health: eff.health, since, overridden: eff.overridden });
      const reason = override ? `${override.state === 'DOWN' ? 'drained' : 'pinned UP'} by override (${override.source}): ${override.reason}` : tracker.last ? `check ${t.checkName}: ${tracker.last.reason}` : undefined;
      views.set(t.id, { id: t.id, health: eff.health, since, reason });
    }
    const result = machine.evaluate(views, now, failbackCommand ? { kind: 'failback' } : undefined);
    this.wakeTimers.get(key)?.cancel();
    this.wakeTimers.delete(key);
    if (result.wakeAt !== undefined) {
      this.wakeTimers.set(
        key,
        this.clock.setTimer(Math.max(0, result.wakeAt - now), () => {
          this.wakeTimers.delete(key);
          if (this.machines.get(key) === machine && this.evaluate(rs) !== false) this.notifyChange();
        }),
      );
    }
    if (result.transition) {
      const t = result.transition;
      this.recent.push(t);
      if (this.recent.length > TRANSITIONS_KEPT) this.recent.splice(0, this.recent.length - TRANSITIONS_KEPT);
      this.log.info({ component: 'failover', recordSet: t.recordSet, from: t.from, to: t.to, reason: t.reason }, 'transition');
      for (const l of this.transitionListeners) {
        try {
          l(t);
        } catch (err) {
          this.log.error({ err }, 'transition listener failed');
        }
      }
      return t;
    }
    return result.changed;
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

function targetIds(config: Config): Set<string> {
  return new Set(config.records.flatMap((r) => r.targets.map((t) => t.id)));
}
