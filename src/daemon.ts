/**
 * Wires the stages together: probes → health → failover → records → sinks.
 * The only place that knows them all (design.md).
 */
import { systemClock, type Clock, type TimerHandle } from './clock.ts';
import type { LoadedConfig } from './config/load.ts';
import type { RecordSetConfig } from './config/types.ts';
import { DnsServer, type DnsServerOptions } from './dns/server.ts';
import { recordSetKey, targetAddress } from './failover/describe.ts';
import { FailoverMachine } from './failover/failover-machine.ts';
import type { Answer, TargetView, Transition } from './failover/types.ts';
import { HealthTracker } from './health/hysteresis.ts';
import type { Logger } from './log.ts';
import { ProbeScheduler } from './probes/scheduler.ts';
import type { ProbeResult } from './probes/types.ts';
import { buildSnapshot, type DynamicRRset, type Snapshot } from './records/snapshot.ts';

export interface DaemonOptions {
  logger: Logger;
  clock?: Clock;
  /** Passed to the DNS server (tests pick weights deterministically). */
  dnsPick?: DnsServerOptions['pick'];
}

export class Daemon {
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly trackers = new Map<string, HealthTracker>();
  private readonly machines = new Map<string, FailoverMachine>();
  /** probe key → the record sets whose targets it probes. */
  private readonly dependents = new Map<string, RecordSetConfig[]>();
  private readonly wakeTimers = new Map<string, TimerHandle>();
  private readonly scheduler: ProbeScheduler;
  private readonly dns: DnsServer;
  private snapshot: Snapshot | undefined;
  private ready = false;
  private onFirstVerdicts: (() => void) | undefined;
  /** Listeners for each transition (sinks, notifications). */
  readonly transitionListeners: Array<(t: Transition) => void> = [];

  constructor(
    private readonly loaded: LoadedConfig,
    opts: DaemonOptions,
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
    this.dns = new DnsServer({ listen: loaded.config.dns.listen, logger: this.log.child({ component: 'dns' }), pick: opts.dnsPick });
    for (const rs of loaded.config.records) {
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
   * Starts probing, waits for every target's first verdict (or
   * startupTimeout), then opens the DNS listeners: no answer is served
   * before it is a verdict rather than a guess.
   */
  async start(): Promise<Array<{ host: string; port: number }>> {
    const firstVerdicts = new Promise<void>((resolve) => {
      this.onFirstVerdicts = resolve;
    });
    this.scheduler.start();
    if (this.allHaveVerdicts()) this.onFirstVerdicts?.();
    let timer: TimerHandle | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      timer = this.clock.setTimer(this.loaded.config.startupTimeout, () => resolve(true));
    });
    const late = await Promise.race([firstVerdicts.then(() => false), timedOut]);
    timer?.cancel();
    if (late) {
      const unknown = [...this.trackers].filter(([, t]) => t.health === 'UNKNOWN').map(([k]) => k);
      this.log.warn({ unknown, startupTimeout: this.loaded.config.startupTimeout }, 'startup timeout: serving before every target has a verdict; targets without one rank as UP');
    }
    this.ready = true;
    for (const rs of this.loaded.config.records) this.evaluate(rs, false);
    this.publish();
    const bound = await this.dns.start();
    this.log.info({ listen: bound, zones: this.loaded.zones.map((z) => z.origin), recordSets: this.machines.size, targets: this.trackers.size }, 'serving DNS');
    return bound;
  }

  async stop(): Promise<void> {
    for (const t of this.wakeTimers.values()) t.cancel();
    this.wakeTimers.clear();
    await Promise.all([this.scheduler.stop(), this.dns.stop()]);
  }

  /** The snapshot being served. */
  currentSnapshot(): Snapshot | undefined {
    return this.snapshot;
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
        if (changed) this.publish();
      } else if (this.allHaveVerdicts()) this.onFirstVerdicts?.();
    }
    return { unsettled: obs.unsettled };
  }

  /** Runs the state machine of one record set; true when what DNS serves changed. */
  private evaluate(rs: RecordSetConfig, logTransition: boolean): boolean {
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
          if (this.evaluate(rs, true)) this.publish();
        }),
      );
    }
    if (result.transition && logTransition) {
      const t = result.transition;
      this.log.info({ component: 'failover', recordSet: t.recordSet, from: t.from, to: t.to, reason: t.reason }, 'transition');
      for (const l of this.transitionListeners) l(t);
    }
    return result.changed;
  }

  /** Builds the snapshot of static data plus every current answer and swaps it in. */
  private publish(): void {
    const dynamic: DynamicRRset[] = [];
    for (const rs of this.loaded.config.records) {
      const state = this.machines.get(recordSetKey(rs))!.state;
      if (state) dynamic.push(toDynamic(rs, state.answer));
    }
    this.snapshot = buildSnapshot(this.loaded.zones, dynamic, this.snapshot);
    this.dns.setSnapshot(this.snapshot);
  }
}

function toDynamic(rs: RecordSetConfig, answer: Answer): DynamicRRset {
  if (answer.kind === 'servfail') return { name: rs.name, type: rs.type, ttl: rs.ttl, kind: 'servfail', values: [] };
  if (answer.kind === 'nodata') return { name: rs.name, type: rs.type, ttl: answer.ttl, kind: 'nodata', values: [] };
  return {
    name: rs.name,
    type: rs.type,
    ttl: answer.ttl,
    kind: 'values',
    values: answer.targetIds.map((id) => targetAddress(rs, id)),
    weights: answer.weighted ? answer.weights : undefined,
  };
}
