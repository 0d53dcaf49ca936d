/**
 * Route53Sink: keeps Route 53 in sync with failoverd's desired record sets.
 *
 *  - update(desired) never blocks. Updates that arrive while a change is in
 *    flight are coalesced: the next cycle publishes the latest desired state.
 *  - A transition (only values or health changed) reads and plans only the
 *    names that changed; a config change, a failure or the reconcile schedule
 *    re-reads the whole zone and this owner's health checks (drift repair:
 *    every change to a record set believed published is logged as drift).
 *  - While Route 53 is unreachable the desired state is retried until it
 *    lands, with capped exponential backoff (forever, at a bounded rate);
 *    status() shows it pending.
 *  - start() and stop() bound the sink to a leader's term (leader-duties.ts):
 *    stop() cancels every timer, refuses every later request, cuts the
 *    requests in flight and resolves once the sink makes no more; start()
 *    begins again with a full read. With `gate`, leadership is proven before
 *    the zone is read and again before a change is sent.
 */
import type { Clock, TimerHandle } from '../clock.ts';
import { FailoverdError } from '../errors.ts';
import { RateLimitedLog, type Logger } from '../log.ts';
import { applyPlan, waitInsync, type ApplyResult, type RejectedGroup } from './apply.ts';
import type { Route53Config } from '../config/route53.ts';
import { fingerprint, recordKey, shapeFingerprint, type DesiredRecordSet } from './desired.ts';
import { guardPort, type RequestStats } from './guarded-port.ts';
import { describeGeoLocation, markerName } from './model.ts';
import { computePlan, formatPlan, planIsEmpty, tagRecordKey, type OwnedHealthCheck, type Plan, type Refusal } from './plan.ts';
import type { Route53Port } from './port.ts';
import { TokenBucket } from './rate-limit.ts';
import { readNames, readOwnedHealthChecks, readZone } from './read.ts';
import type { RetryOptions } from './retry.ts';
import { LazySdkRoute53Port } from './lazy-sdk-port.ts';
import { backoffDelay } from '../backoff.ts';
import { scheduleCron, type CronSchedule } from '../cron.ts';

export interface Route53SinkOptions {
  config: Route53Config;
  logger: Logger;
  /** A raw port (no limits of its own); the sink wraps it with its token bucket and retries. Default: the SDK. */
  port?: Route53Port;
  clock: Clock;
  /** Only for tests and emulators; otherwise the SDK's default provider chain. */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Per-request retries (see retry.ts). */
  retry?: Omit<RetryOptions, 'clock'>;
  /** Backoff between attempts to land the whole desired state (default 1 s … 60 s). */
  backoff?: { minMs: number; maxMs: number };
  /** GetChange polling (default 1 s doubling to 10 s, bounded by config.insyncTimeout). */
  insyncPoll?: { pollMs: number; maxPollMs: number };
  random?: () => number;
  /**
   * Awaited before each cycle reads Route 53 and again before it sends a
   * change; throws to refuse them. Cluster mode: a write to etcd fenced by
   * the leader key, so an instance that is no longer the leader reads and
   * applies nothing.
   */
  gate?: () => Promise<void>;
  /**
   * Checked without a request right before each request leaves (after the
   * token bucket): false refuses it with CLUSTER_NOT_LEADER. The gate is an
   * await; a process paused past its lease resumes after it and must not
   * send what it planned as leader.
   */
  holdsLead?: () => boolean;
  /** update() only records the desired state until start() (a leader duty): nothing is read or sent before. */
  waitForStart?: boolean;
}

export interface Route53SinkStatus {
  mode: 'records' | 'failover';
  dryRun: boolean;
  /** The latest desired state is not (known to be) published yet. */
  pending: boolean;
  inFlight: boolean;
  lastAppliedAt?: string;
  lastError?: { code: string; message: string; at: string };
  consecutiveFailures: number;
  nextRetryAt?: string;
  /** From the update() carrying a change to Route 53 accepting it. */
  lastSubmitMs?: number;
  /** From submission to INSYNC, for the last change polled. */
  lastInsyncMs?: number;
  lastPlan?: { scope: 'full' | 'partial'; changes: number; healthChecks: number; refused: number; skipped: number; guardBlocked: boolean };
  refused: Refusal[];
  rejected: RejectedGroup[];
  requests: number;
  retries: number;
}

/** The Route 53 sink in /v1/status (key `route53`; null when Route 53 is not configured). */
export interface Route53StatusView {
  mode: 'records' | 'failover';
  /** Everything failoverd wants is known to be in Route 53. */
  inSync: boolean;
  /** Record sets whose desired state is not (known to be) in Route 53 yet. */
  pendingChanges: number;
  lastAppliedAt: string | null;
  lastError: null | { code: string; message: string; at: string };
  healthChecksOwned: number;
}

export interface Route53MetricsView {
  view: Route53StatusView;
  /** Record changes submitted, by outcome. */
  changes: Record<'applied' | 'rejected' | 'failed', number>;
  /** Failed attempts by error code. */
  errors: Map<string, number>;
  /** 0 while in sync; else since the last moment in sync (or since start). */
  secondsSinceInSync: number;
}

export class Route53Sink {
  private readonly cfg: Route53Config;
  private readonly log: Logger;
  private readonly warnOnce: RateLimitedLog;
  private readonly clock: Clock;
  private port: Route53Port;
  private readonly ownPort?: LazySdkRoute53Port;
  private readonly rawPort: Route53Port;
  private readonly bucket: TokenBucket;
  private readonly retry: Omit<RetryOptions, 'clock'> | undefined;
  /** Aborted by stop(): the port of a term refuses every request after it. */
  private term = new AbortController();
  private readonly stats: RequestStats = { requests: 0, retries: 0 };
  private readonly backoff: { minMs: number; maxMs: number };
  private readonly random: () => number;
  private readonly insyncPoll: { pollMs: number; maxPollMs: number };

  private desired: DesiredRecordSet[] | undefined;
  private desiredAt = 0;
  /** Fingerprint of what we believe Route 53 holds, per record key. */
  private published = new Map<string, string>();
  private shapes = new Map<string, string>();
  private healthChecks: OwnedHealthCheck[] | undefined;
  private needFull = true;
  private again = false;
  private running: Promise<void> | undefined;
  private retryTimer: TimerHandle | undefined;
  private nextRetryAt: number | undefined;
  private cron: CronSchedule | undefined;
  private stopped: boolean;
  private background = new Set<Promise<void>>();

  private pendingFlag = false;
  private failures = 0;
  private lastAppliedAt?: number;
  private lastError?: { code: string; message: string; at: number };
  private lastSubmitMs?: number;
  private lastInsyncMs?: number;
  private lastPlan?: Plan;
  private lastRejected: RejectedGroup[] = [];
  /** For metrics: record changes by outcome (applied, rejected, failed), errors by code, last time in sync. */
  private readonly changeCounts = { applied: 0, rejected: 0, failed: 0 };
  private readonly errorCounts = new Map<string, number>();
  private lastInSyncAt?: number;
  private readonly createdAt: number;
  private readonly gate: (() => Promise<void>) | undefined;
  private readonly holdsLead: () => boolean;

  constructor(opts: Route53SinkOptions) {
    this.cfg = opts.config;
    this.gate = opts.gate;
    this.holdsLead = opts.holdsLead ?? (() => true);
    this.stopped = opts.waitForStart ?? false;
    this.log = opts.logger.child({ component: 'route53', zone: opts.config.zone, hostedZoneId: opts.config.hostedZoneId });
    this.warnOnce = new RateLimitedLog(this.log, 30_000);
    this.clock = opts.clock;
    this.createdAt = this.clock.now();
    this.random = opts.random ?? Math.random;
    this.backoff = opts.backoff ?? { minMs: 1000, maxMs: 60_000 };
    this.insyncPoll = opts.insyncPoll ?? { pollMs: 1000, maxPollMs: 10_000 };
    let raw = opts.port;
    if (!raw) {
      this.ownPort = new LazySdkRoute53Port({
        region: opts.config.region,
        ...(opts.config.endpoint ? { endpoint: opts.config.endpoint } : {}),
        ...(opts.credentials ? { credentials: opts.credentials } : {}),
        // Checked again after the SDK's own awaits (signing), right before the request leaves: see stoppablePort.
        beforeSend: (op) => {
          const refusal = this.refusal(this.term.signal, op);
          if (refusal) throw refusal;
        },
      });
      raw = this.ownPort;
    }
    this.rawPort = raw;
    this.retry = opts.retry;
    this.bucket = new TokenBucket(opts.config.maxRequestsPerSecond, this.clock);
    this.port = this.termPort(this.term.signal);
  }

  /** Why a request of the term of `signal` must not be sent now, if it must not. */
  private refusal(signal: AbortSignal, op: string): FailoverdError | undefined {
    if (signal.aborted) return new FailoverdError('ROUTE53_STOPPED', `the Route 53 sink is stopped: ${op} not sent`);
    if (!this.holdsLead()) return new FailoverdError('CLUSTER_NOT_LEADER', `this instance does not hold the cluster's lead (its lease is not confirmed within a TTL): ${op} not sent`);
    return undefined;
  }

  /** The port of one term: rate-limited and retried, and refusing every request once `signal` is aborted or the lead is not held. */
  private termPort(signal: AbortSignal): Route53Port {
    return guardPort(
      stoppablePort(this.rawPort, (op) => this.refusal(signal, op)),
      this.bucket,
      {
        clock: this.clock,
        random: this.random,
        ...this.retry,
        signal,
        onRetry: (i) => {
          this.warnOnce.warn(`retry:${i.op}`, { op: i.op, attempt: i.attempt, delayMs: i.delayMs, err: (i.error as Error)?.message }, 'route53 request failed; retrying', this.clock.now());
          this.retry?.onRetry?.(i);
        },
      },
      this.stats,
    );
  }

  /** Non-blocking: publish this desired state as soon as possible (the latest always wins). */
  update(desired: DesiredRecordSet[]): void {
    const zone = this.cfg.zone;
    this.desired = desired.filter((d) => d.name === zone || d.name.endsWith('.' + zone));
    this.desiredAt = this.clock.now();
    this.kick();
  }

  /**
   * Starts the reconcile schedule and runs a first full reconcile. After
   * stop(): starts again as new (a full read; what another leader wrote
   * meanwhile is not taken for drift).
   */
  start(): void {
    if (this.cron) return;
    if (this.stopped) {
      this.stopped = false;
      if (this.term.signal.aborted) {
        this.term = new AbortController();
        this.port = this.termPort(this.term.signal);
      }
      this.published = new Map();
      this.shapes = new Map();
      this.needFull = true;
      this.failures = 0;
    }
    this.cron = scheduleCron(this.clock, this.cfg.reconcile, () => this.reconcile(), { onError: (err) => this.log.error({ err }, 'route53 reconcile failed to run') });
    if (this.desired) this.reconcile().catch(() => undefined);
  }

  /** Re-reads the whole zone and repairs any drift; resolves when the cycle is done. */
  reconcile(): Promise<void> {
    this.needFull = true;
    this.kick();
    return this.running ?? Promise.resolve();
  }

  /** Resolves when nothing is in flight (for tests and the CLI). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  /**
   * Stops: no timer, no schedule, and no request begins after this is
   * called; requests in flight are cut (their connections closed). Resolves
   * once the sink makes no more requests. start() may follow.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    this.term.abort();
    this.retryTimer?.cancel();
    this.retryTimer = undefined;
    if (this.cron) {
      this.cron.stop();
      this.cron = undefined;
    }
    this.ownPort?.destroy();
    const bounded = (p: Promise<unknown>) => Promise.race([p.catch(() => undefined), new Promise((r) => this.clock.setTimer(15_000, () => r(undefined)))]);
    if (this.running) await bounded(this.running);
    await bounded(Promise.all([...this.background]));
  }

  /** The sink as /v1/status, `failoverd status` and the metrics show it. */
  view(): Route53StatusView {
    const pendingChanges = this.desired ? this.changedKeys(this.desired).size : 0;
    return {
      mode: this.cfg.mode,
      inSync: !!this.desired && !this.pendingFlag && pendingChanges === 0,
      pendingChanges,
      lastAppliedAt: this.lastAppliedAt === undefined ? null : new Date(this.lastAppliedAt).toISOString(),
      lastError: this.lastError ? { code: this.lastError.code, message: this.lastError.message, at: new Date(this.lastError.at).toISOString() } : null,
      healthChecksOwned: this.healthChecks?.length ?? 0,
    };
  }

  /** Counters and gauges for failoverd_route53_* metrics. */
  metricsView(): Route53MetricsView {
    const view = this.view();
    const since = view.inSync ? 0 : (this.clock.now() - (this.lastInSyncAt ?? this.createdAt)) / 1000;
    return { view, changes: { ...this.changeCounts }, errors: new Map(this.errorCounts), secondsSinceInSync: since };
  }

  status(): Route53SinkStatus {
    const s: Route53SinkStatus = {
      mode: this.cfg.mode,
      dryRun: this.cfg.dryRun,
      pending: this.pendingFlag || (!!this.desired && this.changedKeys(this.desired).size > 0),
      inFlight: !!this.running,
      consecutiveFailures: this.failures,
      refused: this.lastPlan?.refused ?? [],
      rejected: this.lastRejected,
      requests: this.stats.requests,
      retries: this.stats.retries,
    };
    if (this.lastAppliedAt !== undefined) s.lastAppliedAt = new Date(this.lastAppliedAt).toISOString();
    if (this.lastError) s.lastError = { code: this.lastError.code, message: this.lastError.message, at: new Date(this.lastError.at).toISOString() };
    if (this.nextRetryAt !== undefined) s.nextRetryAt = new Date(this.nextRetryAt).toISOString();
    if (this.lastSubmitMs !== undefined) s.lastSubmitMs = this.lastSubmitMs;
    if (this.lastInsyncMs !== undefined) s.lastInsyncMs = this.lastInsyncMs;
    if (this.lastPlan)
      s.lastPlan = {
        scope: this.lastPlan.scope,
        changes: this.lastPlan.changes.length,
        healthChecks: this.lastPlan.healthChecks.length,
        refused: this.lastPlan.refused.length,
        skipped: this.lastPlan.skipped.length,
        guardBlocked: this.lastPlan.guard.blocked,
      };
    return s;
  }

  /** A full plan for `desired` (default: the last update) without changing anything. */
  async plan(opts: { force?: boolean; desired?: DesiredRecordSet[] } = {}): Promise<Plan> {
    const desired = opts.desired ?? this.desired ?? [];
    return this.buildPlan(desired, 'full', !!opts.force);
  }

  /** Plan and apply once, waiting for INSYNC (the `apply` command). Throws PLAN_UNSAFE when the guard refuses. */
  async applyOnce(opts: { force?: boolean; desired?: DesiredRecordSet[] } = {}): Promise<{ plan: Plan; result: ApplyResult }> {
    const plan = await this.plan(opts);
    const result = await applyPlan(plan, this.port, {
      clock: this.clock,
      logger: this.log,
      waitInsync: true,
      insyncTimeoutMs: this.cfg.insyncTimeout,
      ...this.insyncPoll,
    });
    return { plan, result };
  }

  // ---- the loop ----

  private kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.retryTimer) return; // backing off: the timer will run the latest desired state
    this.running = this.loop().finally(() => {
      this.running = undefined;
    });
  }

  private changedKeys(desired: DesiredRecordSet[]): Set<string> {
    const changed = new Set<string>();
    for (const d of desired) if (this.published.get(recordKey(d)) !== fingerprint(d)) changed.add(recordKey(d));
    return changed;
  }

  private shapeChanged(desired: DesiredRecordSet[]): boolean {
    if (desired.length !== this.shapes.size) return true;
    return desired.some((d) => this.shapes.get(recordKey(d)) !== shapeFingerprint(d));
  }

  private async loop(): Promise<void> {
    do {
      this.again = false;
      const desired = this.desired;
      if (!desired) return;
      const receivedAt = this.desiredAt;
      const full = this.needFull || this.shapeChanged(desired) || !this.healthChecks;
      const changed = this.changedKeys(desired);
      if (!full && changed.size === 0) {
        this.pendingFlag = false;
        this.lastInSyncAt = this.clock.now();
        continue;
      }
      this.pendingFlag = true;
      const believed = new Map(this.published);
      let planned = 0;
      try {
        await this.gate?.(); // before the first request: an instance that does not lead reads nothing either
        const names = [...new Set([...changed].map((k) => desired.find((d) => recordKey(d) === k)!.name))];
        const plan = await this.buildPlan(desired, full ? 'full' : names, false);
        this.lastPlan = plan;
        planned = plan.changes.length;
        if (full) this.needFull = false;
        this.logPlanFindings(plan, believed, desired);
        if (plan.guard.blocked) {
          throw new FailoverdError('PLAN_UNSAFE', `Route 53 plan refused by the guard: ${plan.guard.reason}`);
        }
        if (this.cfg.dryRun) {
          if (!planIsEmpty(plan)) this.log.info({ plan: summarize(plan) }, 'route53 dry run: plan not applied');
          this.markPublished(desired, new Set());
          this.pendingFlag = false;
          this.succeeded();
          continue;
        }
        if (!planIsEmpty(plan)) await this.gate?.();
        let firstSubmit: number | undefined;
        const result = await applyPlan(plan, this.port, {
          clock: this.clock,
          logger: this.log,
          waitInsync: false,
          insyncTimeoutMs: this.cfg.insyncTimeout,
          ...this.insyncPoll,
          onSubmitted: (at) => {
            firstSubmit ??= at;
          },
        });
        if (firstSubmit !== undefined) {
          this.lastSubmitMs = firstSubmit - receivedAt;
          this.log.info({ submitMs: this.lastSubmitMs, changes: plan.changes.length, healthChecks: plan.healthChecks.length }, 'route53 changes submitted');
        }
        this.noteHealthChecks(result);
        this.lastRejected = result.rejected;
        const rejectedGroups = new Set(result.rejected.map((r) => r.group));
        this.markPublished(desired, rejectedGroups);
        if (result.rejected.length || result.healthChecks.failed.length) this.needFull = true; // retried at the next reconcile, not in a hot loop
        this.pollInsync(result);
        this.pendingFlag = result.rejected.length > 0;
        const rejected = plan.changes.filter((c) => rejectedGroups.has(c.group)).length;
        this.changeCounts.rejected += rejected;
        this.changeCounts.applied += plan.changes.length - rejected;
        this.succeeded();
      } catch (err) {
        if (this.stopped) return; // stop() cut this cycle: not a failure, nothing to retry
        this.changeCounts.failed += planned;
        this.failed(err);
        return;
      }
    } while (this.again && !this.stopped);
  }

  private succeeded(): void {
    this.failures = 0;
    this.lastAppliedAt = this.clock.now();
    this.lastError = undefined;
    this.nextRetryAt = undefined;
    if (!this.pendingFlag) this.lastInSyncAt = this.lastAppliedAt;
  }

  private failed(err: unknown): void {
    this.failures++;
    this.needFull = true;
    const code = err instanceof FailoverdError ? err.code : 'INTERNAL';
    const message = err instanceof Error ? err.message : String(err);
    this.lastError = { code, message, at: this.clock.now() };
    this.errorCounts.set(code, (this.errorCounts.get(code) ?? 0) + 1);
    if (code === 'PLAN_UNSAFE') {
      // Needs an operator (`failoverd apply --force`) or a config fix; retried at the next reconcile or update.
      this.log.error({ code, err }, 'route53 plan refused; nothing applied');
      return;
    }
    const delay = backoffDelay(this.failures, { baseMs: this.backoff.minMs, maxDelayMs: this.backoff.maxMs, random: this.random });
    this.nextRetryAt = this.clock.now() + delay;
    this.warnOnce.warn('apply-failed', { code, err, failures: this.failures, retryInMs: delay }, 'route53 unreachable or failing; desired state kept pending and retried', this.clock.now());
    this.retryTimer = this.clock.setTimer(delay, () => {
      this.retryTimer = undefined;
      this.nextRetryAt = undefined;
      this.kick();
    });
  }

  private markPublished(desired: DesiredRecordSet[], rejectedGroups: Set<string>): void {
    const next = new Map<string, string>();
    this.shapes = new Map(desired.map((d) => [recordKey(d), shapeFingerprint(d)]));
    for (const d of desired) if (!rejectedGroups.has(d.name)) next.set(recordKey(d), fingerprint(d));
    this.published = next;
  }

  private logPlanFindings(plan: Plan, believed: Map<string, string>, desired: DesiredRecordSet[]): void {
    const byKey = new Map(desired.map((d) => [recordKey(d), d]));
    if (plan.scope === 'full') {
      for (const c of plan.changes) {
        const key = recordKey(c.recordSet);
        const d = byKey.get(key);
        if (d && believed.get(key) === fingerprint(d))
          this.log.warn({ drift: true, action: c.action, name: c.recordSet.name, type: c.recordSet.type, failover: c.recordSet.failover, values: c.recordSet.values, why: c.why }, 'route53 drift repaired');
      }
      for (const h of plan.healthChecks) {
        const key = h.record ? tagRecordKey(h.record) : undefined;
        const d = key ? byKey.get(key) : undefined;
        if (h.action === 'UPDATE' && d && believed.get(key!) === fingerprint(d))
          this.log.warn({ drift: true, healthCheckId: h.ref, record: h.record, inverted: h.inverted }, 'route53 health check drift repaired');
      }
    }
    for (const r of plan.refused) this.warnOnce.warn(`refused:${r.name}/${r.type}`, { name: r.name, type: r.type, reason: r.reason }, 'route53 record set refused', this.clock.now());
    for (const s of plan.skipped) this.warnOnce.warn(`skipped:${s.record}`, { record: s.record, reason: s.reason }, 'route53 record set left unchanged', this.clock.now());
  }

  private async buildPlan(desired: DesiredRecordSet[], scope: 'full' | string[], force: boolean): Promise<Plan> {
    const zoneId = this.cfg.hostedZoneId;
    let current;
    let healthChecks: OwnedHealthCheck[];
    if (scope === 'full') {
      current = await readZone(this.port, zoneId);
      healthChecks = await readOwnedHealthChecks(this.port, this.cfg.ownerId);
      this.healthChecks = healthChecks;
    } else {
      current = await readNames(this.port, zoneId, scope.flatMap((n) => [n, markerName(n)]));
      healthChecks = this.healthChecks ?? [];
    }
    return computePlan({
      zoneId,
      zone: this.cfg.zone,
      ownerId: this.cfg.ownerId,
      mode: this.cfg.mode,
      desired,
      current,
      healthChecks,
      scope: scope === 'full' ? 'full' : { names: scope },
      adopt: this.cfg.adopt,
      force,
      guard: this.cfg.guard,
    });
  }

  private noteHealthChecks(r: ApplyResult): void {
    if (!this.healthChecks) return;
    const deleted = new Set(r.healthChecks.deleted);
    const hcs = this.healthChecks.filter((h) => !deleted.has(h.id));
    for (const u of r.healthChecks.updated) {
      const h = hcs.find((x) => x.id === u.id);
      if (h) {
        h.inverted = u.inverted;
        h.disabled = true;
      }
    }
    for (const c of r.healthChecks.created) {
      const plan = this.lastPlan?.healthChecks.find((h) => h.action === 'CREATE' && h.record === c.record);
      hcs.push({ id: c.id, record: c.record, inverted: !!plan?.inverted, disabled: plan?.disabled ?? true });
    }
    this.healthChecks = hcs;
  }

  private pollInsync(r: ApplyResult): void {
    const pending = r.submitted.filter((s) => s.status === 'PENDING');
    if (!pending.length) {
      const last = r.submitted.at(-1);
      if (last?.insyncMs !== undefined) this.lastInsyncMs = last.insyncMs;
      return;
    }
    const p = waitInsync(this.port, pending, {
      clock: this.clock,
      timeoutMs: this.cfg.insyncTimeout,
      ...this.insyncPoll,
      log: this.log,
      cancelled: () => this.stopped,
    })
      .then(() => {
        const done = pending.filter((s) => s.insyncMs !== undefined).at(-1);
        if (done) this.lastInsyncMs = done.insyncMs;
      })
      .catch((err) => this.log.warn({ err: (err as Error).message }, 'route53 GetChange polling failed'))
      .finally(() => this.background.delete(p));
    this.background.add(p);
  }
}

export function summarize(plan: Plan): unknown {
  return {
    scope: plan.scope,
    changes: plan.changes.map((c) => ({ action: c.action, name: c.recordSet.name, type: c.recordSet.type, failover: c.recordSet.failover, ...(c.recordSet.geoLocation ? { geo: describeGeoLocation(c.recordSet.geoLocation) } : {}), values: c.recordSet.values, why: c.why })),
    healthChecks: plan.healthChecks,
    refused: plan.refused,
    guard: plan.guard,
  };
}

export { formatPlan };

/**
 * `inner`, refusing every request `refusal` names an error for (ROUTE53_STOPPED once the term's signal is aborted,
 * CLUSTER_NOT_LEADER once the lead is not held), never retried. The sink's own SDK port checks the same again as the
 * last step before a request leaves (SdkPortOptions.beforeSend), after the awaits of signing.
 */
function stoppablePort(inner: Route53Port, refusal: (op: string) => FailoverdError | undefined): Route53Port {
  const out = {} as Record<keyof Route53Port, unknown>;
  for (const op of Object.keys(PORT_OPS) as Array<keyof Route53Port>) {
    out[op] = (...args: unknown[]) => {
      const refused = refusal(op);
      if (refused) return Promise.reject(refused);
      return (inner[op] as (...a: unknown[]) => Promise<unknown>)(...args);
    };
  }
  return out as unknown as Route53Port;
}

const PORT_OPS: Record<keyof Route53Port, true> = {
  listRecordSets: true,
  changeRecordSets: true,
  getChange: true,
  listHealthChecks: true,
  createHealthCheck: true,
  updateHealthCheck: true,
  deleteHealthCheck: true,
  listHealthCheckTags: true,
  addHealthCheckTags: true,
};
