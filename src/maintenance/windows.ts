/**
 * Maintenance windows (cron expressions, timed by the Clock: src/cron.ts): at each `cron` time the window's targets
 * are drained (a DOWN override, source "maintenance:<name>", expiring after
 * `duration`), which shows in status, metrics and the log; when it expires
 * they are released. An operator override already on a target is left
 * alone. A restart during a window keeps the drain: it is a persisted
 * override with its expiry. A window removed from the config (or a target
 * removed from a window) releases its drain at the reload or start.
 */
import type { Clock } from '../clock.ts';
import { scheduleCron, type CronSchedule } from '../cron.ts';
import type { MaintenanceConfig } from '../config/types.ts';
import type { Controller } from '../controller.ts';
import type { Logger } from '../log.ts';

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
}

export class MaintenanceWindows {
  private tasks: Array<{ cfg: MaintenanceConfig; schedule: CronSchedule }> = [];

  constructor(
    private readonly controller: () => Controller,
    private readonly log: Logger,
    private readonly clock: Clock,
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
        onError: (err) => this.log.error({ err, window: cfg.name }, 'maintenance window failed to start: its targets are not drained'),
      }),
    }));
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

  /** Starts a window now (also what the cron does). */
  begin(cfg: MaintenanceConfig): void {
    const c = this.controller();
    const source = `maintenance:${cfg.name}`;
    const expiresAt = this.clock.now() + cfg.duration;
    const drained: string[] = [];
    const skipped: string[] = [];
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
        skipped.push(id);
        this.log.warn({ window: cfg.name, target: id, err }, 'maintenance window: cannot drain target');
      }
    }
    this.log.info({ window: cfg.name, drained, skippedWithOperatorOverride: skipped, until: new Date(expiresAt).toISOString(), reason: cfg.reason }, 'maintenance window started');
  }

  status(): WindowStatus[] {
    const c = this.controller();
    return this.tasks.map(({ cfg, schedule }) => {
      const source = `maintenance:${cfg.name}`;
      const until = cfg.targets.map((id) => c.overrides.get(id)).filter((o) => o?.source === source).map((o) => o!.expiresAt ?? 0);
      const next = schedule.next();
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
      };
    });
  }

  stop(): void {
    for (const { schedule } of this.tasks) schedule.stop();
    this.tasks = [];
  }
}
