/**
 * One zone on one server (mode primary: the zone's first server; mode all:
 * each server of the zone): keeps it in sync with the desired record sets.
 *
 *  - update(desired) never blocks; changes that arrive while an UPDATE is in
 *    flight are coalesced: the next cycle sends the latest desired state.
 *  - A transition is planned against what failoverd last read or wrote (no
 *    read first: the UPDATE's prerequisites guard it), so it is one UPDATE
 *    round trip. The first cycle, a failure, and the reconcile timer read
 *    the server back first (SOA serial; IXFR/AXFR only when it moved).
 *  - Every failure (no answer, REFUSED, NOTAUTH, BADSIG, BADKEY, BADTIME,
 *    YXRRSET, NXRRSET, NXDOMAIN, ...) is kept with its RCODE and retried
 *    with the shared backoff (backoff.ts) after a fresh read.
 */
import { randomInt } from 'node:crypto';
import { backoffDelay } from '../backoff.ts';
import type { Clock, TimerHandle } from '../clock.ts';
import type { Rfc2136Config, Rfc2136ZoneConfig } from '../config/rfc2136.ts';
import { encodeUpdate } from '../dns/wire/update.ts';
import { FailoverdError } from '../errors.ts';
import { RateLimitedLog, type Logger } from '../log.ts';
import { exchange, serverLabel, type ServerAddress } from './dns-client.ts';
import { rcodeError, Rfc2136Error } from './errors.ts';
import { ServerView, type DesiredRecordSet } from './model.ts';
import { applyToView, computePlan, planIsEmpty, type Refusal, type Rfc2136Plan } from './plan.ts';
import { readBack, readOwnedElsewhere, type ReadKind } from './read.ts';

export interface TargetOptions {
  config: Rfc2136Config;
  zone: Rfc2136ZoneConfig;
  server: ServerAddress;
  logger: Logger;
  clock: Clock;
  /** Between attempts after a failure (default 500 ms doubling to 30 s). */
  backoff?: { baseMs: number; maxDelayMs: number };
  random?: () => number;
  /** Awaited before each UPDATE; throws to refuse it (cluster mode: the leader's fenced check). */
  gate?: () => Promise<void>;
}

/** One zone on one server in /v1/status and `failoverd status`. */
export interface Rfc2136TargetView {
  zone: string;
  server: string;
  mode: 'primary' | 'all';
  /** Everything failoverd wants is known to be on the server. */
  inSync: boolean;
  /** Record sets whose desired state is not (known to be) on the server. */
  pendingChanges: number;
  /** The serial last read back. */
  serial: number | null;
  lastAppliedAt: string | null;
  /** The RCODE of the last UPDATE answer (or TSIG error, TIMEOUT), NOERROR when it landed. */
  lastRcode: string | null;
  lastError: null | { code: string; rcode: string; message: string; at: string };
  consecutiveFailures: number;
  nextRetryAt: string | null;
  /** Record sets not published, and why (edited by hand, not marked, another owner's). */
  refused: Refusal[];
}

export interface Rfc2136TargetMetrics {
  view: Rfc2136TargetView;
  /** UPDATE messages by answer RCODE. */
  updates: Map<string, number>;
  /** Read-backs by kind (soa, ixfr, axfr). */
  reads: Map<ReadKind, number>;
  secondsSinceInSync: number;
}

export class ZoneTarget {
  readonly label: string;
  private readonly log: Logger;
  private readonly warnOnce: RateLimitedLog;
  private readonly clock: Clock;
  private readonly view: ServerView;
  private readonly random: () => number;
  private readonly backoff: { baseMs: number; maxDelayMs: number };
  private desired: DesiredRecordSet[] | undefined;
  private needRead = true;
  private again = false;
  private running: Promise<void> | undefined;
  private retryTimer: TimerHandle | undefined;
  private reconcileTimer: TimerHandle | undefined;
  private nextRetryAt: number | undefined;
  /** Between start() and stop(): a leader duty in cluster mode, so it may start again after a stop. */
  private started = false;

  private failures = 0;
  private lastAppliedAt?: number;
  private lastRcode?: string;
  private lastError?: { code: string; rcode: string; message: string; at: number };
  private lastPlan?: Rfc2136Plan;
  private lastInSyncAt?: number;
  private readonly createdAt: number;
  private readonly updateCounts = new Map<string, number>();
  private readonly readCounts = new Map<ReadKind, number>();

  constructor(private readonly o: TargetOptions) {
    this.label = serverLabel(o.server);
    this.clock = o.clock;
    this.createdAt = this.clock.now();
    this.random = o.random ?? Math.random;
    this.backoff = o.backoff ?? { baseMs: 500, maxDelayMs: 30_000 };
    this.log = o.logger.child({ zone: o.zone.zone, server: this.label });
    this.warnOnce = new RateLimitedLog(this.log, 30_000, this.clock);
    this.view = new ServerView(new Set(o.zone.records));
  }

  /** Recorded always; sent only while started. */
  update(desired: DesiredRecordSet[]): void {
    const names = new Set(this.o.zone.records);
    this.desired = desired.filter((d) => names.has(d.name));
    if (this.started) this.kick();
  }

  /** Reads the server and publishes; then re-reads every `reconcile`. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.needRead = true;
    this.scheduleReconcile();
    this.kick();
  }

  /** Reads the server back and repairs drift; resolves when that cycle is done. */
  reconcile(): Promise<void> {
    this.needRead = true;
    this.kick();
    return this.running ?? Promise.resolve();
  }

  async idle(): Promise<void> {
    for (let i = 0; i < 100 && this.running; i++) await this.running;
  }

  /** Stops sending and reading; resolves once no request is in flight and no timer is left (start() may follow). */
  async stop(): Promise<void> {
    this.started = false;
    this.retryTimer?.cancel();
    this.retryTimer = undefined;
    this.nextRetryAt = undefined;
    this.reconcileTimer?.cancel();
    this.reconcileTimer = undefined;
    if (this.running) await this.running.catch(() => undefined);
  }

  /** A plan against what the server holds now (read first), without changing anything. */
  async plan(opts: { force?: boolean; desired?: DesiredRecordSet[] } = {}): Promise<Rfc2136Plan> {
    await this.read();
    const names = new Set(this.o.zone.records);
    return this.planFor((opts.desired ?? this.desired ?? []).filter((d) => names.has(d.name)), !!opts.force);
  }

  /**
   * Sends a plan from plan() as one UPDATE (the `apply` command); whether
   * one was sent (false: nothing to change). Throws PLAN_UNSAFE when the
   * guard refuses it, an Rfc2136Error when the server does.
   */
  async applyPlan(plan: Rfc2136Plan): Promise<boolean> {
    if (plan.guard.blocked) throw new FailoverdError('PLAN_UNSAFE', `RFC 2136 plan refused by the guard: ${plan.guard.reason}`);
    if (planIsEmpty(plan)) return false;
    await this.send(plan);
    return true;
  }

  statusView(): Rfc2136TargetView {
    const refused = this.lastPlan?.refused ?? [];
    const pending = this.pendingCount();
    return {
      zone: this.o.zone.zone,
      server: this.label,
      mode: this.o.zone.mode,
      inSync: this.isInSync(),
      pendingChanges: pending,
      serial: this.view.serial ?? null,
      lastAppliedAt: this.lastAppliedAt === undefined ? null : new Date(this.lastAppliedAt).toISOString(),
      lastRcode: this.lastRcode ?? null,
      lastError: this.lastError ? { ...this.lastError, at: new Date(this.lastError.at).toISOString() } : null,
      consecutiveFailures: this.failures,
      nextRetryAt: this.nextRetryAt === undefined ? null : new Date(this.nextRetryAt).toISOString(),
      refused,
    };
  }

  metricsView(): Rfc2136TargetMetrics {
    const view = this.statusView();
    return {
      view,
      updates: new Map(this.updateCounts),
      reads: new Map(this.readCounts),
      secondsSinceInSync: view.inSync ? 0 : (this.clock.now() - (this.lastInSyncAt ?? this.createdAt)) / 1000,
    };
  }

  // ---- the loop ----

  private isInSync(): boolean {
    return !!this.desired && !this.lastError && this.failures === 0 && !!this.lastPlan && (this.lastPlan.refused.length === 0) && this.pendingCount() === 0;
  }

  /** Desired record sets that differ from what the view holds (refused ones included). */
  private pendingCount(): number {
    if (!this.desired || !this.lastPlan) return this.desired?.length ?? 0;
    const p = this.planFor(this.desired, true);
    return new Set([...p.changes.map((c) => `${c.name}/${c.type}`), ...p.refused.map((r) => `${r.name}/${r.type}`)]).size;
  }

  private planFor(desired: DesiredRecordSet[], force: boolean, deleteGone = true): Rfc2136Plan {
    return computePlan({
      deleteGone,
      zone: this.o.zone.zone,
      server: this.label,
      ownerId: this.o.config.ownerId,
      desired,
      view: this.view,
      adopt: this.o.zone.adopt,
      markerTtl: this.o.config.markerTtl,
      guard: this.o.config.guard,
      force,
    });
  }

  private scheduleReconcile(): void {
    if (!this.started) return;
    this.reconcileTimer = this.clock.setTimer(this.o.config.reconcile, () => {
      this.needRead = true;
      this.kick();
      this.scheduleReconcile();
    });
  }

  private kick(): void {
    if (!this.started) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.retryTimer) return; // backing off: the timer runs the latest desired state
    this.running = this.loop().finally(() => {
      this.running = undefined;
    });
  }

  private async read(): Promise<void> {
    const o = { clock: this.clock, timeoutMs: this.o.config.timeout };
    const kind = await readBack(this.o.server, this.o.zone.zone, this.o.zone.readKey, this.view, o);
    this.readCounts.set(kind, (this.readCounts.get(kind) ?? 0) + 1);
    const left = await readOwnedElsewhere(this.o.server, this.o.zone.readKey, this.view, this.o.config.ownerId, o);
    if (left) this.log.info({ names: left }, 'rfc2136 record sets failoverd wrote and no longer publishes found: to be deleted (guarded)');
    if (kind !== 'soa') this.log.debug({ kind, serial: this.view.serial }, 'rfc2136 read back');
  }

  private async loop(): Promise<void> {
    let cycles = 0;
    do {
      this.again = false;
      const desired = this.desired;
      if (!desired) return;
      try {
        let believedChanging: Set<string> | undefined;
        if (this.needRead) {
          // What failoverd believed it still had to change: anything more after the read is drift.
          if (this.view.serial !== undefined) believedChanging = new Set(this.planFor(desired, true).changes.map((c) => `${c.name}/${c.type}`));
          await this.read();
          this.needRead = false;
        }
        const plan = this.planFor(desired, false);
        this.lastPlan = plan;
        this.logFindings(plan, believedChanging);
        if (plan.guard.blocked) {
          // Failovers still go out when what the guard holds back is deleting record sets at names that left the
          // config: those wait for `failoverd rfc2136 apply --force` (or the config put back), loudly.
          const rest = this.planFor(desired, false, false);
          if (!rest.guard.blocked && !planIsEmpty(rest) && !this.o.config.dryRun) await this.send(rest);
          throw new FailoverdError('PLAN_UNSAFE', `RFC 2136 plan refused by the guard: ${plan.guard.reason}`);
        }
        if (!planIsEmpty(plan)) {
          if (this.o.config.dryRun) this.log.info({ changes: plan.changes }, 'rfc2136 dry run: UPDATE not sent');
          else await this.send(plan);
        }
        this.succeeded(plan);
      } catch (err) {
        this.failed(err);
        return;
      }
    } while (this.again && this.started && ++cycles < 1000);
  }

  private async send(plan: Rfc2136Plan): Promise<void> {
    await this.o.gate?.();
    const id = randomInt(0x10000);
    const msg = encodeUpdate({ id, zone: this.o.zone.zone, prerequisites: plan.prerequisites, updates: plan.updates });
    const what = `UPDATE of ${this.o.zone.zone} on ${this.label}`;
    const started = this.clock.now();
    let rcode: string;
    try {
      ({ rcode } = await exchange(this.o.server, msg, this.o.zone.updateKey, { clock: this.clock, timeoutMs: this.o.config.timeout }, what));
    } catch (err) {
      rcode = err instanceof Rfc2136Error ? err.rcode : 'ERROR';
      this.count(rcode);
      throw err;
    }
    this.count(rcode);
    if (rcode !== 'NOERROR') throw rcodeError(rcode, what);
    applyToView(plan, this.view);
    this.log.info({ ms: this.clock.now() - started, changes: plan.changes.map((c) => ({ name: c.name, type: c.type, action: c.action, to: c.to, from: c.from })), prerequisites: plan.prerequisites.length, updates: plan.updates.length }, 'rfc2136 UPDATE applied');
  }

  private count(rcode: string): void {
    this.lastRcode = rcode;
    this.updateCounts.set(rcode, (this.updateCounts.get(rcode) ?? 0) + 1);
  }

  private succeeded(plan: Rfc2136Plan): void {
    if (this.failures > 0 || this.lastError) this.log.info({ after: this.failures }, 'rfc2136 server in sync again');
    this.failures = 0;
    this.lastError = undefined;
    this.nextRetryAt = undefined;
    if (!planIsEmpty(plan) && !this.o.config.dryRun) this.lastAppliedAt = this.clock.now();
    if (plan.refused.length === 0) this.lastInSyncAt = this.clock.now();
  }

  private failed(err: unknown): void {
    this.failures++;
    this.needRead = true;
    const code = err instanceof FailoverdError ? err.code : 'INTERNAL';
    const rcode = err instanceof Rfc2136Error ? err.rcode : code;
    const message = err instanceof Error ? err.message : String(err);
    this.lastError = { code, rcode, message, at: this.clock.now() };
    if (!this.started) return;
    if (code === 'PLAN_UNSAFE') {
      // Needs an operator (`failoverd rfc2136 apply --force`) or a config fix: no backoff, so the next change (a
      // failover, sent by itself) goes out at once; read again at the next change or reconcile.
      this.warnOnce.warn('plan-unsafe', { code, err, failures: this.failures }, 'rfc2136 plan refused by the guard: what it holds back is not sent');
      return;
    }
    const delay = backoffDelay(this.failures, { ...this.backoff, random: this.random });
    this.nextRetryAt = this.clock.now() + delay;
    this.warnOnce.warn(`failed:${rcode}`, { code, rcode, err, failures: this.failures, retryInMs: delay }, 'rfc2136 server not in sync; read back and retried with backoff');
    this.retryTimer = this.clock.setTimer(delay, () => {
      this.retryTimer = undefined;
      this.nextRetryAt = undefined;
      this.kick();
    });
  }

  private logFindings(plan: Rfc2136Plan, believedChanging: Set<string> | undefined): void {
    for (const r of plan.refused) this.warnOnce.warn(`refused:${r.name}/${r.type}:${r.kind}`, { name: r.name, type: r.type, kind: r.kind, reason: r.reason }, 'rfc2136 record set refused');
    if (believedChanging) for (const c of plan.changes) if (!believedChanging.has(`${c.name}/${c.type}`)) this.log.warn({ drift: true, name: c.name, type: c.type, from: c.from, to: c.to }, 'rfc2136 drift repaired');
  }
}
