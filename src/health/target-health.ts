/**
 * Target health: the probes, one HealthTracker (rise/fall hysteresis) per
 * probed target, and the operators' overrides on top of them. It answers
 * "how is this target, really and effectively, since when and why" and
 * tells its listeners when that may have changed. It decides no answers:
 * the Decider (failover/decider.ts) reads its views.
 */
import { createHash } from 'node:crypto';
import type { Clock } from '../clock.ts';
import type { CheckConfig, Config, Health, Target } from '../config/types.ts';
import type { Logger } from '../log.ts';
import { ProbeScheduler } from '../probes/scheduler.ts';
import type { ProbeResult } from '../probes/types.ts';
import { effectiveHealth } from './effective.ts';
import { HealthTracker } from './hysteresis.ts';
import { OverrideStore, type OverrideEvent, type TargetOverride } from './overrides.ts';

/** A target's health as deciders and readers see it. */
export interface TargetHealthView {
  /** Effective health: an override over the real health. */
  health: Health;
  /** The health measured by the probes (after rise/fall), before any override. */
  realHealth: Health;
  /** When the effective health began. */
  since: number;
  overridden: boolean;
  /** The override deciding the effective health, when there is one. */
  override?: TargetOverride;
  /** Why, quoted in transitions: the override, or the last probe's reason. */
  reason?: string;
}

/** What the probes of one probed target ("<check>@<address>") say after hysteresis: what a vantage point reports. */
export interface ProbedHealth {
  health: Health;
  since: number;
  reason?: string;
}

/** Saved health of a probe key, with a hash of the check it was measured with. */
export interface SavedHealth {
  health: Health;
  since: number;
  check: string;
}

export interface ProbeChanges {
  kept: string[];
  added: string[];
  changed: string[];
  removed: string[];
  overridesDropped: string[];
}

/** A short, stable fingerprint of a check's settings: unchanged settings keep their health across reloads and restarts. */
export function checkHash(check: CheckConfig): string {
  return createHash('sha256').update(JSON.stringify(check)).digest('hex').slice(0, 16);
}

export class TargetHealth {
  private readonly trackers = new Map<string, HealthTracker>();
  private readonly checkHashes = new Map<string, string>();
  /** target id → its effective health and since when (since moves when the effective health changes). */
  private readonly effective = new Map<string, { health: Health; since: number; overridden: boolean }>();
  private readonly probedSinceStart = new Set<string>();
  private readonly scheduler: ProbeScheduler;
  readonly overrides: OverrideStore;
  private stopped = false;
  /** Called for each probe result (metrics, status history). */
  readonly probeListeners: Array<(probeKey: string, result: ProbeResult) => void> = [];
  /** Called when a probed target's real health changes. */
  readonly healthListeners: Array<(probeKey: string) => void> = [];
  /** Called for each override set, cleared or expired. */
  readonly overrideListeners: Array<(e: OverrideEvent) => void> = [];
  /**
   * Set by the one who decides (the Controller): called after the listeners
   * above, so listeners see an event before the answers it causes.
   */
  readonly after: { healthChange?: (probeKey: string) => void; override?: (targetId: string) => void; result?: () => void } = {};

  constructor(
    config: Config,
    private readonly opts: { clock: Clock; logger: Logger; restore?: { health?: Record<string, SavedHealth>; overrides?: Record<string, TargetOverride> } },
  ) {
    const probeLog = opts.logger.child({ component: 'probes' });
    this.scheduler = new ProbeScheduler({
      clock: opts.clock,
      watch: true,
      onResult: (key, result) => this.onProbeResult(key, result),
      onError: (key, err) => probeLog.error({ target: key, err }, 'probe result handler failed'),
      logger: probeLog,
    });
    this.overrides = new OverrideStore(opts.clock, (e) => this.onOverride(e));
    for (const rs of config.records) for (const t of rs.targets) this.addProbe(t, opts.restore?.health?.[t.probeKey]);
    const ids = targetIds(config);
    for (const [id, o] of Object.entries(opts.restore?.overrides ?? {})) {
      if (!ids.has(id)) {
        opts.logger.warn({ component: 'overrides', target: id, reason: o.reason }, 'dropped a saved override: its target is no longer configured');
        continue;
      }
      if (o.expiresAt !== undefined && o.expiresAt <= opts.clock.now()) continue;
      this.overrides.set(id, o, { silent: true });
    }
  }

  start(): void {
    this.scheduler.start();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.overrides.stop();
    await this.scheduler.stop();
  }

  /** True once every probed target was probed since start and its health agrees with that probe (a verdict). */
  firstRoundDone(): boolean {
    for (const [k, t] of this.trackers) if (!this.probedSinceStart.has(k) || t.unsettled) return false;
    return true;
  }

  /** Probed targets without a verdict yet, e.g. "web@127.0.0.1 (UNKNOWN)". */
  unsettled(): string[] {
    return [...this.trackers].filter(([k, t]) => !this.probedSinceStart.has(k) || t.unsettled).map(([k, t]) => `${k} (${t.health})`);
  }

  /** The hysteresis state of one probed target ("<check>@<address>"): this instance's probes. */
  tracker(probeKey: string): HealthTracker | undefined {
    return this.trackers.get(probeKey);
  }

  /** The check hash a probe key's health was measured with. */
  checkHashOf(probeKey: string): string | undefined {
    return this.checkHashes.get(probeKey);
  }

  /** Every probed target's health after hysteresis (what this instance, as a vantage point, sees). */
  probed(): Map<string, ProbedHealth> {
    const out = new Map<string, ProbedHealth>();
    for (const [key, t] of this.trackers) out.set(key, probedHealth(t));
    return out;
  }

  /** One probed target's health after hysteresis (undefined: not probed here). */
  probedOne(probeKey: string): ProbedHealth | undefined {
    const t = this.trackers.get(probeKey);
    return t ? probedHealth(t) : undefined;
  }

  /**
   * A target's effective health (the override over the real health), since
   * when and why. The since of an effective health is the moment it was
   * first seen to change, so a failback "after UP for D" counts from there.
   */
  view(t: Target): TargetHealthView {
    const now = this.opts.clock.now();
    const tracker = this.trackers.get(t.probeKey);
    const real = tracker?.health ?? 'UNKNOWN';
    const override = this.overrides.get(t.id);
    const eff = effectiveHealth(real, override, now);
    const known = this.effective.get(t.id);
    const since = !known ? (eff.overridden ? override!.createdAt : (tracker?.since ?? now)) : known.health !== eff.health ? now : known.since;
    if (!known || known.health !== eff.health || known.overridden !== eff.overridden) this.effective.set(t.id, { health: eff.health, since, overridden: eff.overridden });
    const reason = override
      ? `${override.state === 'DOWN' ? 'drained' : 'pinned UP'} by override (${override.source}): ${override.reason}`
      : tracker?.last
        ? `check ${t.checkName}: ${tracker.last.reason}`
        : undefined;
    return {
      health: eff.health,
      realHealth: real,
      since,
      overridden: eff.overridden,
      ...(override ? { override } : {}),
      ...(reason !== undefined ? { reason } : {}),
    };
  }

  /**
   * Applies a new config's probes. A probe whose key ("<check>@<address>")
   * and check settings are unchanged keeps running with its health; a key
   * whose settings changed starts a new probe that begins from the old
   * health; new keys start UNKNOWN. Overrides of targets that are gone are dropped.
   */
  reload(config: Config): ProbeChanges {
    const changes: ProbeChanges = { kept: [], added: [], changed: [], removed: [], overridesDropped: [] };
    const wanted = new Map<string, Target>();
    for (const rs of config.records) for (const t of rs.targets) if (!wanted.has(t.probeKey)) wanted.set(t.probeKey, t);
    for (const key of [...this.trackers.keys()]) {
      if (wanted.has(key)) continue;
      this.scheduler.remove(key);
      this.trackers.delete(key);
      this.checkHashes.delete(key);
      this.probedSinceStart.delete(key);
      changes.removed.push(key);
    }
    for (const [key, t] of wanted) {
      const old = this.trackers.get(key);
      if (!old) {
        this.addProbe(t);
        changes.added.push(key);
      } else if (this.checkHashes.get(key) !== checkHash(t.check)) {
        this.scheduler.remove(key);
        this.trackers.delete(key);
        this.addProbe(t, old.health === 'UNKNOWN' ? undefined : { health: old.health, since: old.since, check: checkHash(t.check) });
        changes.changed.push(key);
      } else changes.kept.push(key);
    }
    const ids = targetIds(config);
    for (const [id] of this.overrides.all()) {
      if (ids.has(id)) continue;
      this.overrides.drop(id);
      changes.overridesDropped.push(id);
    }
    for (const id of [...this.effective.keys()]) if (!ids.has(id)) this.effective.delete(id);
    return changes;
  }

  private addProbe(t: Target, restored?: SavedHealth): void {
    if (this.trackers.has(t.probeKey)) return;
    const hash = checkHash(t.check);
    const usable = restored && restored.check === hash && restored.health !== 'UNKNOWN';
    this.trackers.set(t.probeKey, new HealthTracker({ rise: t.check.rise, fall: t.check.fall }, usable ? restored.health : 'UNKNOWN', usable ? restored.since : this.opts.clock.now()));
    this.checkHashes.set(t.probeKey, hash);
    this.scheduler.add(t.probeKey, { address: t.address, check: t.check });
  }

  private onProbeResult(key: string, result: ProbeResult): { unsettled: boolean } {
    const tracker = this.trackers.get(key);
    if (!tracker || this.stopped) return { unsettled: false };
    this.probedSinceStart.add(key);
    for (const l of this.probeListeners) {
      try {
        l(key, result);
      } catch (err) {
        this.opts.logger.error({ err }, 'probe listener failed');
      }
    }
    const obs = tracker.observe(result);
    if (obs.changed) {
      this.opts.logger.info({ component: 'health', target: key, from: obs.from, to: obs.health, reason: result.reason, latencyMs: Math.round(result.latencyMs) }, 'target health changed');
      for (const l of this.healthListeners) l(key);
      this.after.healthChange?.(key);
    }
    this.after.result?.();
    return { unsettled: obs.unsettled };
  }

  private onOverride(e: OverrideEvent): void {
    const o = e.override;
    this.opts.logger.info(
      { component: 'overrides', action: e.action, target: e.targetId, state: o.state, reason: o.reason, source: o.source, expiresAt: o.expiresAt === undefined ? undefined : new Date(o.expiresAt).toISOString() },
      `override ${e.action}`,
    );
    for (const l of this.overrideListeners) {
      try {
        l(e);
      } catch (err) {
        this.opts.logger.error({ err }, 'override listener failed');
      }
    }
    if (!this.stopped) this.after.override?.(e.targetId);
  }
}

function targetIds(config: Config): Set<string> {
  return new Set(config.records.flatMap((r) => r.targets.map((t) => t.id)));
}

function probedHealth(t: HealthTracker): ProbedHealth {
  return { health: t.health, since: t.since, ...(t.last ? { reason: t.last.reason } : {}) };
}
