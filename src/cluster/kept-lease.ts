/**
 * An etcd lease that is kept: granted, kept alive by the etcd3 client, and
 * granted again (with a pause between attempts) whenever it is lost. It also
 * says whether it is fresh: the last keep-alive answer is younger than the
 * TTL. etcd3 reports a lost lease only once a keep-alive after 2 × TTL
 * fails, while etcd may have expired it after 1 × TTL: a holder must stop
 * acting on it (leadership, serving as a vantage point) once it is stale.
 */
import { EventEmitter } from 'node:events';
import type { Etcd3, Lease } from 'etcd3';
import type { Clock, TimerHandle } from '../clock.ts';

/** The pause before granting again after a failed grant. */
export const REGRANT_PAUSE_MS = 250;

export class KeptLease extends EventEmitter<{ granted: [id: string]; lost: [err: unknown] }> {
  private lease: Lease | undefined;
  private leaseId: string | undefined;
  private lastKeepAlive = 0;
  private retry: TimerHandle | undefined;
  private closed = false;

  constructor(
    private readonly client: Etcd3,
    readonly ttlSeconds: number,
    private readonly clock: Clock,
  ) {
    super();
  }

  /** The granted lease id, or undefined while there is none. */
  get id(): string | undefined {
    return this.leaseId;
  }

  /** True while etcd confirmed the lease within the last TTL. */
  fresh(): boolean {
    return this.leaseId !== undefined && this.clock.now() - this.lastKeepAlive < this.ttlSeconds * 1000;
  }

  /** Milliseconds since etcd last confirmed the lease (Infinity before the first grant). */
  sinceConfirmed(): number {
    return this.lastKeepAlive === 0 ? Infinity : this.clock.now() - this.lastKeepAlive;
  }

  /** Grants the lease (retrying until it succeeds or close()); resolves on the first grant. */
  start(): Promise<string> {
    const first = new Promise<string>((resolve) => this.once('granted', resolve));
    this.grant();
    return first;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.retry?.cancel();
    const lease = this.lease;
    this.lease = undefined;
    this.leaseId = undefined;
    await lease?.revoke().catch(() => undefined);
  }

  private grant(): void {
    if (this.closed) return;
    this.retry = undefined;
    const lease = this.client.lease(this.ttlSeconds);
    this.lease = lease;
    lease.on('keepaliveSucceeded', () => {
      if (this.lease === lease) this.lastKeepAlive = this.clock.now();
    });
    lease.on('lost', (err) => {
      if (this.lease !== lease) return;
      const had = this.leaseId !== undefined;
      this.lease = undefined;
      this.leaseId = undefined;
      if (had) this.emit('lost', err);
      this.scheduleGrant();
    });
    lease.grant().then(
      (id) => {
        if (this.lease !== lease || this.closed) return;
        this.leaseId = id;
        this.lastKeepAlive = this.clock.now();
        this.emit('granted', id);
      },
      () => undefined, // 'lost' fired too: it schedules the next attempt
    );
  }

  private scheduleGrant(): void {
    if (this.closed || this.retry) return;
    this.retry = this.clock.setTimer(REGRANT_PAUSE_MS, () => this.grant());
  }
}
