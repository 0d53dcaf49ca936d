/**
 * The deciding half of failoverd: probes → health → failover. It keeps one
 * HealthTracker per probed target and one FailoverMachine per record set,
 * and tells its listeners when an answer changes. It knows nothing of
 * sinks; daemon.ts connects it to them.
 */
import { systemClock, type Clock, type TimerHandle } from './clock.ts';
import type { Config, RecordSetConfig } from './config/types.ts';
import { recordSetKey } from './failover/describe.ts';
import { FailoverMachine } from './failover/failover-machine.ts';
import type { RecordSetState, TargetView, Transition } from './failover/types.ts';
import { HealthTracker } from './health/hysteresis.ts';
import type { Logger } from './log.ts';
import { ProbeScheduler } from './probes/scheduler.ts';
import type { ProbeResult } from './probes/types.ts';

export interface ControllerOptions {
  logger: Logger;
  clock?: Clock;
}

/** One record set and what it answers now. */
export interface RecordSetAnswer {
  config: RecordSetConfig;
  state: RecordSetState;
}

export class Controller {
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly trackers = new Map<string, HealthTracker>();
  private readonly machines = new Map<string, FailoverMachine>();
  /** probe key → the record sets whose targets it probes. */
  private readonly dependents = new Map<string, RecordSetConfig[]>();
  private readonly wakeTimers = new Map<string, TimerHandle>();
  private readonly scheduler: ProbeScheduler;
  private ready = false;
  private onFirstVerdicts: (() => void) | undefined;
  /** Called after answers changed (once per batch of changes). */
  readonly changeListeners: Array<() => void> = [];
  /** Called for each transition. */
  readonly transitionListeners: Array<(t: Transition) => void> = [];

  constructor(
    private readonly config: Config,
    opts: ControllerOptions,
  ) {
    this.log = opts.logger;
    this.clock = opts.clock ?? systemClock;
    const probeLog = this.log.child({ component: 'probes' });
    this.scheduler = new ProbeScheduler({
      clock: this.clock,
      watch: true,
      onResult: (key, result) => this.onProbeResult(key, result),
      onError: (key, err) => probeLog.error({ target: key, err: String(err) }, 'probe result handler failed'),
    });
    for (const rs of config.records) {
      this.machines.set(recordSetKey(rs), new FailoverMachine(rs));
      for (const t of rs.targets) {
        if (!this.trackers.has(t.probeKey)) {
          this.trackers.set(t.probeKey, new HealthTracker({ rise: t.check.rise, fall: t.check.fall }, 'UNKNOWN', this.clock.now()));
          this.scheduler.add(t.probeKey, { address: t.address, check: t.check });
        }
        const deps = this.dependents.get(t.probeKey) ?? [];
        if (!deps.includes(rs)) deps.push(rs);
        this.dependents.set(t.probeKey, deps);
      }
    }
  }

  /**
   * Starts probing and resolves once every target has a verdict, or after
   * startupTimeout; then every record set has its first answer.
   */
  async start(): Promise<void> {
    const firstVerdicts = new Promise<void>((resolve) => {
      this.onFirstVerdicts = resolve;
    });
    this.scheduler.start();
    if (this.allHaveVerdicts()) this.onFirstVerdicts?.();
    let timer: TimerHandle | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      timer = this.clock.setTimer(this.config.startupTimeout, () => resolve(true));
    });
    const late = await Promise.race([firstVerdicts.then(() => false), timedOut]);
    timer?.cancel();
    if (late) {
      const unknown = [...this.trackers].filter(([, t]) => t.health === 'UNKNOWN').map(([k]) => k);
      this.log.warn({ unknown, startupTimeout: this.config.startupTimeout }, 'startup timeout: answering before every target has a verdict; targets without one rank as UP');
    }
    this.ready = true;
    for (const rs of this.config.records) this.evaluate(rs, false);
  }

  async stop(): Promise<void> {
    for (const t of this.wakeTimers.values()) t.cancel();
    this.wakeTimers.clear();
    await this.scheduler.stop();
  }

  /** Every record set with its current state (after start). */
  answers(): RecordSetAnswer[] {
    const out: RecordSetAnswer[] = [];
    for (const rs of this.config.records) {
      const state = this.machines.get(recordSetKey(rs))!.state;
      if (state) out.push({ config: rs, state });
    }
    return out;
  }

  /** The hysteresis state of one probed target ("<check>@<address>"). */
  tracker(probeKey: string): HealthTracker | undefined {
    return this.trackers.get(probeKey);
  }

  private allHaveVerdicts(): boolean {
    for (const t of this.trackers.values()) if (t.health === 'UNKNOWN') return false;
    return true;
  }

  private onProbeResult(key: string, result: ProbeResult): { unsettled: boolean } {
    const tracker = this.trackers.get(key);
    if (!tracker) return { unsettled: false };
    const obs = tracker.observe(result);
    if (obs.changed) {
      this.log.info({ component: 'health', target: key, from: obs.from, to: obs.health, reason: result.reason, latencyMs: Math.round(result.latencyMs) }, 'target health changed');
      if (this.ready) {
        let changed = false;
        for (const rs of this.dependents.get(key) ?? []) changed = this.evaluate(rs, true) || changed;
        if (changed) this.notifyChange();
      } else if (this.allHaveVerdicts()) this.onFirstVerdicts?.();
    }
    return { unsettled: obs.unsettled };
  }

  private notifyChange(): void {
    for (const l of this.changeListeners) {
      try {
        l();
      } catch (err) {
        this.log.error({ err: String(err) }, 'answer change listener failed');
      }
    }
  }

  /** Runs the state machine of one record set; true when what it answers changed. */
  private evaluate(rs: RecordSetConfig, announce: boolean): boolean {
    const key = recordSetKey(rs);
    const machine = this.machines.get(key)!;
    const now = this.clock.now();
    const views = new Map<string, TargetView>();
    for (const t of rs.targets) {
      const tracker = this.trackers.get(t.probeKey)!;
      views.set(t.id, { id: t.id, health: tracker.health, since: tracker.since, reason: tracker.last ? `check ${t.checkName}: ${tracker.last.reason}` : undefined });
    }
    const result = machine.evaluate(views, now);
    this.wakeTimers.get(key)?.cancel();
    this.wakeTimers.delete(key);
    if (result.wakeAt !== undefined) {
      this.wakeTimers.set(
        key,
        this.clock.setTimer(Math.max(0, result.wakeAt - now), () => {
          this.wakeTimers.delete(key);
          if (this.evaluate(rs, true)) this.notifyChange();
        }),
      );
    }
    if (result.transition && announce) {
      const t = result.transition;
      this.log.info({ component: 'failover', recordSet: t.recordSet, from: t.from, to: t.to, reason: t.reason }, 'transition');
      for (const l of this.transitionListeners) {
        try {
          l(t);
        } catch (err) {
          this.log.error({ err: String(err) }, 'transition listener failed');
        }
      }
    }
    return result.changed;
  }
}
