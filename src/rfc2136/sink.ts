/**
 * Rfc2136Sink: keeps existing authoritative servers (BIND, Knot, PowerDNS,
 * ...) in sync with failoverd's answers by RFC 2136 UPDATE signed with TSIG.
 * One ZoneTarget per zone and server it writes to: mode primary, the
 * zone's first server (which NOTIFYs its secondaries); mode all, each
 * server, tracked apart. It reads only decisions (as DesiredRecordSets).
 */
import type { Clock } from '../clock.ts';
import type { Rfc2136Config } from '../config/rfc2136.ts';
import type { Logger } from '../log.ts';
import type { DesiredRecordSet } from './model.ts';
import type { Rfc2136Plan } from './plan.ts';
import { ZoneTarget, type Rfc2136TargetMetrics, type Rfc2136TargetView, type TargetOptions } from './target.ts';

export type { Rfc2136TargetView, Rfc2136TargetMetrics, DesiredRecordSet };

export interface Rfc2136SinkOptions {
  config: Rfc2136Config;
  logger: Logger;
  clock: Clock;
  backoff?: TargetOptions['backoff'];
  random?: () => number;
  /** Awaited before each UPDATE; throws to refuse it (cluster mode: ClusterNode.assertLeader, fenced). */
  gate?: () => Promise<void>;
}

/** One target's plan, or why there is none (the server could not be read, or refused the UPDATE, or the guard refused the plan). */
export interface TargetOutcome {
  target: string;
  zone: string;
  plan?: Rfc2136Plan;
  /** An UPDATE was sent and answered NOERROR. */
  sent: boolean;
  error?: unknown;
}

/** The sink in /v1/status (key `rfc2136`; null when not configured). */
export interface Rfc2136StatusView {
  ownerId: string;
  dryRun: boolean;
  inSync: boolean;
  targets: Rfc2136TargetView[];
}

export class Rfc2136Sink {
  readonly targets: ZoneTarget[];
  private readonly config: Rfc2136Config;

  constructor(opts: Rfc2136SinkOptions) {
    this.config = opts.config;
    const clock = opts.clock;
    const logger = opts.logger.child({ component: 'rfc2136' });
    this.targets = opts.config.zones.flatMap((zone) =>
      (zone.mode === 'primary' ? zone.servers.slice(0, 1) : zone.servers).map(
        (server) => new ZoneTarget({ config: opts.config, zone, server, logger, clock, ...(opts.backoff ? { backoff: opts.backoff } : {}), ...(opts.random ? { random: opts.random } : {}), ...(opts.gate ? { gate: opts.gate } : {}) }),
      ),
    );
  }

  /** Non-blocking: publish this desired state as soon as possible (the latest always wins). */
  update(desired: DesiredRecordSet[]): void {
    for (const t of this.targets) t.update(desired);
  }

  start(): void {
    for (const t of this.targets) t.start();
  }

  async stop(): Promise<void> {
    await Promise.all(this.targets.map((t) => t.stop()));
  }

  async idle(): Promise<void> {
    await Promise.all(this.targets.map((t) => t.idle()));
  }

  reconcile(): Promise<void[]> {
    return Promise.all(this.targets.map((t) => t.reconcile()));
  }

  /** One plan per target, read fresh, nothing changed (the CLI's plan); a target that cannot be read has its error instead. */
  plan(opts: { force?: boolean; desired?: DesiredRecordSet[] } = {}): Promise<TargetOutcome[]> {
    return this.eachTarget(async (t, out) => {
      out.plan = await t.plan(opts);
    });
  }

  /**
   * Plans and applies once per target (the CLI's apply): one UPDATE each.
   * A plan the guard refuses is not sent (its error is PLAN_UNSAFE); a
   * server's refusal is the entry's error, beside the plan.
   */
  applyOnce(opts: { force?: boolean; desired?: DesiredRecordSet[] } = {}): Promise<TargetOutcome[]> {
    return this.eachTarget(async (t, out) => {
      out.plan = await t.plan(opts);
      out.sent = await t.applyPlan(out.plan);
    });
  }

  private eachTarget(run: (t: ZoneTarget, out: TargetOutcome) => Promise<void>): Promise<TargetOutcome[]> {
    return Promise.all(
      this.targets.map(async (t) => {
        const out: TargetOutcome = { target: t.label, zone: t.statusView().zone, sent: false };
        try {
          await run(t, out);
        } catch (error) {
          out.error = error;
        }
        return out;
      }),
    );
  }

  view(): Rfc2136StatusView {
    const targets = this.targets.map((t) => t.statusView());
    return { ownerId: this.config.ownerId, dryRun: this.config.dryRun, inSync: targets.every((t) => t.inSync), targets };
  }

  metricsView(): Rfc2136TargetMetrics[] {
    return this.targets.map((t) => t.metricsView());
  }
}
