/**
 * This instance as a vantage point: its per-probe-key health after
 * hysteresis ({ health, since, reason }) published under its lease at
 * /failoverd/<name>/vantage/<instance> (the head) and, split by probe key
 * hash, in shards under it (vantage-layout.ts). When the instance dies or
 * loses etcd, the lease expires and etcd deletes its keys: it stops
 * counting. Changes of one turn of the event loop are published together,
 * and only the shards whose views changed are written (nothing when
 * nothing changed). A health change of some probe keys makes their shards'
 * bodies again and no other (a view's reason is published with its health
 * change, not refreshed on every probe); a change of anything else (a new
 * lease, a reload, a refused or failed write) reads every view again.
 *
 * One head per instance name, one owner per head: the head is created only
 * if absent and every later write (head or shard) is a transaction on the
 * createRevision of the head this process created. A second live instance
 * with the same `cluster.instance` (the default is the hostname: cloned VMs,
 * containers) is refused at start (checkName()), and one that slips past
 * never overwrites, nor deletes with its lease, the first one's report.
 */
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { Clock, TimerHandle } from '../clock.ts';
import { FailoverdError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { TxnLimits } from './decision-layout.ts';
import type { EtcdOp, EtcdPort } from './etcd-port.ts';
import type { EtcdWrites } from './etcd-writes.ts';
import type { KeptLease } from './kept-lease.ts';
import { DECISION_LAYOUT } from './decision-compact.ts';
import { planVantageWrite, ShardedViews, type VantageView, type VantageWritten } from './vantage-layout.ts';

export type { VantageView } from './vantage-layout.ts';

/** Which process publishes a report: tells two instances of one name apart. */
export interface VantageOwner {
  host: string;
  pid: number;
  /** When the process started (epoch ms). */
  startedAt: number;
  /** Random, one per process. */
  id: string;
}

/** What one instance publishes: its head, with its views (read from its shards). */
export interface VantageReport {
  instance: string;
  /** When its head was last written (the instance's clock). */
  at: number;
  /** probe key ("<check>@<address>") → view: assembled from the shards by the reader (an instance of an earlier version kept them in its head). */
  targets: Record<string, VantageView>;
  /** How many shards hold the views (vantage-layout.ts); absent in a report of an earlier version. */
  shards?: number;
  /** The fingerprint of the instance's record sets (config-fingerprint.ts): instances of one cluster agree on it. */
  records?: string;
  /** The newest decision layout the instance reads (decision-compact.ts); absent: 1, an earlier version. */
  decisionLayout?: number;
  owner?: VantageOwner;
  /** Target ids of this instance's config that the cluster's decisions (the leader's config) lack: empty when the configs agree. */
  extraTargets?: string[];
}

/** The pause before publishing again while another live instance holds the key. */
const RETRY_MS = 500;

/** How often a starting instance looks again at a report of its name left by another process. */
const NAME_CHECK_POLL_MS = 250;

export function vantageOwner(startedAt: number): VantageOwner {
  return { host: hostname(), pid: process.pid, startedAt, id: randomUUID() };
}

function describeOwner(o: VantageOwner | undefined): string {
  return o ? `host ${o.host}, pid ${o.pid}, up since ${new Date(o.startedAt).toISOString()}` : 'an instance of an earlier version';
}

export interface VantagePublisherOptions {
  etcd: EtcdPort;
  key: string;
  instance: string;
  lease: KeptLease;
  /** This instance's current views, per probe key. */
  views: () => Record<string, VantageView>;
  /** One probe key's current view (undefined: not probed here): lets a change of a few rebuild their shards only. */
  view?: (probeKey: string) => VantageView | undefined;
  /** The fingerprint of this instance's record sets. */
  records: () => string;
  /** Target ids this instance knows and the cluster's decisions do not. */
  extraTargets: () => string[];
  owner: VantageOwner;
  /** Where a refused publish is counted, logged (once per cause) and given its retry pause. */
  writes: EtcdWrites;
  /** Of one transaction (cluster.etcd.maxTxnOps, maxTxnBytes). */
  limits: TxnLimits;
  clock: Clock;
  log: Logger;
}

const nothingWritten = (): VantageWritten => ({ head: undefined, shards: new Map() });

export class VantagePublisher {
  private queued: TimerHandle | undefined;
  private enabled = false;
  /** A publish is in flight; `again`: publish once more after it. */
  private running = false;
  private again = false;
  /** What is in etcd of this report, as this process wrote it under its current lease. */
  private written: VantageWritten = nothingWritten();
  /** The createRevision of the key this process created: it writes only that key. */
  private mine: bigint | undefined;
  /** The owner of the other live report of this name, once logged. */
  private conflictLogged: string | undefined;
  /** The shard bodies of the last publish. */
  private readonly sharded = new ShardedViews();
  /** The probe keys whose views changed since the last publish began ('all': read every view again). */
  private dirty: Set<string> | 'all' = 'all';

  constructor(private readonly o: VantagePublisherOptions) {
    // A new lease (after a loss): publish again, under it.
    o.lease.on('granted', () => {
      this.written = nothingWritten();
      this.changed();
    });
  }

  /**
   * At start: resolves when no other process holds a report of this name.
   * A report left by one that died goes with its lease (within a lease
   * TTL): waits for that, at most `waitMs`. Rejects with
   * CLUSTER_INSTANCE_TAKEN, naming both, when it stays (the other one lives).
   */
  async checkName(waitMs: number, onWaiting: () => void = () => undefined): Promise<void> {
    const start = this.o.clock.now();
    let logged = false;
    for (let i = 0; i <= waitMs / NAME_CHECK_POLL_MS + 1; i++) {
      const kv = (await this.o.etcd.get(this.o.key)).kv;
      const other = kv && parseVantageReport(kv.value);
      if (!kv || (other && other.owner?.id === this.o.owner.id)) return;
      if (this.o.clock.now() - start >= waitMs) {
        throw new FailoverdError(
          'CLUSTER_INSTANCE_TAKEN',
          `cluster.instance "${this.o.instance}" is already used by a live instance (${describeOwner(other?.owner)}); this one (${describeOwner(this.o.owner)}) does not start: give each instance of the cluster its own cluster.instance (the default is the hostname)`,
        );
      }
      if (!logged) {
        onWaiting();
        this.o.log.info({ instance: this.o.instance, other: other?.owner, waitMs }, 'a report of this instance name is in etcd (a previous run, or another instance): waiting for its lease to end');
        logged = true;
      }
      await new Promise<void>((resolve) => this.o.clock.setTimer(NAME_CHECK_POLL_MS, resolve));
    }
  }

  /** Starts publishing (once this instance's first probe round is done). */
  enable(): void {
    this.enabled = true;
    this.changed();
  }

  /**
   * The local health of `probeKeys` changed (without: anything may have,
   * every view is read again): publish at the end of this turn.
   */
  changed(probeKeys?: Iterable<string>): void {
    if (probeKeys === undefined) this.dirty = 'all';
    else if (this.dirty !== 'all') for (const k of probeKeys) this.dirty.add(k);
    if (!this.enabled || this.queued) return;
    this.queued = this.o.clock.defer(() => {
      this.queued = undefined;
      this.run();
    });
  }

  /** One publish at a time (its transactions in order); a change meanwhile publishes again after it. */
  private run(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    void this.publish().finally(() => {
      this.running = false;
      if (this.again) {
        this.again = false;
        this.changed();
      }
    });
  }

  stop(): void {
    this.enabled = false;
    this.queued?.cancel();
    this.queued = undefined;
  }

  private async publish(): Promise<void> {
    const leaseId = this.o.lease.id;
    if (leaseId === undefined) return; // published when the lease is granted
    const dirty = this.dirty;
    this.dirty = new Set();
    const view = this.o.view;
    let bodies = dirty !== 'all' && view ? this.sharded.update(this.o.key, dirty, view) : undefined;
    bodies ??= this.sharded.rebuild(this.o.key, this.o.views());
    const records = this.o.records();
    const extraTargets = this.o.extraTargets();
    const content = { instance: this.o.instance, records, decisionLayout: DECISION_LAYOUT, owner: this.o.owner, ...(extraTargets.length ? { extraTargets } : {}), shards: this.sharded.count };
    const head = JSON.stringify(content);
    const headValue = JSON.stringify({ ...content, at: this.o.clock.now() });
    const txns = planVantageWrite(this.written, { headKey: this.o.key, head, headValue, shards: bodies }, this.o.limits);
    try {
      for (const txn of txns) {
        const ops: EtcdOp[] = txn.ops.map((op) => ('put' in op ? { ...op, lease: leaseId } : op));
        const res = await this.o.etcd.txn([{ key: this.o.key, createRevision: this.mine ?? 0n }], ops);
        this.o.writes.succeeded('vantage');
        if (!res.succeeded) return await this.refused();
        if (this.mine === undefined && ops.some((op) => 'put' in op && op.put === this.o.key)) this.mine = res.header.revision;
        txn.done(this.written);
      }
      this.conflictLogged = undefined;
    } catch (err) {
      // What went through is in `written`: the retry writes the rest.
      const { retryMs } = this.o.writes.failed('vantage', err);
      this.o.clock.setTimer(retryMs, () => this.changed());
    }
  }

  /** A write's guard failed: the head is not the one this process created. */
  private async refused(): Promise<void> {
    // Gone (its lease ended), ours from before a new lease, or another instance's.
    const kv = (await this.o.etcd.get(this.o.key)).kv;
    const other = kv && parseVantageReport(kv.value);
    this.written = nothingWritten();
    if (!kv || other?.owner?.id === this.o.owner.id) {
      this.mine = kv?.createRevision;
      this.changed();
      return;
    }
    this.mine = undefined;
    if (this.conflictLogged !== other?.owner?.id) {
      this.conflictLogged = other?.owner?.id;
      this.o.log.error(
        { instance: this.o.instance, other: other?.owner, self: this.o.owner },
        'another live instance publishes under this cluster.instance: this one does not overwrite it (and does not count as a vantage point) until it is gone; give each instance its own cluster.instance',
      );
    }
    this.o.clock.setTimer(RETRY_MS * 4, () => this.changed());
  }
}

/**
 * Parses a vantage report's head read from etcd; undefined when malformed.
 * `targets` is empty in a head of this version (the views are in its
 * shards: vantage-reader.ts); a head of an earlier version holds them.
 */
export function parseVantageReport(text: string): VantageReport | undefined {
  try {
    const r = JSON.parse(text) as VantageReport;
    if (typeof r?.instance !== 'string') return undefined;
    if (r.shards !== undefined && (!Number.isSafeInteger(r.shards) || r.shards < 1)) return undefined;
    if (r.shards === undefined && (typeof r.targets !== 'object' || r.targets === null)) return undefined;
    if (r.shards !== undefined) r.targets = {};
    for (const v of Object.values(r.targets)) if (v?.health !== 'UP' && v?.health !== 'DOWN' && v?.health !== 'UNKNOWN') return undefined;
    if (r.extraTargets !== undefined && !Array.isArray(r.extraTargets)) r.extraTargets = undefined;
    return r;
  } catch {
    return undefined;
  }
}
