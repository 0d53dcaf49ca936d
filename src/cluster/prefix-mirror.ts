/**
 * A local copy of every key under one etcd prefix: read once, then kept
 * current by a watch that starts right after the read's revision (nothing
 * is missed in between; etcd3 resumes the watch from its last revision
 * after a reconnect). Each change is reported with the key and its new
 * value (undefined when deleted).
 */
import { EventEmitter } from 'node:events';
import type { Etcd3, IKeyValue, Watcher } from 'etcd3';

export class PrefixMirror extends EventEmitter<{ change: [key: string, value: string | undefined]; connected: []; disconnected: [err: unknown] }> {
  private readonly entries = new Map<string, string>();
  private watcher: Watcher | undefined;

  constructor(
    private readonly client: Etcd3,
    readonly prefix: string,
  ) {
    super();
  }

  /** Reads the prefix and starts the watch; a second call (a retried join) does nothing. */
  async start(): Promise<void> {
    if (this.watcher) return;
    const res = await this.client.getAll().prefix(this.prefix).exec();
    for (const kv of res.kvs) this.apply(kv.key.toString(), kv.value.toString());
    const next = (BigInt(res.header.revision) + 1n).toString();
    this.watcher = await this.client.watch().prefix(this.prefix).startRevision(next).create();
    this.watcher.on('put', (kv: IKeyValue) => this.apply(kv.key.toString(), kv.value.toString()));
    this.watcher.on('delete', (kv: IKeyValue) => this.apply(kv.key.toString(), undefined));
    this.watcher.on('connected', () => this.emit('connected'));
    this.watcher.on('disconnected', (err: unknown) => this.emit('disconnected', err));
    this.watcher.on('error', (err: unknown) => this.emit('disconnected', err));
  }

  get(key: string): string | undefined {
    return this.entries.get(key);
  }

  all(): ReadonlyMap<string, string> {
    return this.entries;
  }

  async stop(): Promise<void> {
    await this.watcher?.cancel().catch(() => undefined);
    this.watcher = undefined;
  }

  private apply(key: string, value: string | undefined): void {
    if (value === undefined) {
      if (!this.entries.delete(key)) return;
    } else {
      if (this.entries.get(key) === value) return;
      this.entries.set(key, value);
    }
    this.emit('change', key, value);
  }
}
