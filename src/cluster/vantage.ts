/**
 * This instance as a vantage point: its per-probe-key health after
 * hysteresis ({ health, since, reason }) published under its lease at
 * /failoverd/<name>/vantage/<instance>. When the instance dies or loses
 * etcd, the lease expires and etcd deletes the key: it stops counting.
 * Changes of one turn of the event loop are published as one put.
 */
import type { Clock } from '../clock.ts';
import type { Health } from '../config/types.ts';
import type { Logger } from '../log.ts';
import type { EtcdPort } from './etcd-port.ts';
import type { KeptLease } from './kept-lease.ts';

/** One probe key's health as seen from one vantage point. */
export interface VantageView {
  health: Health;
  since: number;
  reason?: string;
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
}

/** The pause before publishing again after a failed put. */
const RETRY_MS = 500;

export class VantagePublisher {
  private queued: NodeJS.Immediate | undefined;
  private enabled = false;
  private lastPublished: string | undefined;

  constructor(
    private readonly etcd: EtcdPort,
    private readonly key: string,
    private readonly instance: string,
    private readonly lease: KeptLease,
    /** This instance's current views, per probe key. */
    private readonly views: () => Record<string, VantageView>,
    /** The fingerprint of this instance's record sets. */
    private readonly records: () => string,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {
    // A new lease (after a loss) carries no key: publish again.
    lease.on('granted', () => {
      this.lastPublished = undefined;
      this.changed();
    });
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
    const leaseId = this.lease.id;
    if (leaseId === undefined) return; // published when the lease is granted
    const targets = this.views();
    const records = this.records();
    const body = JSON.stringify([targets, records]);
    if (body === this.lastPublished) return;
    const report: VantageReport = { instance: this.instance, at: this.clock.now(), targets, records };
    try {
      await this.etcd.put(this.key, JSON.stringify(report), { lease: leaseId });
      this.lastPublished = body;
    } catch (err) {
      this.log.warn({ err }, 'could not publish this vantage point\'s health to etcd: trying again');
      this.lastPublished = undefined;
      this.clock.setTimer(RETRY_MS, () => this.changed());
    }
  }
}

/** Parses a vantage report read from etcd; undefined when malformed. */
export function parseVantageReport(text: string): VantageReport | undefined {
  try {
    const r = JSON.parse(text) as VantageReport;
    if (typeof r?.instance !== 'string' || typeof r.targets !== 'object' || r.targets === null) return undefined;
    for (const v of Object.values(r.targets)) if (v?.health !== 'UP' && v?.health !== 'DOWN' && v?.health !== 'UNKNOWN') return undefined;
    return r;
  } catch {
    return undefined;
  }
}
