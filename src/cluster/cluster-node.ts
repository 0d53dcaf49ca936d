/**
 * One instance of a failoverd cluster: the composition of the cluster's
 * parts around the local controller.
 * - Vantage point: publishes this instance's per-probe-key health under its
 *   lease; watches every instance's.
 * - Leadership: one leader at a time (leadership.ts). The leader combines
 *   the live vantage points by quorum (cluster-health.ts), runs its own
 *   decider over that health, and writes the decisions and the zone serials
 *   in one fenced transaction (decision-store.ts).
 * - Every instance serves the decisions it watches (served()); cut off from
 *   etcd it keeps them (onLoss: freeze) or serves its own local verdict
 *   (onLoss: local), and says so (status(), logs, metrics).
 * - Operators' overrides live in etcd (operator-state.ts); failback commands
 *   go to the leader through etcd.
 * It knows no sink: daemon.ts reads served(), isLeader and the events.
 */
import { EventEmitter } from 'node:events';
import type { Clock, TimerHandle } from '../clock.ts';
import type { Config, RecordSetConfig, Target } from '../config/types.ts';
import type { RecordSetDecision } from '../failover/decision.ts';
import type { FailbackOutcome, HealthSource } from '../failover/decider.ts';
import type { RecordSetState, Transition } from '../failover/types.ts';
import type { OverrideEvent, OverrideStore } from '../health/overrides.ts';
import { FailoverdError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { recordSetKey } from '../failover/describe.ts';
import { toDynamicRRset } from '../published-answers.ts';
import { buildSnapshot, type Snapshot } from '../records/snapshot.ts';
import type { ZoneFile } from '../dns-model/records.ts';
import { ClusterHealthSource } from './cluster-health.ts';
import { DECISION_LAYOUT } from './decision-compact.ts';
import { DecisionStore, TRANSITIONS_IN_RECORD, type DecisionRecord } from './decision-store.ts';
import { clusterUnavailable, type DecisionWriteFailureCause, type WriteFailureNow } from './write-failures.ts';
import { EtcdAlarms, type EtcdAlarmsView } from './etcd-alarms.ts';
import { EtcdWrites, type EtcdWrite, type EtcdWriteRefusal } from './etcd-writes.ts';
import { createEtcdPort } from './etcd-client.ts';
import type { EtcdPort } from './etcd-port.ts';
import { recordsFingerprint } from './config-fingerprint.ts';
import { ClusterKeys } from './keys.ts';
import { Leadership } from './leadership.ts';
import { OperatorState } from './operator-state.ts';
import { PrefixMirror, RECOVERY_CAUSES, type MirrorState, type RecoveryCause } from './prefix-mirror.ts';
import { vantageOwner, VantagePublisher, type VantageReport, type VantageView } from './vantage.ts';
import { VantageReader } from './vantage-reader.ts';

/** How often the leader renews its heartbeat key. */
export const HEARTBEAT_MS = 2000;

/** The mirrors (etcd watches) of an instance, by the name status and metrics give them. */
export const MIRROR_NAMES = ['leader', 'heartbeat', 'decisions', 'overrides', 'vantage', 'failbacks'] as const;
export type MirrorName = (typeof MIRROR_NAMES)[number];

/**
 * How long decisions stay current without a confirmation (a heartbeat or
 * a decision received while every watch is live): 3 leaseTtl, at least
 * 5 heartbeats. A leader change takes about one leaseTtl.
 */
export function staleAfterMs(leaseTtlMs: number): number {
  return Math.max(3 * leaseTtlMs, 5 * HEARTBEAT_MS);
}

/** The leader's decider (failover/decider.ts): failover machines over a health source it is given. */
export interface LeaderDecider {
  decisions(): RecordSetDecision[];
  /** The cluster's health of a probe key changed. */
  probeKeyChanged(probeKey: string): void;
  /** A target's override changed. */
  targetChanged(targetId: string): void;
  failback(recordSetKey: string): FailbackOutcome;
  /** This leader's transitions, newest first. */
  transitions(limit?: number): Transition[];
  reload(config: Config): unknown;
  stop(): void;
}

export type DeciderFactory = (
  health: HealthSource,
  /** record set key → the state the cluster last decided (holds, active targets). */
  restore: Record<string, RecordSetState>,
  /** Called after the decisions changed. */
  onChange: () => void,
) => LeaderDecider;

export interface ClusterNodeOptions {
  config: Config;
  zones: readonly ZoneFile[];
  /** This instance's views per probe key (after hysteresis): what it publishes. */
  localViews: () => Record<string, VantageView>;
  /** One probe key's view of this instance (undefined: not probed here). */
  localView?: (probeKey: string) => VantageView | undefined;
  /** The local override store (mirrored with etcd). */
  overrides: () => OverrideStore;
  makeDecider: DeciderFactory;
  /**
   * How long a new leader waits for the vantage points of the last decision
   * (all but one) before it decides with fewer (e.g. startupTimeout): at a
   * cold start of the cluster, the first instance up does not decide alone.
   */
  gatherMs: number;
  clock: Clock;
  logger: Logger;
  /** For tests: the etcd to use (e.g. the in-memory fake) instead of a client made from the config. */
  etcd?: EtcdPort;
}

export interface ClusterStatus {
  name: string;
  instance: string;
  leader: string | null;
  isLeader: boolean;
  connected: boolean;
  /** What this instance serves: the cluster's decisions, or its own verdict. */
  serving: 'cluster' | 'frozen' | 'local';
  quorum: string;
  onLoss: 'freeze' | 'local';
  leaseTtlSeconds: number;
  /** When this node started (epoch ms). */
  startedAt: number;
  lastDecision: { leader: string; term: string; decidedAt: number; receivedAt: number; generation: number } | null;
  /** Record set values in etcd not served yet: a batch of the leader still being written (or one cut short). */
  decisionsWaiting: number;
  /** On the leader: what makes its decision writes fail now (null while they succeed). */
  writeError: WriteFailureNow | null;
  /** This instance's failed decision writes since start, by cause (every cause present). */
  writeFailures: Record<DecisionWriteFailureCause, number>;
  /** Every kind of this instance's etcd writes that etcd refuses now (vantage report, heartbeat, decisions, overrides, failback, campaign): which, why, since when; empty while all succeed. */
  etcdWriteErrors: EtcdWriteRefusal[];
  /** This instance's refused etcd writes since start, by kind and cause (every kind and cause present). */
  etcdWriteFailures: Record<EtcdWrite, Record<DecisionWriteFailureCause, number>>;
  /** etcd's alarms (e.g. NOSPACE) as last read; null before the first read. */
  etcdAlarms: EtcdAlarmsView | null;
  vantagePoints: Array<{ instance: string; publishedAt: number }>;
  /** Instances whose record sets differ from this instance's (their config is not the same): empty when all agree. */
  recordsDiffer: string[];
  /**
   * True while this instance serves the cluster's decisions (connected),
   * every etcd watch is live, and the decisions were confirmed within
   * staleAfterMs (a heartbeat of the leader or a decision received).
   */
  current: boolean;
  /** Each etcd watch: live, or recovering (re-listing / re-watching after a break). */
  mirrors: Record<MirrorName, MirrorState>;
  /** Recoveries of each watch since start, by cause. */
  watchRecoveries: Record<MirrorName, Record<RecoveryCause, number>>;
  /** When the decisions served were last confirmed current (epoch ms; null before the first): a leader's heartbeat or a decision, received while every watch was live. */
  confirmedAt: number | null;
  /** The leader's last heartbeat seen. */
  heartbeat: { leader: string; term: string; at: number; receivedAt: number } | null;
  /** target id → the cluster's view, e.g. "1 of 3 vantage points see DOWN (2 needed)". */
  targets: Array<{ id: string; probeKey: string; health: string; why: string; views: Record<string, string> }>;
}

/** The name of an event the node emits: what the daemon reacts to. */
type Events = { served: []; leadership: [isLeader: boolean]; connection: [connected: boolean] };

export class ClusterNode extends EventEmitter<Events> {
  private readonly cfg;
  private readonly etcd: EtcdPort;
  private readonly keys: ClusterKeys;
  private readonly log: Logger;
  private readonly clock: Clock;
  readonly leadership: Leadership;
  private readonly vantage: VantagePublisher;
  private readonly vantageMirror: PrefixMirror;
  private readonly vantageReader: VantageReader;
  private readonly failbacks: PrefixMirror;
  private readonly heartbeats: PrefixMirror;
  private readonly mirrors: Record<MirrorName, PrefixMirror>;
  private readonly recoveries = {} as Record<MirrorName, Record<RecoveryCause, number>>;
  private recoveringSince = new Map<MirrorName, number>();
  private confirmedAt: number | undefined;
  private lastHeartbeat: ClusterStatus['heartbeat'] = null;
  private heartbeatTimer: TimerHandle | undefined;
  readonly operatorState: OperatorState;
  private readonly store: DecisionStore;
  private readonly health: ClusterHealthSource;
  private decider: LeaderDecider | undefined;
  private serialsSnapshot: Snapshot | undefined;
  private writeQueued: TimerHandle | undefined;
  private writing: Promise<void> = Promise.resolve();
  /** This leader's transitions already in etcd. */
  private writtenTransitions = new WeakSet<Transition>();
  /** Every etcd write of this instance that etcd refuses: counted by kind and cause, logged once per cause. */
  private readonly writes: EtcdWrites;
  private readonly alarms: EtcdAlarms;
  private retryWrite: TimerHandle | undefined;
  private receivedAt = 0;
  private lastDiffer = '';
  /** The most vantage points live during this leader's term: written with the decisions (a later leader waits for about as many). */
  private termVantagePoints = 0;
  /** Elected, waiting for the vantage points of the last decision (onElected). */
  private gathering: TimerHandle | undefined;
  private connected = false;
  private leaderName: string | null = null;
  private tick: TimerHandle | undefined;
  private stopped = false;
  private config: Config;
  private zones: readonly ZoneFile[];
  private readonly startedAt: number;
  /** The check that no other live instance has this instance's name (vantage.ts), once it got an answer from etcd. */
  private nameCheck: Promise<void> | undefined;
  /** The name check found another process's report and waits for it to go. */
  private nameWaiting = false;
  private targetsOf: { config: Config; byId: Map<string, Target> } | undefined;
  /** The probe keys of this instance's targets, for its config. */
  private probeKeysOf: { config: Config; keys: Set<string> } | undefined;
  private recordSetsOf: { config: Config; byKey: Map<string, RecordSetConfig> } | undefined;
  /** The form of the leader's last decision write (compact or whole). */
  private compactWritten: boolean | undefined;
  /** This instance's record sets' fingerprint (config-fingerprint.ts), for its config. */
  private fingerprintOf: { config: Config; print: string } | undefined;
  /** The target ids last published as unknown to the cluster's decisions. */
  private lastExtra = '';

  constructor(private readonly opts: ClusterNodeOptions) {
    super();
    const c = opts.config.cluster;
    if (!c) throw new Error('ClusterNode needs a cluster section');
    this.cfg = c;
    this.config = opts.config;
    this.zones = opts.zones;
    this.log = opts.logger;
    this.clock = opts.clock;
    this.startedAt = this.clock.now();
    this.etcd = opts.etcd ?? createEtcdPort(c);
    // A refused write: read etcd's alarms at once (a NOSPACE shows as such). Alarms disarmed: what waits for a retry goes now.
    this.alarms = new EtcdAlarms(this.etcd, this.clock, this.log, () => this.retryRefusedWrites());
    this.writes = new EtcdWrites(this.log, this.clock, () => this.alarms.check());
    this.keys = new ClusterKeys(c.name);
    this.leadership = new Leadership(this.etcd, this.keys.leader, c.instance, c.leaseTtl / 1000, this.clock);
    this.leadership.on('elected', () => this.onElected());
    this.leadership.on('deposed', () => this.onDeposed('deposed'));
    this.leadership.on('error', (err) => this.writes.failed('campaign', err));
    this.leadership.on('campaigned', () => this.writes.succeeded('campaign'));
    this.vantage = new VantagePublisher({
      etcd: this.etcd,
      key: this.keys.vantage(c.instance),
      instance: c.instance,
      lease: this.leadership.lease,
      views: opts.localViews,
      ...(opts.localView ? { view: opts.localView } : {}),
      records: () => this.fingerprint(),
      extraTargets: () => this.extraTargets(),
      owner: vantageOwner(this.startedAt),
      writes: this.writes,
      limits: { maxOps: c.etcd.maxTxnOps, maxBytes: c.etcd.maxTxnBytes },
      clock: this.clock,
      log: this.log,
    });
    this.vantageMirror = new PrefixMirror(this.etcd, this.keys.vantagePrefix, { clock: this.clock });
    this.vantageReader = new VantageReader(this.keys.vantagePrefix, (key) => this.log.debug({ key }, 'ignored a malformed vantage report'));
    this.vantageMirror.on('change', (key, value) => {
      this.vantageReader.apply(key, value);
      this.onVantageChange(false);
    });
    this.failbacks = new PrefixMirror(this.etcd, this.keys.failbackPrefix, { clock: this.clock });
    this.failbacks.on('change', (key, value) => {
      if (value !== undefined && this.decider) void this.runFailback(key);
    });
    this.health = new ClusterHealthSource(c.quorum, this.clock, (id) => opts.overrides().get(id));
    this.operatorState = new OperatorState(this.etcd, this.keys, opts.overrides, (id) => this.targetsById().has(id), this.log, this.clock, this.writes);
    this.store = new DecisionStore(this.etcd, this.keys, this.log, {
      clock: this.clock,
      limits: { maxOps: c.etcd.maxTxnOps, maxBytes: c.etcd.maxTxnBytes },
      rank: this.recordSetRank(),
      recordSet: (key) => this.recordSetsByKey().get(key),
    });
    this.store.listeners.push((r) => this.onRecord(r));
    this.heartbeats = new PrefixMirror(this.etcd, this.keys.heartbeat, { clock: this.clock });
    this.heartbeats.on('change', (key, value) => this.onHeartbeat(key, value));
    this.mirrors = {
      leader: this.leadership.keyMirror,
      heartbeat: this.heartbeats,
      decisions: this.store.watched,
      overrides: this.operatorState.watched,
      vantage: this.vantageMirror,
      failbacks: this.failbacks,
    };
    for (const name of MIRROR_NAMES) {
      this.recoveries[name] = Object.fromEntries(RECOVERY_CAUSES.map((c) => [c, 0])) as Record<RecoveryCause, number>;
      this.mirrors[name].on('recovering', (cause, detail) => this.onMirrorRecovering(name, cause, detail));
      this.mirrors[name].on('live', () => this.onMirrorLive(name));
    }
  }

  get isLeader(): boolean {
    return this.decider !== undefined && this.leadership.isLeader;
  }

  /**
   * Connects and joins: reads the overrides, the vantage points and the
   * decisions, starts campaigning, and resolves once this instance has the
   * cluster's current decisions (true), or after `timeoutMs` (false; it then
   * serves its local verdict until decisions arrive). Retries while etcd
   * does not answer.
   */
  async start(timeoutMs: number): Promise<boolean> {
    let refuse: (err: unknown) => void = () => undefined;
    const refused = new Promise<never>((_, reject) => (refuse = reject));
    const joined = this.join(refuse);
    const got = new Promise<boolean>((resolve) => {
      if (this.store.latest()) return resolve(true);
      const onServed = (): void => {
        if (!this.store.latest()) return; // a connection change, not decisions yet
        timer.cancel();
        this.off('served', onServed);
        resolve(true);
      };
      const timer = this.clock.setTimer(timeoutMs, () => {
        this.off('served', onServed);
        resolve(false);
      });
      this.on('served', onServed);
    });
    // A report of this name held by another process: wait for it to go (or refuse to start), even past timeoutMs.
    const ok = await Promise.race([got, refused]);
    if (!ok && this.nameWaiting) await Promise.race([this.nameCheck?.catch(() => undefined), refused]);
    void joined; // goes on in the background until etcd answers
    this.scheduleTick();
    return ok;
  }

  /** Starts publishing this instance's health (after its first probe round). */
  publishVantage(): void {
    this.vantage.enable();
  }

  /** This instance's health of `probeKey` changed (without: of any). */
  localHealthChanged(probeKey?: string): void {
    this.vantage.changed(probeKey === undefined ? undefined : [probeKey]);
  }

  /** Told of every event of the local override store: mirrored to etcd; the leader re-decides. */
  onOverride(e: OverrideEvent): void {
    this.operatorState.onLocalEvent(e);
    this.decider?.targetChanged(e.targetId);
    // Also when no answer changed: the decisions quote each target's health and any waiting failback.
    this.queueWrite();
  }

  /** Resolves once local operator changes are in etcd (rejects if a write failed). */
  flushOperatorState(): Promise<void> {
    return this.operatorState.flush();
  }

  /** A failback command: run by the leader (directly here, or through etcd). */
  async failback(recordSetKey: string): Promise<FailbackOutcome | { kind: 'requested'; reason: string }> {
    if (this.decider && this.isLeader) return this.decider.failback(recordSetKey);
    try {
      await this.etcd.put(this.keys.failback(recordSetKey), JSON.stringify({ by: this.cfg.instance, at: this.clock.now() }));
    } catch (err) {
      this.writes.failed('failback', err);
      throw clusterUnavailable(err, 'the failback command');
    }
    this.writes.succeeded('failback');
    return { kind: 'requested', reason: `sent to the leader ${this.leaderName ?? '(none right now)'}` };
  }

  /**
   * Resolves only while this instance is the leader, proven by a write to
   * etcd fenced by its leader key; throws CLUSTER_NOT_LEADER otherwise. The
   * Route 53 sink awaits it before each apply: a deposed leader applies
   * nothing (Route 53 itself cannot check a fence, so the gap is the time
   * between this write and the request).
   */
  async assertLeader(): Promise<void> {
    const ok = this.decider !== undefined && (await this.leadership.fencedPut(this.keys.route53Writer, JSON.stringify({ instance: this.cfg.instance, at: this.clock.now() })));
    if (!ok) throw new FailoverdError('CLUSTER_NOT_LEADER', `${this.cfg.instance} is not the cluster's leader (the fence refused it): only the leader writes to Route 53`);
  }

  /**
   * What this instance serves now: the cluster's decisions and serials, or
   * undefined for its own local verdict (no decision seen yet, or cut off
   * from etcd with onLoss: local).
   */
  served(): DecisionRecord | undefined {
    const r = this.store.latest();
    if (!r) return undefined;
    if (!this.connected && this.cfg.onLoss === 'local') return undefined;
    return r;
  }

  /** A new config (reload): the leader's decider takes it (record sets keep their state); zones feed the serials. */
  reconfigure(config: Config, zones: readonly ZoneFile[]): void {
    this.config = config;
    this.zones = zones;
    this.vantage.changed();
    this.onVantageChange();
    this.store.reorder(this.recordSetRank());
    this.decider?.reload(config);
  }

  status(): ClusterStatus {
    const r = this.store.latest();
    const targets: ClusterStatus['targets'] = [];
    for (const t of this.targetsById().values()) {
      const h = this.health.real(t.probeKey);
      targets.push({ id: t.id, probeKey: t.probeKey, health: h?.health ?? 'UNKNOWN', why: h?.why ?? 'no vantage point has reported', views: h?.views ?? {} });
    }
    return {
      name: this.cfg.name,
      instance: this.cfg.instance,
      leader: this.leaderName,
      isLeader: this.isLeader,
      connected: this.connected,
      serving: this.served() ? (this.connected ? 'cluster' : 'frozen') : 'local',
      quorum: String(this.cfg.quorum),
      onLoss: this.cfg.onLoss,
      leaseTtlSeconds: this.cfg.leaseTtl / 1000,
      startedAt: this.startedAt,
      lastDecision: r ? { leader: r.leader, term: r.term, decidedAt: r.decidedAt, receivedAt: this.receivedAt, generation: r.generation } : null,
      decisionsWaiting: this.store.waiting,
      writeError: this.isLeader ? (this.writes.current('decisions') ?? null) : null,
      writeFailures: this.writes.counts().decisions,
      etcdWriteErrors: this.writes.refusals(),
      etcdWriteFailures: this.writes.counts(),
      etcdAlarms: this.alarms.current ?? null,
      current: this.isCurrent(),
      mirrors: Object.fromEntries(MIRROR_NAMES.map((n) => [n, this.mirrors[n].state])) as Record<MirrorName, MirrorState>,
      watchRecoveries: Object.fromEntries(MIRROR_NAMES.map((n) => [n, { ...this.recoveries[n] }])) as Record<MirrorName, Record<RecoveryCause, number>>,
      confirmedAt: this.confirmedAt ?? null,
      heartbeat: this.lastHeartbeat,
      vantagePoints: this.reports().map((v) => ({ instance: v.instance, publishedAt: v.at })),
      recordsDiffer: this.recordsDiffer(),
      targets,
    };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.alarms.stop();
    this.tick?.cancel();
    this.heartbeatTimer?.cancel();
    this.gathering?.cancel();
    this.retryWrite?.cancel();
    this.writeQueued?.cancel();
    this.vantage.stop();
    this.decider?.stop();
    this.decider = undefined;
    await this.writing;
    await Promise.all([this.vantageMirror.stop(), this.failbacks.stop(), this.heartbeats.stop(), this.operatorState.stop(), this.store.stop()]);
    // Revoking the lease deletes the leader and vantage keys at once: the others move on without waiting a TTL.
    await this.leadership.close();
    this.etcd.close();
  }

  private async join(refuse: (err: unknown) => void): Promise<void> {
    for (let attempt = 0; !this.stopped; attempt++) {
      try {
        // Before anything is written under this instance's name: no other live instance of that name.
        this.nameCheck ??= this.vantage.checkName(this.cfg.leaseTtl + 1000, () => (this.nameWaiting = true));
        await this.nameCheck;
        await this.store.start();
        await this.operatorState.start();
        await this.vantageMirror.start();
        await this.failbacks.start();
        await this.heartbeats.start();
        await this.leadership.start();
        this.setConnected(true);
        this.alarms.start();
        this.onVantageChange();
        this.leaderName = (await this.leadership.leader()) ?? null;
        const r = this.store.latest();
        if (r) this.onRecord(r);
        return;
      } catch (err) {
        if (err instanceof FailoverdError && err.code === 'CLUSTER_INSTANCE_TAKEN') {
          refuse(err); // start() rejects: the daemon does not start
          return;
        }
        // The name check could not ask etcd: asked again on the next attempt.
        this.nameCheck = undefined;
        // Once at first, then about every 10 s.
        if (attempt % 20 === 0) this.log.warn({ err, endpoints: this.cfg.etcd.endpoints, attempt }, 'etcd does not answer: trying again');
        await new Promise<void>((resolve) => this.clock.setTimer(500, resolve));
      }
    }
  }

  private scheduleTick(): void {
    if (this.stopped) return;
    this.tick = this.clock.setTimer(Math.max(200, this.cfg.leaseTtl / 3), () => {
      this.setConnected(this.leadership.lease.fresh());
      void this.refreshLeaderName();
      this.scheduleTick();
    });
  }

  /** Reads the leader key; its header also tells every watch whether etcd's history went back under it (a restore, a wipe). */
  private async refreshLeaderName(): Promise<void> {
    if (!this.connected) return;
    const checks = MIRROR_NAMES.map((n) => this.mirrors[n].checkpoint());
    try {
      const { header, kv } = await this.etcd.get(this.keys.leader);
      this.leaderName = kv?.value ?? null;
      for (const check of checks) check(header);
    } catch {
      /* the next tick notices the lost connection */
    }
  }

  /** True while every etcd watch follows etcd. */
  private allLive(): boolean {
    return MIRROR_NAMES.every((n) => this.mirrors[n].state === 'live');
  }

  private isCurrent(): boolean {
    return this.connected && this.served() !== undefined && this.allLive() && this.confirmedAt !== undefined && this.clock.now() - this.confirmedAt <= staleAfterMs(this.cfg.leaseTtl);
  }

  /** The decisions served are known to be current now (a heartbeat or a decision arrived): only while every watch is live. */
  private confirm(): void {
    if (this.allLive()) this.confirmedAt = this.clock.now();
  }

  private onMirrorRecovering(name: MirrorName, cause: RecoveryCause, detail: string): void {
    this.recoveries[name][cause]++;
    if (!this.recoveringSince.has(name)) this.recoveringSince.set(name, this.clock.now());
    this.log.warn({ mirror: name, cause, detail }, `etcd watch of ${name} broken (${cause}): re-listing and watching again; until then this instance's ${name} may be stale`);
  }

  private onMirrorLive(name: MirrorName): void {
    const since = this.recoveringSince.get(name);
    if (since === undefined) return;
    this.recoveringSince.delete(name);
    this.log.info({ mirror: name, ms: this.clock.now() - since }, `etcd watch of ${name} recovered: following etcd again`);
    if (this.allLive() && this.store.latest()) this.confirm();
  }

  private onHeartbeat(key: string, value: string | undefined): void {
    if (key !== this.keys.heartbeat || value === undefined) return;
    try {
      const h = JSON.parse(value) as { leader: string; term: string; at: number };
      this.lastHeartbeat = { leader: String(h.leader), term: String(h.term), at: Number(h.at), receivedAt: this.clock.now() };
    } catch {
      this.log.debug({ key }, 'ignored a malformed heartbeat');
      return;
    }
    this.confirm();
  }

  /** The leader renews its heartbeat (fenced) every HEARTBEAT_MS while it decides. */
  private scheduleHeartbeat(): void {
    this.heartbeatTimer?.cancel();
    if (this.stopped || !this.decider) return;
    this.heartbeatTimer = this.clock.setTimer(HEARTBEAT_MS, () => {
      void this.beat().finally(() => this.scheduleHeartbeat());
    });
  }

  private async beat(): Promise<void> {
    const term = this.leadership.fence;
    if (!this.decider || term === undefined) return;
    try {
      const ok = await this.leadership.fencedPut(this.keys.heartbeat, JSON.stringify({ leader: this.cfg.instance, term, at: this.clock.now() }));
      if (!ok) return this.onDeposed('the heartbeat was refused by the fence: another instance leads');
      this.writes.succeeded('heartbeat');
    } catch (err) {
      // Tried again at the next beat (every HEARTBEAT_MS).
      this.writes.failed('heartbeat', err);
    }
  }

  private setConnected(connected: boolean): void {
    if (connected === this.connected) return;
    this.connected = connected;
    if (connected) this.log.info({ endpoints: this.cfg.etcd.endpoints }, 'connected to etcd: serving the cluster\'s decisions');
    else
      this.log.warn(
        { endpoints: this.cfg.etcd.endpoints, onLoss: this.cfg.onLoss },
        this.cfg.onLoss === 'freeze' ? 'cut off from etcd: serving the last decisions seen until etcd is back' : 'cut off from etcd: serving this instance\'s own verdict until etcd is back',
      );
    this.emit('connection', connected);
    this.emit('served');
  }

  /** This instance's targets by id, for its config (built once per config: /readyz, /metrics and each override ask). */
  private targetsById(): ReadonlyMap<string, Target> {
    if (this.targetsOf?.config !== this.config) {
      const byId = new Map<string, Target>();
      for (const rs of this.config.records) for (const t of rs.targets) byId.set(t.id, t);
      this.targetsOf = { config: this.config, byId };
    }
    return this.targetsOf.byId;
  }

  /** The live vantage reports, by instance name (vantage-reader.ts assembles them from their shards, key by key). */
  private reports(): VantageReport[] {
    return this.vantageReader.reports();
  }

  private probeKeys(): Set<string> {
    if (this.probeKeysOf?.config !== this.config) {
      const keys = new Set<string>();
      for (const t of this.targetsById().values()) keys.add(t.probeKey);
      this.probeKeysOf = { config: this.config, keys };
    }
    return this.probeKeysOf.keys;
  }

  /**
   * Whether the leader stores its decisions compact (decision-compact.ts):
   * only while every live instance reads layout 2 and reports the same
   * record sets as this one, so each makes the decisions again as this one
   * made them; otherwise whole, as layout 1.
   */
  private compactDecisions(): boolean {
    const mine = this.fingerprint();
    return this.reports().every((r) => r.records === mine && (r.decisionLayout ?? 1) >= DECISION_LAYOUT);
  }

  /** This instance's record sets by key, for its config. */
  private recordSetsByKey(): Map<string, RecordSetConfig> {
    if (this.recordSetsOf?.config !== this.config) this.recordSetsOf = { config: this.config, byKey: new Map(this.config.records.map((rs) => [recordSetKey(rs), rs])) };
    return this.recordSetsOf.byKey;
  }

  private fingerprint(): string {
    if (this.fingerprintOf?.config !== this.config) this.fingerprintOf = { config: this.config, print: recordsFingerprint(this.config) };
    return this.fingerprintOf.print;
  }

  /**
   * Target ids of this instance's config that the cluster's decisions (the
   * leader's config) lack; empty while the leader reports the same record
   * sets. Published in the vantage report: a drain of such a target through
   * any instance names the instances that know it.
   */
  private extraTargets(): string[] {
    const r = this.store.latest();
    if (!r) return [];
    const leader = this.reports().find((x) => x.instance === r.leader);
    if (leader?.records === this.fingerprint()) return [];
    const known = new Set<string>();
    for (const d of r.decisions) for (const t of d.targets) known.add(t.id);
    return [...this.targetsById().keys()].filter((id) => !known.has(id)).sort();
  }

  /**
   * A target this instance knows that the cluster's leader does not decide
   * (their configs differ): a drain of it would be applied nowhere. Returns
   * the leader and the instances that know it; undefined when the leader
   * knows it, or when there are no cluster decisions to compare with.
   */
  targetUnknownToLeader(targetId: string): { leader: string; knownBy: string[] } | undefined {
    const r = this.served();
    if (!r) return undefined;
    if (r.decisions.some((d) => d.targets.some((t) => t.id === targetId))) return undefined;
    const knownBy = new Set([this.cfg.instance]);
    for (const x of this.reports()) if (x.extraTargets?.includes(targetId)) knownBy.add(x.instance);
    return { leader: r.leader, knownBy: [...knownBy].sort() };
  }

  /** Instances that report other record sets than this instance's config. */
  private recordsDiffer(): string[] {
    const mine = this.fingerprint();
    return this.reports()
      .filter((r) => r.records !== undefined && r.records !== mine)
      .map((r) => r.instance);
  }

  /**
   * The vantage reports changed: the cluster's health of the probe keys
   * whose views changed is computed again (of every probe key when `all`,
   * or when a vantage point came or went).
   */
  private onVantageChange(all = true): void {
    const differ = this.recordsDiffer().join(',');
    if (differ !== this.lastDiffer) {
      if (differ) this.log.warn({ instances: differ.split(',') }, 'these instances run other record sets than this one: give every instance of a cluster the same records');
      this.lastDiffer = differ;
    }
    const changes = this.vantageReader.takeChanges();
    const mine = this.probeKeys();
    const probeKeys = all || changes.membership ? mine : [...changes.probeKeys].filter((k) => mine.has(k));
    const changed = this.health.update(probeKeys, this.reports());
    for (const key of changed) this.decider?.probeKeyChanged(key);
    // A change of the form decisions are stored in (an instance of another config or version came or went) rewrites them.
    if (changed.length > 0 || (this.decider && (this.reports().length > this.termVantagePoints || this.compactDecisions() !== this.compactWritten))) this.queueWrite();
    if (this.gathering && this.reports().length >= this.expectedVantagePoints()) this.beginDeciding(false);
  }

  private onRecord(r: DecisionRecord): void {
    this.receivedAt = this.clock.now();
    this.confirm();
    this.leaderName = r.leader;
    // Published again only when the targets the cluster lacks changed (usually: never, the configs agree).
    const extra = this.extraTargets().join('\n');
    if (extra !== this.lastExtra) {
      this.lastExtra = extra;
      this.vantage.changed();
    }
    this.emit('served');
  }

  private onElected(): void {
    if (this.stopped || this.decider || this.gathering) return;
    const expected = this.expectedVantagePoints();
    if (this.reports().length >= expected) return this.beginDeciding(false);
    this.log.info({ instance: this.cfg.instance, live: this.reports().map((r) => r.instance), expected, waitMs: this.opts.gatherMs }, 'elected leader: waiting for the vantage points of the last decision before deciding');
    this.gathering = this.clock.setTimer(this.opts.gatherMs, () => this.beginDeciding(true));
  }

  /** The vantage points the last decision was made with, but the one lost with the old leader. */
  private expectedVantagePoints(): number {
    return (this.store.latest()?.vantagePoints ?? 0) - 1;
  }

  /**
   * Starts deciding. The term's vantage point count carries the last
   * decision's over (a leader that goes away does not shrink it), unless the
   * wait for them timed out: then the cluster is taken to be smaller now.
   */
  private beginDeciding(timedOut: boolean): void {
    this.gathering?.cancel();
    this.gathering = undefined;
    if (this.stopped || this.decider || this.leadership.fence === undefined) return;
    const live = this.reports().length;
    this.termVantagePoints = timedOut ? live : Math.max(live, this.store.latest()?.vantagePoints ?? 0);
    const last = this.store.latest();
    const restore: Record<string, RecordSetState> = {};
    for (const d of last?.decisions ?? []) restore[d.key] = d.state;
    // Serials continue from the last record: unchanged data keeps its serial.
    this.serialsSnapshot = last ? buildSnapshot(this.zones, last.decisions.map(toDynamicRRset), undefined, undefined, new Map(Object.entries(last.serials))) : undefined;
    this.leaderName = this.cfg.instance;
    // The first write reads what etcd holds now (an earlier leader's last batch included).
    this.store.endTerm();
    this.writtenTransitions = new WeakSet();
    this.decider = this.opts.makeDecider(this.health, restore, () => this.queueWrite());
    this.log.info({ instance: this.cfg.instance, term: this.leadership.fence, vantagePoints: this.reports().map((r) => r.instance) }, 'elected leader: deciding for the cluster');
    this.emit('leadership', true);
    this.queueWrite();
    void this.beat();
    this.scheduleHeartbeat();
    for (const key of this.failbacks.all().keys()) void this.runFailback(key);
  }

  private onDeposed(why: string): void {
    this.gathering?.cancel();
    this.gathering = undefined;
    if (!this.decider) return;
    this.decider.stop();
    this.decider = undefined;
    this.heartbeatTimer?.cancel();
    this.heartbeatTimer = undefined;
    this.serialsSnapshot = undefined;
    this.store.endTerm();
    this.retryWrite?.cancel();
    this.retryWrite = undefined;
    this.writes.reset('decisions');
    this.writes.reset('heartbeat');
    this.log.warn({ instance: this.cfg.instance, why }, 'no longer the leader: serving the new leader\'s decisions');
    this.emit('leadership', false);
  }

  /** etcd's alarms were disarmed: the writes waiting for a retry after a refusal are tried now. */
  private retryRefusedWrites(): void {
    if (this.stopped) return;
    if (this.writes.current('vantage')) this.vantage.changed();
    if (this.decider && this.writes.current('heartbeat')) void this.beat();
    if (this.retryWrite) {
      this.retryWrite.cancel();
      this.retryWrite = undefined;
      this.queueWrite();
    }
  }

  private queueWrite(): void {
    // While a failed write waits for its retry, changes wait with it (the retry writes them all).
    if (this.writeQueued || this.retryWrite || !this.decider) return;
    this.writeQueued = this.clock.defer(() => {
      this.writeQueued = undefined;
      this.writing = this.writing.then(() => this.writeDecisions());
    });
  }

  private async writeDecisions(): Promise<void> {
    const decider = this.decider;
    const term = this.leadership.fence;
    if (!decider || term === undefined || this.stopped) return;
    this.retryWrite?.cancel();
    this.retryWrite = undefined;
    const decisions = decider.decisions();
    this.termVantagePoints = Math.max(this.termVantagePoints, this.reports().length);
    this.serialsSnapshot = buildSnapshot(this.zones, decisions.map(toDynamicRRset), this.serialsSnapshot);
    const serials = Object.fromEntries(this.serialsSnapshot.zones.map((z) => [z.origin, z.serial]));
    const compact = this.compactDecisions();
    this.compactWritten = compact;
    const newTransitions = decider
      .transitions(TRANSITIONS_IN_RECORD)
      .filter((t) => !this.writtenTransitions.has(t))
      .reverse();
    try {
      const outcome = await this.store.write(
        this.leadership,
        { decisions, newTransitions, leader: this.cfg.instance, term, decidedAt: this.clock.now(), serials, vantagePoints: this.termVantagePoints, compact },
        (written) => {
          for (const t of written) this.writtenTransitions.add(t);
        },
      );
      if (outcome.kind === 'refused') return this.onDeposed('a write was refused by the fence: another instance leads');
      if (outcome.kind === 'written' && outcome.transactions > 1) this.log.info({ generation: outcome.generation, recordSets: outcome.recordSets, transactions: outcome.transactions, bytes: outcome.bytes }, 'wrote a batch of decisions in several transactions');
      this.writes.succeeded('decisions');
    } catch (err) {
      const f = this.writes.failed('decisions', err);
      this.retryWrite = this.clock.setTimer(f.retryMs, () => {
        this.retryWrite = undefined;
        this.queueWrite();
      });
    }
  }

  /** Record set key → its place in this instance's config: readers list the cluster's decisions in that order. */
  private recordSetRank(): (recordSetKey: string) => number {
    const rank = new Map<string, number>();
    this.config.records.forEach((rs, i) => rank.set(recordSetKey(rs), i));
    return (key) => rank.get(key) ?? Infinity;
  }

  /** The cluster's recent transitions, newest first (those of the decisions served; this instance's own while it serves its own verdict). */
  transitions(local: (limit: number) => Transition[], limit = TRANSITIONS_IN_RECORD): Transition[] {
    const r = this.served();
    return r ? r.transitions.slice(0, limit) : local(limit);
  }

  private async runFailback(key: string): Promise<void> {
    const decider = this.decider;
    if (!decider) return;
    const recordSet = this.keys.recordSetOfFailback(key);
    const outcome = decider.failback(recordSet);
    this.log.info({ recordSet, outcome: outcome.kind, reason: outcome.kind === 'moved' ? outcome.transition.reason : outcome.reason }, 'failback command from the cluster');
    await this.etcd.delete(key).catch((err: unknown) => this.log.warn({ err }, 'could not remove a done failback command'));
  }
}
