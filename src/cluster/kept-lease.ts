/**
 * An etcd lease that is kept: granted, renewed every TTL/3 (as etcd's Go
 * client does) on the Clock, and granted again whenever it is lost. It
 * says whether it is fresh: etcd confirmed it within the last TTL. etcd
 * may expire a lease one TTL after its last renewal, so a holder stops
 * acting on a stale one (leadership, serving as a vantage point) and the
 * lease is kept trying. Freshness counts from when the confirmed grant or
 * renewal was sent, not from its answer: etcd restarts the TTL somewhere in
 * between, so a holder never believes in a lease etcd may already have
 * expired (a process paused past its lease sees it stale on resuming, before
 * any answer). Renewals are sent every TTL/3 from the last send, as etcd's
 * Go client does, so a slow answer does not shorten the margin twice. A
 * renewal that succeeds makes it fresh again (it
 * was still alive), one that etcd answers with TTL 0 (gone), or no
 * confirmation for 2 × TTL, makes it lost, and a new one is granted.
 * The keep-alives run through the port's lease connection only
 * (etcd-client.ts): a failing write does not delay or break them.
 */
import { EventEmitter } from 'node:events';
import type { Clock, TimerHandle } from '../clock.ts';
import type { EtcdPort } from './etcd-port.ts';

/** The pause before granting again after a failed grant. */
export const REGRANT_PAUSE_MS = 250;

/** The longest pause before trying a failed keep-alive again. */
export const KEEPALIVE_RETRY_MS = 500;

export class KeptLease extends EventEmitter<{ granted: [id: string]; lost: [err: unknown] }> {
  private leaseId: string | undefined;
  /** When the last grant or renewal etcd confirmed was sent. */
  private lastKeepAlive = 0;
  private timer: TimerHandle | undefined;
  private closed = false;
  /** Bumped on every grant and loss: a late answer about an older lease is ignored. */
  private generation = 0;

  constructor(
    private readonly etcd: EtcdPort,
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
    if (this.leaseId !== undefined) return Promise.resolve(this.leaseId);
    const first = new Promise<string>((resolve) => this.once('granted', resolve));
    if (this.timer === undefined) this.grant();
    return first;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.generation++;
    this.timer?.cancel();
    this.timer = undefined;
    const id = this.leaseId;
    this.leaseId = undefined;
    if (id !== undefined) await this.etcd.leaseRevoke(id).catch(() => undefined);
  }

  private get interval(): number {
    return (this.ttlSeconds * 1000) / 3;
  }

  private schedule(ms: number, fn: () => void): void {
    this.timer?.cancel();
    const gen = this.generation;
    this.timer = this.clock.setTimer(ms, () => {
      this.timer = undefined;
      if (gen === this.generation && !this.closed) fn();
    });
  }

  private grant(): void {
    if (this.closed) return;
    const gen = ++this.generation;
    const sentAt = this.clock.now();
    this.etcd.leaseGrant(this.ttlSeconds).then(
      (id) => {
        if (gen !== this.generation || this.closed) {
          void this.etcd.leaseRevoke(id).catch(() => undefined);
          return;
        }
        this.leaseId = id;
        this.lastKeepAlive = sentAt;
        this.scheduleRenewal(sentAt);
        this.emit('granted', id);
      },
      () => {
        if (gen === this.generation && !this.closed) this.schedule(REGRANT_PAUSE_MS, () => this.grant());
      },
    );
  }

  private keepAlive(): void {
    const id = this.leaseId;
    if (id === undefined || this.closed) return;
    const gen = this.generation;
    const sentAt = this.clock.now();
    this.etcd.leaseKeepAlive(id).then(
      (ttl) => {
        if (gen !== this.generation || this.closed) return;
        if (ttl <= 0) return this.lose(new Error(`etcd lease ${id} is gone (expired or revoked)`));
        this.lastKeepAlive = sentAt;
        this.scheduleRenewal(sentAt);
      },
      (err: unknown) => {
        if (gen !== this.generation || this.closed) return;
        if (this.sinceConfirmed() >= 2 * this.ttlSeconds * 1000) return this.lose(err);
        this.schedule(Math.min(this.interval, KEEPALIVE_RETRY_MS), () => this.keepAlive());
      },
    );
  }

  /** The next renewal a third of the TTL after the last one was sent (at once when its answer took longer). */
  private scheduleRenewal(sentAt: number): void {
    this.schedule(Math.max(0, sentAt + this.interval - this.clock.now()), () => this.keepAlive());
  }

  private lose(err: unknown): void {
    const id = this.leaseId;
    this.leaseId = undefined;
    this.generation++;
    // Best effort: a lease that is merely unconfirmed should not outlive its replacement.
    if (id !== undefined) void this.etcd.leaseRevoke(id).catch(() => undefined);
    this.emit('lost', err);
    this.schedule(REGRANT_PAUSE_MS, () => this.grant());
  }
}
