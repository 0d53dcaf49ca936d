/**
 * This instance as a vantage point: its per-probe-key health after
 * hysteresis ({ health, since, reason }) published under its lease at
 * /failoverd/<name>/vantage/<instance>. When the instance dies or loses
 * etcd, the lease expires and etcd deletes the key: it stops counting.
 * Changes of one turn of the event loop are published as one put.
 *
 * One key per instance name, one owner per key: the key is created only if
 * absent and then written only while it is still the one this instance
 * created (a transaction on its createRevision). A second live instance
 * with the same `cluster.instance` (the default is the hostname: cloned VMs,
 * containers) is refused at start (checkName()), and one that slips past
 * never overwrites, nor deletes with its lease, the first one's report.
 */
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock.ts';
import type { Health } from '../config/types.ts';
import { FailoverdError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { EtcdPort } from './etcd-port.ts';
import type { EtcdWrites } from './etcd-writes.ts';
import type { KeptLease } from './kept-lease.ts';

/** One probe key's health as seen from one vantage point. */
export interface VantageView {
  health: Health;
  since: number;
  reason?: string;
}

/** Which process publishes a report: tells two instances of one name apart. */
export interface VantageOwner {
  host: string;
  pid: number;
  /** When the process started (epoch ms). */
  startedAt: number;
  /** Random, one per process. */
  id: string;
}

/** What one instance publishes. */
export interface VantageReport {
  instance: string;
  /** When it was published (the instance's clock). */
  at: number;
  /** probe key ("<check>@<address>") → view. */
  targets: Record<string, VantageView>;
  /** The fingerprint of the instance's record sets (config-fingerprint.ts): instances of one cluster agree on it. */
  records?: string;
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
  /** The fingerprint of this instance's record sets. */
  records: () => string;
  /** Target ids this instance knows and the cluster's decisions do not. */
  extraTargets: () => string[];
  owner: VantageOwner;
  /** Where a refused publish is counted, logged (once per cause) and given its retry pause. */
  writes: EtcdWrites;
  clock: Clock;
  log: Logger;
}

export class VantagePublisher {
  private queued: NodeJS.Immediate | undefined;
  private enabled = false;
  private lastPublished: string | undefined;
  /** The createRevision of the key this process created: it writes only that key. */
  private mine: bigint | undefined;
  /** The owner of the other live report of this name, once logged. */
  private conflictLogged: string | undefined;

  constructor(private readonly o: VantagePublisherOptions) {
    // A new lease (after a loss): publish again, under it.
    o.lease.on('granted', () => {
      this.lastPublished = undefined;
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

  /** The local health of some probe key changed: publish at the end of this turn. */
  changed(): void {
    if (!this.enabled || this.queued) return;
    this.queued = setImmediate(() => {
      this.queued = undefined;
      void this.publish();
    });
  }

  stop(): void {
    this.enabled = false;
    if (this.queued) clearImmediate(this.queued);
    this.queued = undefined;
  }

  private async publish(): Promise<void> {
    const leaseId = this.o.lease.id;
    if (leaseId === undefined) return; // published when the lease is granted
    const targets = this.o.views();
    const records = this.o.records();
    const extraTargets = this.o.extraTargets();
    const body = JSON.stringify([targets, records, extraTargets]);
    if (body === this.lastPublished) return;
    const report: VantageReport = { instance: this.o.instance, at: this.o.clock.now(), targets, records, owner: this.o.owner, ...(extraTargets.length ? { extraTargets } : {}) };
    try {
      const res = await this.o.etcd.txn([{ key: this.o.key, createRevision: this.mine ?? 0n }], [{ put: this.o.key, value: JSON.stringify(report), lease: leaseId }]);
      this.o.writes.succeeded('vantage');
      if (res.succeeded) {
        this.mine ??= res.header.revision;
        this.lastPublished = body;
        this.conflictLogged = undefined;
        return;
      }
      // Not the key this process created: gone (its lease ended), ours from before a new lease, or another instance's.
      const kv = (await this.o.etcd.get(this.o.key)).kv;
      const other = kv && parseVantageReport(kv.value);
      if (!kv || other?.owner?.id === this.o.owner.id) {
        this.mine = kv?.createRevision;
        this.lastPublished = undefined;
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
      this.lastPublished = undefined;
      this.o.clock.setTimer(RETRY_MS * 4, () => this.changed());
    } catch (err) {
      const { retryMs } = this.o.writes.failed('vantage', err);
      this.lastPublished = undefined;
      this.o.clock.setTimer(retryMs, () => this.changed());
    }
  }
}

/** Parses a vantage report read from etcd; undefined when malformed. */
export function parseVantageReport(text: string): VantageReport | undefined {
  try {
    const r = JSON.parse(text) as VantageReport;
    if (typeof r?.instance !== 'string' || typeof r.targets !== 'object' || r.targets === null) return undefined;
    for (const v of Object.values(r.targets)) if (v?.health !== 'UP' && v?.health !== 'DOWN' && v?.health !== 'UNKNOWN') return undefined;
    if (r.extraTargets !== undefined && !Array.isArray(r.extraTargets)) r.extraTargets = undefined;
    return r;
  } catch {
    return undefined;
  }
}
