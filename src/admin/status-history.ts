/**
 * What the status page shows beyond the current state: the last hour of each
 * probed target (real-health changes and probe results per minute) and the
 * recent override events. Fed by the controller's listeners; bounded in time
 * (one hour) and in count, whatever the probe rate.
 */
import type { Clock } from '../clock.ts';
import type { Health } from '../config/types.ts';
import type { Controller } from '../controller.ts';
import type { OverrideEvent } from '../health/overrides.ts';

/** How far back the strips reach. */
export const HISTORY_WINDOW_MS = 3_600_000;
/** One strip cell. */
export const STRIP_CELL_MS = 60_000;
/** Health changes kept per probed target (a flapping target keeps its last ones). */
const MAX_CHANGES_PER_PROBE = 240;
/** Override events kept for the timeline. */
export const OVERRIDE_EVENTS_KEPT = 200;

export interface HealthChange {
  at: number;
  from: Health;
  to: Health;
  reason: string;
}

export interface OverrideRecord {
  at: number;
  action: 'set' | 'cleared' | 'expired';
  target: string;
  state: 'UP' | 'DOWN';
  reason: string;
  source: string;
  expiresAt?: number;
}

/** One minute of a target's last hour. `health` is the worst real health seen in it (see SEVERITY); 'none' before the daemon ran. */
export interface StripCell {
  start: number;
  health: Health | 'none';
  ok: number;
  fail: number;
  /** An override held the target's effective health during part of the minute. */
  overridden: 'DOWN' | 'UP' | undefined;
}

/** What happened: the page pushes an update on each. */
export type HistoryEvent = 'probe' | 'health' | 'override' | 'answer';

interface ProbeLog {
  changes: HealthChange[];
  /** minute index (epoch ms / 60 000) → counts; only the last hour's minutes. */
  minutes: Map<number, { ok: number; fail: number }>;
}

/** Which health a minute shows when it saw several: DOWN over UP over UNKNOWN (the moments before a first verdict). */
const SEVERITY: Record<Health, number> = { UNKNOWN: 0, UP: 1, DOWN: 2 };

/** What a history listens to: the Controller's events and its probes' trackers. */
export type HistorySource = Pick<Controller, 'probeListeners' | 'healthListeners' | 'overrideListeners' | 'changeListeners' | 'tracker'>;

export class StatusHistory {
  readonly startedAt: number;
  private readonly probes = new Map<string, ProbeLog>();
  private readonly overrideLog: OverrideRecord[] = [];
  private readonly listeners = new Set<(e: HistoryEvent) => void>();

  constructor(private readonly clock: Clock) {
    this.startedAt = clock.now();
  }

  /** A history fed by `controller`'s listeners from now on. */
  static attach(controller: HistorySource, clock: Clock): StatusHistory {
    const h = new StatusHistory(clock);
    const before = new Map<string, Health>();
    controller.probeListeners.push((key, r) => {
      // Called before the result is observed: the health it may change from.
      before.set(key, controller.tracker(key)?.health ?? 'UNKNOWN');
      // A probe failed by a local error (out of descriptors, ...) gave no verdict on the target: not a failed probe.
      if (!r.local) h.probe(key, r.ok, r.at);
    });
    controller.healthListeners.push((key) => {
      const tr = controller.tracker(key);
      if (tr) h.healthChanged(key, { at: tr.since, from: before.get(key) ?? 'UNKNOWN', to: tr.health, reason: tr.last?.reason ?? '' });
    });
    controller.overrideListeners.push((e) => h.override(e));
    controller.changeListeners.push(() => h.emit('answer'));
    return h;
  }

  /** Calls `fn` after every recorded event; returns the unsubscribe function. */
  subscribe(fn: (e: HistoryEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  probe(key: string, ok: boolean, at: number): void {
    const log = this.log(key);
    const minute = Math.floor(at / STRIP_CELL_MS);
    let m = log.minutes.get(minute);
    if (!m) {
      m = { ok: 0, fail: 0 };
      log.minutes.set(minute, m);
      const oldest = Math.floor((at - HISTORY_WINDOW_MS) / STRIP_CELL_MS);
      for (const k of log.minutes.keys()) if (k < oldest) log.minutes.delete(k);
    }
    if (ok) m.ok++;
    else m.fail++;
    this.emit('probe');
  }

  healthChanged(key: string, change: HealthChange): void {
    const log = this.log(key);
    log.changes.push(change);
    // Keep the last change before the window: it says what the window starts with.
    const cutoff = this.clock.now() - HISTORY_WINDOW_MS;
    let drop = Math.max(0, log.changes.length - MAX_CHANGES_PER_PROBE);
    while (drop < log.changes.length - 1 && log.changes[drop + 1]!.at < cutoff) drop++;
    if (drop > 0) log.changes.splice(0, drop);
    this.emit('health');
  }

  override(e: OverrideEvent): void {
    const o = e.override;
    this.overrideLog.push({ at: e.action === 'set' ? o.createdAt : e.action === 'expired' && o.expiresAt !== undefined ? o.expiresAt : this.clock.now(), action: e.action, target: e.targetId, state: o.state, reason: o.reason, source: o.source, ...(o.expiresAt !== undefined ? { expiresAt: o.expiresAt } : {}) });
    if (this.overrideLog.length > OVERRIDE_EVENTS_KEPT) this.overrideLog.splice(0, this.overrideLog.length - OVERRIDE_EVENTS_KEPT);
    this.emit('override');
  }

  /** Override events, newest first. */
  overrides(limit = OVERRIDE_EVENTS_KEPT): OverrideRecord[] {
    return this.overrideLog.slice(-limit).reverse();
  }

  /**
   * The last hour of a target as 60 one-minute cells, oldest first: the worst
   * real health in each minute (from the recorded changes and `current`),
   * probe results, and whether an override of `targetId` covered it
   * (`currentOverride`: the one active now, also when restored at start).
   */
  strip(key: string, targetId: string, current: Health, currentOverride?: { state: 'UP' | 'DOWN'; createdAt: number }): StripCell[] {
    const now = this.clock.now();
    const lastMinute = Math.floor(now / STRIP_CELL_MS);
    const first = lastMinute - HISTORY_WINDOW_MS / STRIP_CELL_MS + 1;
    const log = this.probes.get(key);
    const changes = log?.changes ?? [];
    const spans = this.overrideSpans(targetId, now, currentOverride);
    const cells: StripCell[] = [];
    let ci = 0;
    let health: Health = changes.length ? changes[0]!.from : current;
    for (let minute = first; minute <= lastMinute; minute++) {
      const start = minute * STRIP_CELL_MS;
      const end = start + STRIP_CELL_MS;
      if (end <= this.startedAt) {
        cells.push({ start, health: 'none', ok: 0, fail: 0, overridden: undefined });
        continue;
      }
      while (ci < changes.length && changes[ci]!.at < start) health = changes[ci++]!.to;
      let worst = health;
      while (ci < changes.length && changes[ci]!.at < end) {
        health = changes[ci++]!.to;
        if (SEVERITY[health] > SEVERITY[worst]) worst = health;
      }
      const m = log?.minutes.get(minute);
      const span = spans.find((s) => s.from < end && s.to > start);
      cells.push({ start, health: worst, ok: m?.ok ?? 0, fail: m?.fail ?? 0, overridden: span?.state });
    }
    return cells;
  }

  /**
   * Time spent in each real health over the last hour (since the start when
   * more recent), and time drained (a DOWN override active), in ms: real
   * durations, where the strip's cells only say which minutes saw what.
   */
  totals(key: string, targetId: string, current: Health, currentOverride?: { state: 'UP' | 'DOWN'; createdAt: number }): { health: Record<Health, number>; drainedMs: number } {
    const now = this.clock.now();
    const from = Math.max(now - HISTORY_WINDOW_MS, this.startedAt);
    const changes = this.probes.get(key)?.changes ?? [];
    const health: Record<Health, number> = { UP: 0, DOWN: 0, UNKNOWN: 0 };
    let h: Health = changes.length ? changes[0]!.from : current;
    let t = from;
    for (const c of changes) {
      if (c.at > t) {
        health[h] += Math.min(c.at, now) - t;
        t = Math.min(c.at, now);
      }
      h = c.to;
    }
    health[h] += Math.max(0, now - t);
    let drainedMs = 0;
    for (const s of this.overrideSpans(targetId, now, currentOverride)) if (s.state === 'DOWN') drainedMs += Math.max(0, Math.min(s.to, now) - Math.max(s.from, from));
    return { health, drainedMs };
  }

  /** The periods in which an override of `targetId` was active, from the recorded events. */
  private overrideSpans(targetId: string, now: number, current?: { state: 'UP' | 'DOWN'; createdAt: number }): Array<{ from: number; to: number; state: 'UP' | 'DOWN' }> {
    const spans: Array<{ from: number; to: number; state: 'UP' | 'DOWN' }> = [];
    let open: { from: number; state: 'UP' | 'DOWN'; expiresAt?: number } | undefined;
    const close = (at: number) => {
      if (open) spans.push({ from: open.from, to: Math.min(at, open.expiresAt ?? Infinity), state: open.state });
      open = undefined;
    };
    for (const e of this.overrideLog) {
      if (e.target !== targetId) continue;
      close(e.at);
      if (e.action === 'set') open = { from: e.at, state: e.state, ...(e.expiresAt !== undefined ? { expiresAt: e.expiresAt } : {}) };
    }
    if (!open && current) open = { from: current.createdAt, state: current.state };
    close(now);
    return spans;
  }

  private log(key: string): ProbeLog {
    let log = this.probes.get(key);
    if (!log) {
      log = { changes: [], minutes: new Map() };
      this.probes.set(key, log);
    }
    return log;
  }

  private emit(e: HistoryEvent): void {
    for (const fn of this.listeners) fn(e);
  }
}
