/**
 * Leadership on etcd's standard recipe, not etcd3's Election helper:
 * - a candidate creates the leader key under its own lease in a transaction
 *   guarded by createRevision == 0 (the key does not exist);
 * - the winner remembers the key's createRevision; every leader write is a
 *   transaction guarded by createRevision == mine, so a deposed leader (its
 *   lease expired, the key deleted or re-created by another) is refused;
 * - losers watch the key and campaign again when it is deleted (lease
 *   expiry deletes it), and also every TTL in case a watch event was lost;
 * - a leader whose lease etcd has not confirmed for a TTL steps down at once
 *   (etcd may already have expired it and elected another), and takes the
 *   key back if it turns out to be still its own.
 *
 * The leader key is followed by a PrefixMirror: it recovers by itself after
 * a compaction or a reset of etcd like every other watch.
 */
import { EventEmitter } from 'node:events';
import { systemClock, type Clock, type TimerHandle } from '../clock.ts';
import type { EtcdOp, EtcdPort } from './etcd-port.ts';
import { KeptLease } from './kept-lease.ts';
import { PrefixMirror } from './prefix-mirror.ts';

/** elected, deposed; error: a campaign failed (etcd refused or did not answer); campaigned: etcd took a campaign's write (won or not). */
export class Leadership extends EventEmitter<{ elected: []; deposed: []; error: [err: unknown]; campaigned: [] }> {
  readonly lease: KeptLease;
  private readonly watched: PrefixMirror;
  private watching = false;
  private myRevision: bigint | undefined;
  private closed = false;
  private tick: TimerHandle | undefined;
  private attempting: Promise<void> | undefined;

  constructor(
    private readonly etcd: EtcdPort,
    /** The leader key, e.g. "/failoverd/<cluster>/leader". */
    private readonly key: string,
    /** This instance's name, stored as the key's value. */
    private readonly instance: string,
    leaseTtlSeconds: number,
    private readonly clock: Clock = systemClock,
  ) {
    super();
    this.lease = new KeptLease(etcd, leaseTtlSeconds, clock);
    this.watched = new PrefixMirror(etcd, key, { clock });
    this.watched.on('change', (k, value) => {
      if (k === key && value === undefined) void this.campaign();
    });
    this.lease.on('lost', () => {
      this.depose();
      this.campaign();
    });
    this.lease.on('granted', () => this.campaign());
  }

  /** True while this instance holds the leader key it created and etcd confirmed its lease within a TTL. */
  get isLeader(): boolean {
    return this.myRevision !== undefined && this.lease.fresh();
  }

  /** The leader key's createRevision while leader: what fenced writes compare against. */
  get fence(): string | undefined {
    return this.isLeader ? this.myRevision?.toString() : undefined;
  }

  /** The mirror of the leader key (its state and recoveries are the node's to report). */
  get keyMirror(): PrefixMirror {
    return this.watched;
  }

  /** Starts campaigning; resolves after the first attempt (leader or follower). */
  async start(): Promise<void> {
    if (this.watching) return;
    await this.watched.start();
    this.watching = true;
    await this.lease.start();
    await this.campaign();
    this.scheduleTick();
  }

  /** The name of the current leader, or undefined when there is none. */
  async leader(): Promise<string | undefined> {
    return (await this.etcd.get(this.key)).kv?.value;
  }

  /** Writes `value` under `key` only while this instance is still the leader (the fence). Returns false when refused. */
  fencedPut(key: string, value: string): Promise<boolean> {
    return this.fencedTxn([{ put: key, value }]);
  }

  /** Runs `ops` in one transaction only while this instance is still the leader (the fence). Returns false when refused. */
  async fencedTxn(ops: EtcdOp[]): Promise<boolean> {
    const rev = this.isLeader ? this.myRevision : undefined;
    if (rev === undefined) return false;
    const res = await this.etcd.txn([{ key: this.key, createRevision: rev }], ops);
    if (!res.succeeded) this.depose();
    return res.succeeded;
  }

  /** Stops campaigning and gives up leadership (revokes the lease, which deletes the key). */
  async close(): Promise<void> {
    this.closed = true;
    this.tick?.cancel();
    await this.watched.stop();
    this.watching = false;
    this.myRevision = undefined;
    await this.lease.close();
  }

  /** One campaign at a time; errors are reported, and the next tick tries again. */
  campaign(): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (this.attempting) return this.attempting;
    const run = this.attempt()
      .catch((err: unknown) => void this.emit('error', err))
      .finally(() => (this.attempting = undefined));
    this.attempting = run;
    return run;
  }

  private scheduleTick(): void {
    if (this.closed) return;
    // A third of the TTL: a stale lease is noticed well within a TTL.
    this.tick = this.clock.setTimer((this.lease.ttlSeconds * 1000) / 3, () => {
      if (this.myRevision !== undefined && !this.lease.fresh()) this.depose();
      if (!this.isLeader) void this.campaign();
      this.scheduleTick();
    });
  }

  private async attempt(): Promise<void> {
    if (this.closed || this.isLeader) return;
    const leaseId = this.lease.id;
    if (leaseId === undefined || !this.lease.fresh()) return;
    await this.etcd.txn([{ key: this.key, createRevision: 0n }], [{ put: this.key, value: this.instance, lease: leaseId }]);
    this.emit('campaigned');
    const kv = (await this.etcd.get(this.key)).kv;
    // Won now, or the key is still ours from before a stale spell.
    if (kv === undefined || kv.lease !== leaseId || this.closed) return;
    this.myRevision = kv.createRevision;
    this.emit('elected');
  }

  private depose(): void {
    if (this.myRevision === undefined) return;
    this.myRevision = undefined;
    this.emit('deposed');
  }
}
