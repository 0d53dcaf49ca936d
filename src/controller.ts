/**
 * The deciding half of one failoverd process: its TargetHealth (probes →
 * hysteresis, overrides on top) feeds its Decider (a failover machine per
 * record set → decisions). It knows nothing of sinks; daemon.ts connects
 * its decisions to them.
 */
import type { Clock, TimerHandle } from './clock.ts';
import type { Config, RecordSetConfig, Target } from './config/types.ts';
import type { RecordSetDecision } from './failover/decision.ts';
import { Decider, type FailbackOutcome, type RecordSetAnswer } from './failover/decider.ts';
import type { RecordSetState, Transition } from './failover/types.ts';
import type { TargetOverride } from './health/overrides.ts';
import { TargetHealth, type SavedHealth, type TargetHealthView } from './health/target-health.ts';
import type { Logger } from './log.ts';

/** What a controller may resume from (the persisted state file). */
export interface ControllerRestore {
  /** probe key → last health, when it began, and a hash of the check it was measured with. */
  health?: Record<string, SavedHealth>;
  /** record set key → its state (keeps manual-failback holds across restarts). */
  recordSets?: Record<string, RecordSetState>;
  /** target id → override. */
  overrides?: Record<string, TargetOverride>;
}

export interface ControllerOptions {
  logger: Logger;
  clock: Clock;
  restore?: ControllerRestore;
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

export class Controller {
  private readonly log: Logger;
  private readonly clock: Clock;
  readonly health: TargetHealth;
  readonly decider: Decider;
  private ready = false;
  private onFirstRound: (() => void) | undefined;
  /** deferVerdict(): while `when()` holds, health changes wait `delayMs` in `pending` before the decider sees them. */
  private deferral: { when: () => boolean; delayMs: number } | undefined;
  private readonly pending = new Set<string>();
  private pendingTimer: TimerHandle | undefined;
  private pendingSince = 0;

  constructor(config: Config, opts: ControllerOptions) {
    this.log = opts.logger;
    this.clock = opts.clock;
    const restore = opts.restore ?? {};
    this.health = new TargetHealth(config, { clock: this.clock, logger: this.log, restore });
    this.decider = new Decider(config, { clock: this.clock, logger: this.log, health: this.health, restore: restore.recordSets });
    this.health.after.healthChange = (key) => this.healthChanged(key);
    this.health.after.override = (id) => this.decider.targetChanged(id);
    this.health.after.result = () => {
      if (!this.ready && this.onFirstRound && this.health.firstRoundDone()) this.onFirstRound();
    };
  }

  get config(): Config {
    return this.decider.config;
  }

  /** True once every target was probed since start and the first answers are decided. */
  get isReady(): boolean {
    return this.ready;
  }

  get overrides() {
    return this.health.overrides;
  }

  /** Called after answers changed (once per batch of changes). */
  get changeListeners(): Array<() => void> {
    return this.decider.changeListeners;
  }

  /** Called for each transition. */
  get transitionListeners(): Array<(t: Transition) => void> {
    return this.decider.transitionListeners;
  }

  /** Called for each probe result. */
  get probeListeners() {
    return this.health.probeListeners;
  }

  /** Called when a probed target's real health changes. */
  get healthListeners() {
    return this.health.healthListeners;
  }

  /** Called for each override set, cleared or expired. */
  get overrideListeners() {
    return this.health.overrideListeners;
  }

  /** This instance's probes of one probed target ("<check>@<address>"): hysteresis state and recent results. */
  tracker(probeKey: string) {
    return this.health.tracker(probeKey);
  }

  /** The check hash a probe key's health was measured with (persisted with it). */
  checkHashOf(probeKey: string): string | undefined {
    return this.health.checkHashOf(probeKey);
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
    this.health.start();
    if (this.health.firstRoundDone()) this.onFirstRound?.(); // nothing to probe
    let timer: TimerHandle | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      timer = this.clock.setTimer(this.config.startupTimeout, () => resolve(true));
    });
    const late = await Promise.race([firstRound.then(() => false), timedOut]);
    timer?.cancel();
    this.onFirstRound = undefined;
    if (late) this.log.warn({ unsettled: this.health.unsettled(), startupTimeout: this.config.startupTimeout }, 'startup timeout: answering before every target has a verdict; targets without one rank as UP');
    this.ready = true;
    this.decider.activate();
  }

  /**
   * While `when()` holds, a probe key's health change reaches the decider
   * `delayMs` later, with every other change of that time, rather than at
   * once: in a cluster, this instance's own verdict is not served while the
   * cluster's decisions are, and deciding it at once (10,000 failover
   * machines in a mass failover) would hold the event loop while the
   * cluster's decision is being made and written. `decidePending()` decides
   * what waits at once (when the own verdict is about to be served). The
   * wait runs from the last change, at most 3 × `delayMs` from the first.
   */
  deferVerdict(when: () => boolean, delayMs: number): void {
    this.deferral = { when, delayMs };
  }

  /** Decides the health changes waiting (deferVerdict) now. */
  decidePending(): void {
    this.pendingTimer?.cancel();
    this.pendingTimer = undefined;
    const keys = [...this.pending];
    this.pending.clear();
    this.decider.probeKeysChanged(keys);
  }

  private healthChanged(probeKey: string): void {
    if (!this.deferral?.when()) {
      if (this.pending.size > 0) this.decidePending();
      this.decider.probeKeyChanged(probeKey);
      return;
    }
    // delayMs after the last change (a mass failover's changes come over a moment), at most 3 × delayMs after the first.
    const now = this.clock.now();
    if (this.pending.size === 0) this.pendingSince = now;
    this.pending.add(probeKey);
    this.pendingTimer?.cancel();
    this.pendingTimer = this.clock.setTimer(Math.min(this.deferral.delayMs, this.pendingSince + 3 * this.deferral.delayMs - now), () => {
      this.pendingTimer = undefined;
      this.decidePending();
    });
  }

  async stop(): Promise<void> {
    this.pendingTimer?.cancel();
    this.pendingTimer = undefined;
    this.decider.stop();
    await this.health.stop();
  }

  /** Every record set with its current state (after start). */
  answers(): RecordSetAnswer[] {
    return this.decider.answers();
  }

  /** The decision of every record set (after start): what sinks and readers take. */
  decisions(): RecordSetDecision[] {
    return this.decider.decisions();
  }

  /** The decisions made one at a time as they are read (Decider.eachDecision). */
  eachDecision(): Iterable<RecordSetDecision> {
    return this.decider.eachDecision();
  }

  /** Effective and real health of a target, since when and why. */
  effectiveOf(target: Target): TargetHealthView {
    return this.health.view(target);
  }

  findTarget(id: string): { target: Target; recordSet: RecordSetConfig } | undefined {
    for (const rs of this.config.records) {
      const target = rs.targets.find((t) => t.id === id);
      if (target) return { target, recordSet: rs };
    }
    return undefined;
  }

  /** Recent transitions, newest first. */
  transitions(limit?: number): Transition[] {
    return this.decider.transitions(limit);
  }

  /** Sets an override on a target id and re-evaluates its record set; throws RangeError for an unknown id. */
  setOverride(targetId: string, o: Omit<TargetOverride, 'createdAt'> & { createdAt?: number }): TargetOverride {
    if (!this.findTarget(targetId)) throw new RangeError(`unknown target ${targetId}`);
    const full: TargetOverride = { ...o, createdAt: o.createdAt ?? this.clock.now() };
    this.health.overrides.set(targetId, full);
    return full;
  }

  /** Removes a target's override; undefined when it had none. */
  clearOverride(targetId: string): TargetOverride | undefined {
    return this.health.overrides.clear(targetId);
  }

  /** A failback command for a record set (failover policy). */
  failback(key: string): FailbackOutcome {
    return this.decider.failback(key);
  }

  /** Applies a new config: probes first (TargetHealth.reload), then the record sets (Decider.reload). */
  reload(config: Config): ReloadSummary {
    const probes = this.health.reload(config);
    const sets = this.decider.reload(config);
    return {
      probesKept: probes.kept,
      probesAdded: probes.added,
      probesChanged: probes.changed,
      probesRemoved: probes.removed,
      recordSetsAdded: sets.added,
      recordSetsRemoved: sets.removed,
      overridesDropped: probes.overridesDropped,
    };
  }
}
