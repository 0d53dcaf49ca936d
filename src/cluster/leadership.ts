/**
 * Leadership on etcd's standard recipe, not etcd3's Election helper:
 * - a candidate creates the leader key under its own lease in a transaction
 *   guarded by createRevision == 0 (the key does not exist);
 * - the winner remembers the key's createRevision; every leader write is a
 *   transaction guarded by createRevision == mine, so a deposed leader (its
 *   lease expired, the key deleted or re-created by another) is refused;
 * - losers watch the key and campaign again when it is deleted (lease
 *   expiry deletes it).
 */
import { EventEmitter } from 'node:events';
import type { Etcd3, Lease, Watcher } from 'etcd3';

export class Leadership extends EventEmitter {
  private lease: Lease | undefined;
  private watcher: Watcher | undefined;
  private myRevision: string | undefined;
  private closed = false;

  constructor(
    private readonly client: Etcd3,
    /** The leader key, e.g. "failoverd/<cluster>/leader". */
    private readonly key: string,
    /** This instance's name, stored as the key's value. */
    private readonly instance: string,
    private readonly leaseTtlSeconds: number,
  ) {
    super();
  }

  /** True while this instance holds the leader key it created. */
  get isLeader(): boolean {
    return this.myRevision !== undefined;
  }

  /** Starts campaigning; resolves after the first attempt (leader or follower). */
  async start(): Promise<void> {
    this.watcher = await this.client.watch().key(this.key).create();
    this.watcher.on('delete', () => void this.attempt().catch((err: unknown) => this.emit('error', err)));
    await this.attempt();
  }

  /** The name of the current leader, or undefined when there is none. */
  async leader(): Promise<string | undefined> {
    return (await this.client.get(this.key).string()) ?? undefined;
  }

  /** Writes `value` under `key` only while this instance is still the leader (the fence). Returns false when refused. */
  async fencedPut(key: string, value: string): Promise<boolean> {
    const rev = this.myRevision;
    if (rev === undefined) return false;
    const res = await this.client.if(this.key, 'Create', '==', rev).then(this.client.put(key).value(value)).commit();
    if (!res.succeeded) this.depose();
    return res.succeeded;
  }

  /** Stops campaigning and gives up leadership (revokes the lease, which deletes the key). */
  async close(): Promise<void> {
    this.closed = true;
    await this.watcher?.cancel();
    const lease = this.lease;
    this.lease = undefined;
    this.myRevision = undefined;
    await lease?.revoke().catch(() => undefined);
  }

  private async attempt(): Promise<void> {
    if (this.closed || this.isLeader) return;
    if (this.lease === undefined) {
      const lease = this.client.lease(this.leaseTtlSeconds);
      lease.on('lost', () => {
        if (this.lease === lease) this.lease = undefined;
        this.depose();
        void this.attempt().catch((err: unknown) => this.emit('error', err));
      });
      this.lease = lease;
    }
    const leaseId = await this.lease.grant();
    const res = await this.client
      .if(this.key, 'Create', '==', 0)
      .then(this.client.put(this.key).value(this.instance).lease(leaseId))
      .else(this.client.get(this.key))
      .commit();
    if (!res.succeeded) return;
    const got = await this.client.get(this.key).exec();
    const kv = got.kvs[0];
    if (kv === undefined || kv.lease !== leaseId) return;
    this.myRevision = kv.create_revision;
    this.emit('elected');
  }

  private depose(): void {
    if (this.myRevision === undefined) return;
    this.myRevision = undefined;
    this.emit('deposed');
  }
}
