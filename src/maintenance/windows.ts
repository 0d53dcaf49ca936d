/**
 * Maintenance windows (cron expressions, timed by the Clock: src/cron.ts): at each `cron` time the window's targets
 * are drained (a DOWN override, source "maintenance:<name>", expiring after
 * `duration`), which shows in status, metrics and the log; when it expires
 * they are released. An operator override already on a target is left
 * alone. A restart during a window keeps the drain: it is a persisted
 * override with its expiry. A window removed from the config (or a target
 * removed from a window) releases its drain at the reload or start.
 *
 * A run fails when a target cannot be drained, or when the drain is not
 * made durable (the state file cannot be written; in a cluster, etcd refuses
 * it, and the drain is undone): the failure is logged, kept as the window's
 * last run (status), counted (metrics) until its next good run.
 */
import type { Clock } from '../clock.ts';
import { scheduleCron, type CronSchedule } from '../cron.ts';
import type { MaintenanceConfig } from '../config/types.ts';
import type { Controller } from '../controller.ts';
import { errorText, FailoverdError } from '../errors.ts';
import type { Logger } from '../log.ts';

/** How a run of a window went. */
export interface WindowRun {
  /** Epoch ms when it ran. */
  at: number;
  ok: boolean;
  /** Why it failed (a FailoverdError's code and message). */
  error?: { code: string; message: string };
}

export interface WindowStatus {
  name: string;
  cron: string;
  timezone?: string;
  duration: number;
  reason: string;
  targets: string[];
  active: boolean;
  /** Epoch ms when the current window ends. */
  until?: number;
  /** Epoch ms of the next start. */
  next?: number;
  /** The last run since this process started (none yet: undefined). */
  lastRun?: WindowRun;
  /** Runs that failed since this process started. */
  failedRuns: number;
}

/** Makes the overrides just set durable (the state file; in a cluster, etcd first): { ok: false } says what not having done it means. */
export type PersistOverrides = () => Promise<{ ok: true } | { ok: false; err: unknown; consequence: string }>;

export class MaintenanceWindows {
  private tasks: Array<{ cfg: MaintenanceConfig; schedule: CronSchedule }> = [];
  /** Window name → its runs (kept across reloads while the window is configured). */
  private readonly runs = new Map<string, { last?: WindowRun; failed: number }>();

  constructor(
    private readonly controller: () => Controller,
    private readonly log: Logger,
    private readonly clock: Clock,
    private readonly persist: PersistOverrides = async () => ({ ok: true }),
  ) {}

  /**
   * (Re)schedules every window, and releases the drains of windows that are
   * gone (or no longer name the target): removed by a reload, or from the
   * state file of a run whose config had them.
   */
  configure(windows: MaintenanceConfig[]): void {
    this.stop();
    this.tasks = windows.map((cfg) => ({
      cfg,
      schedule: scheduleCron(this.clock, cfg.cron, () => this.begin(cfg), {
        ...(cfg.timezone ? { timezone: cfg.timezone } : {}),
        onError: (err) => this.failed(cfg, this.clock.now(), err),
      }),
    }));
    const names = new Set(windows.map((w) => w.name));
    for (const name of this.runs.keys()) if (!names.has(name)) this.runs.delete(name);
    this.releaseOrphans(windows);
  }

  private releaseOrphans(windows: MaintenanceConfig[]): void {
    const c = this.controller();
    const targetsOf = new Map(windows.map((w) => [`maintenance:${w.name}`, new Set(w.targets)]));
    for (const [id, o] of c.overrides.all()) {
      if (!o.source.startsWith('maintenance:') || targetsOf.get(o.source)?.has(id)) continue;
      c.clearOverride(id);
      this.log.info({ window: o.source.slice('maintenance:'.length), target: id }, 'maintenance window no longer configured for this target: target released');
    }
  }

  /** Starts a window now (also what the cron does); a failure is recorded, logged and counted, never thrown. */
  async begin(cfg: MaintenanceConfig): Promise<void> {
    const at = this.clock.now();
    try {
      await this.drain(cfg, at);
      this.record(cfg.name, { at, ok: true });
    } catch (err) {
      this.failed(cfg, at, err);
    }
  }

  private async drain(cfg: MaintenanceConfig, at: number): Promise<void> {
    const c = this.controller();
    const source = `maintenance:${cfg.name}`;
    const expiresAt = at + cfg.duration;
    const drained: string[] = [];
    const skipped: string[] = [];
    const refused: string[] = [];
    for (const id of cfg.targets) {
      const existing = c.overrides.get(id);
      if (existing && existing.source !== source) {
        skipped.push(id);
        continue;
      }
      try {
        c.setOverride(id, { state: 'DOWN', reason: `maintenance ${cfg.name}: ${cfg.reason}`, expiresAt, source });
        drained.push(id);
      } catch (err) {
        refused.push(`${id} (${errorText(err)})`);
        this.log.warn({ window: cfg.name, target: id, err }, 'maintenance window: cannot drain target');
      }
    }
    this.log.info({ window: cfg.name, drained, skippedWithOperatorOverride: skipped, until: new Date(expiresAt).toISOString(), reason: cfg.reason }, 'maintenance window started');
    const saved = drained.length ? await this.persist() : ({ ok: true } as const);
    const problems = [
      ...(refused.length ? [`cannot drain ${refused.join(', ')}`] : []),
      ...(saved.ok ? [] : [`the drain of ${drained.join(', ')} ${saved.consequence} (${errorText(saved.err)})`]),
    ];
    if (problems.length) throw new FailoverdError('MAINTENANCE_RUN_FAILED', `maintenance window ${cfg.name}: ${problems.join('; ')}`, saved.ok ? {} : { cause: saved.err });
  }

  private failed(cfg: MaintenanceConfig, at: number, err: unknown): void {
    const code = err instanceof FailoverdError ? err.code : 'INTERNAL';
    const message = err instanceof Error ? err.message : errorText(err);
    this.record(cfg.name, { at, ok: false, error: { code, message } });
    this.log.error({ err, window: cfg.name, targets: cfg.targets }, 'maintenance window run failed: its targets may not be drained');
  }

  private record(name: string, run: WindowRun): void {
    const runs = this.runs.get(name) ?? { failed: 0 };
    runs.last = run;
    if (!run.ok) runs.failed++;
    this.runs.set(name, runs);
  }

  status(): WindowStatus[] {
    const c = this.controller();
    return this.tasks.map(({ cfg, schedule }) => {
      const source = `maintenance:${cfg.name}`;
      const until = cfg.targets.map((id) => c.overrides.get(id)).filter((o) => o?.source === source).map((o) => o!.expiresAt ?? 0);
      const next = schedule.next();
      const runs = this.runs.get(cfg.name);
      return {
        name: cfg.name,
        cron: cfg.cron,
        ...(cfg.timezone ? { timezone: cfg.timezone } : {}),
        duration: cfg.duration,
        reason: cfg.reason,
        targets: cfg.targets,
        active: until.length > 0,
        ...(until.length > 0 ? { until: Math.max(...until) } : {}),
        ...(next !== undefined ? { next } : {}),
        ...(runs?.last ? { lastRun: runs.last } : {}),
        failedRuns: runs?.failed ?? 0,
      };
    });
  }

  stop(): void {
    for (const { schedule } of this.tasks) schedule.stop();
    this.tasks = [];
  }
}
