/**
 * An in-memory etcd behind the EtcdPort, for fast unit tests of the
 * cluster code (the real-etcd tests stay beside them). It keeps what the
 * cluster code depends on: one revision for the whole store, createRevision
 * and modRevision per key, a history that watches replay from any revision
 * and that compact() cuts (a watch from below it is canceled "compacted"),
 * leases that expire on the Clock and delete their keys, and the response
 * header of every answer. A test breaks it on purpose: breakWatches() (a
 * member restart), reset() (etcd replaced by an empty one: a wipe or a
 * restore; the revision goes back), down (every call fails, as etcd
 * unreachable), noSpace (etcd's NOSPACE alarm: every put, transaction with
 * a put and lease grant refused as etcd refuses them, the alarm listed),
 * and fail() (inject an error into chosen calls).
 * Answers and watch messages arrive on a later microtask, as over a network.
 */
import type { Clock, TimerHandle } from '../../src/clock.ts';
import type { EtcdCompare, EtcdHeader, EtcdKeyValue, EtcdOp, EtcdPort, EtcdWatch, EtcdWatchEvent, EtcdWatchMessage } from '../../src/cluster/etcd-port.ts';

export type FakeEtcdCall = 'get' | 'getPrefix' | 'put' | 'delete' | 'txn' | 'watch' | 'leaseGrant' | 'leaseKeepAlive' | 'leaseRevoke' | 'alarms';

export class FakeEtcdError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FakeEtcdError';
  }
}

interface StoredKey {
  value: string;
  createRevision: bigint;
  modRevision: bigint;
  lease: string;
}

interface FakeWatch {
  prefix: string;
  /** The next revision it has to deliver. */
  next: bigint;
  listener: (m: EtcdWatchMessage) => void;
  open: boolean;
}

interface FakeLease {
  ttl: number;
  timer: TimerHandle;
}

let clusterSeq = 0;

export class FakeEtcd implements EtcdPort {
  private keys = new Map<string, StoredKey>();
  private history: Array<{ revision: bigint; events: EtcdWatchEvent[] }> = [];
  private rev = 1n;
  private compacted = 0n;
  private clusterId = `fake-cluster-${++clusterSeq}`;
  private readonly memberId = 'fake-member-1';
  private readonly watches = new Set<FakeWatch>();
  private readonly leases = new Map<string, FakeLease>();
  private leaseSeq = 0;
  private faults: Array<{ calls: ReadonlySet<FakeEtcdCall>; times: number; applied: boolean; error: (key: string | undefined) => Error | undefined }> = [];
  private isDown = false;
  /** etcd's NOSPACE alarm is raised: writes that add data are refused (reads, deletes, keep-alives pass). */
  noSpace = false;
  /** Every call made, by kind (for assertions). */
  readonly calls = new Map<FakeEtcdCall, number>();

  constructor(private readonly clock: Clock) {}

  /** While down every call fails and every watch breaks (etcd unreachable). */
  get down(): boolean {
    return this.isDown;
  }

  set down(v: boolean) {
    this.isDown = v;
    if (v) this.breakWatches('etcd is unreachable');
  }

  /** The store's revision. */
  get revision(): bigint {
    return this.rev;
  }

  get compactRevision(): bigint {
    return this.compacted;
  }

  /** Open watches (for assertions). */
  get openWatches(): number {
    return [...this.watches].filter((w) => w.open).length;
  }

  /** The value of a key, read without a call. */
  peek(key: string): string | undefined {
    return this.keys.get(key)?.value;
  }

  /** Live leases (for assertions). */
  leaseIds(): string[] {
    return [...this.leases.keys()];
  }

  /**
   * Injects an error into the next `times` calls of these kinds (Infinity:
   * until cleared); `when` may pick calls by key, returning the error or
   * undefined to let the call through; `applied`: the call takes effect
   * and only its answer is lost. Returns a function that clears it.
   */
  fail(calls: FakeEtcdCall[], opts: { times?: number; message?: string; applied?: boolean; when?: (key: string | undefined) => boolean } = {}): () => void {
    const fault = {
      calls: new Set(calls),
      times: opts.times ?? 1,
      applied: opts.applied ?? false,
      error: (key: string | undefined) => (opts.when === undefined || opts.when(key) ? new FakeEtcdError(opts.message ?? `injected failure of ${calls.join('/')}`) : undefined),
    };
    this.faults.push(fault);
    return () => {
      this.faults = this.faults.filter((f) => f !== fault);
    };
  }

  /** Compacts the history before `revision` (default: the current one), as etcd: a watch from below it is canceled "compacted". */
  compact(revision = this.rev): void {
    this.compacted = revision;
    this.history = this.history.filter((h) => h.revision >= revision);
  }

  /** Every watch stream breaks (a member restart, a network blip): each gets a 'canceled' with cause 'error'. */
  breakWatches(reason = 'the watch stream broke'): void {
    for (const w of [...this.watches]) this.end(w, { kind: 'canceled', cause: 'error', reason });
  }

  /**
   * etcd replaced by an empty one (a restore from an old backup, a wiped
   * cluster): no keys, no leases, the revision back to 1. Streams break
   * unless `silent` (then open watches wait, blind, for revisions that
   * will not come for a long time); `sameClusterId` keeps the cluster id
   * (a cluster re-created with the same flags has the same one).
   */
  reset(opts: { silent?: boolean; sameClusterId?: boolean } = {}): void {
    this.keys = new Map();
    this.history = [];
    this.rev = 1n;
    this.compacted = 0n;
    for (const l of this.leases.values()) l.timer.cancel();
    this.leases.clear();
    if (!opts.sameClusterId) this.clusterId = `fake-cluster-${++clusterSeq}`;
    if (!opts.silent) this.breakWatches('etcd was replaced');
  }

  /** Expires a lease now, as etcd does when its TTL runs out without a keep-alive. */
  expireLease(id: string): void {
    const l = this.leases.get(id);
    if (!l) return;
    l.timer.cancel();
    this.leases.delete(id);
    const events: EtcdWatchEvent[] = [];
    const revision = this.rev + 1n;
    for (const [key, k] of this.keys) {
      if (k.lease !== id) continue;
      this.keys.delete(key);
      events.push({ type: 'delete', key, modRevision: revision });
    }
    if (events.length > 0) this.commit(events);
  }

  // ---- EtcdPort ----

  get(key: string): Promise<{ header: EtcdHeader; kv: EtcdKeyValue | undefined }> {
    return this.call('get', key, () => ({ header: this.header(), kv: this.kv(key) }));
  }

  getPrefix(prefix: string): Promise<{ header: EtcdHeader; kvs: EtcdKeyValue[] }> {
    return this.call('getPrefix', prefix, () => ({
      header: this.header(),
      kvs: [...this.keys.keys()]
        .filter((k) => k.startsWith(prefix))
        .sort()
        .map((k) => this.kv(k)!),
    }));
  }

  put(key: string, value: string, opts: { lease?: string } = {}): Promise<EtcdHeader> {
    return this.call('put', key, () => {
      this.refuseWhenFull();
      this.commit([this.putEvent(key, value, opts.lease)]);
      return this.header();
    });
  }

  delete(key: string): Promise<EtcdHeader> {
    return this.call('delete', key, () => {
      if (this.keys.has(key)) {
        this.keys.delete(key);
        this.commit([{ type: 'delete', key, modRevision: this.rev + 1n }]);
      }
      return this.header();
    });
  }

  txn(compares: EtcdCompare[], ops: EtcdOp[]): Promise<{ succeeded: boolean; header: EtcdHeader }> {
    return this.call('txn', ops.map((o) => ('put' in o ? o.put : o.delete)).join(','), () => {
      const holds = compares.every((c) => {
        const k = this.keys.get(c.key);
        return 'createRevision' in c ? (k?.createRevision ?? 0n) === c.createRevision : k?.value === c.value;
      });
      // As etcd's capped applier: a transaction with a put is refused whether or not its compares hold.
      if (ops.some((o) => 'put' in o)) this.refuseWhenFull();
      if (!holds) return { succeeded: false, header: this.header() };
      const events: EtcdWatchEvent[] = [];
      for (const op of ops) {
        if ('put' in op) events.push(this.putEvent(op.put, op.value, op.lease));
        else if (this.keys.delete(op.delete)) events.push({ type: 'delete', key: op.delete, modRevision: this.rev + 1n });
      }
      if (events.length > 0) this.commit(events);
      return { succeeded: true, header: this.header() };
    });
  }

  watch(prefix: string, fromRevision: bigint, listener: (m: EtcdWatchMessage) => void): EtcdWatch {
    this.count('watch');
    const w: FakeWatch = { prefix, next: fromRevision, listener, open: true };
    this.watches.add(w);
    queueMicrotask(() => {
      if (!w.open) return;
      const err = this.isDown ? new FakeEtcdError('etcd is down') : this.fault('watch', prefix)?.err;
      if (err) return this.end(w, { kind: 'canceled', cause: 'error', reason: err.message, err });
      w.listener({ kind: 'created', header: this.header() });
      if (!w.open) return;
      if (fromRevision > 0n && fromRevision < this.compacted) {
        return this.end(w, { kind: 'canceled', cause: 'compacted', compactRevision: this.compacted, reason: `revision ${fromRevision} was compacted (compact revision ${this.compacted})` });
      }
      for (const h of this.history) if (h.revision >= w.next) this.deliver(w, h.revision, h.events);
    });
    return {
      cancel: async () => {
        w.open = false;
        this.watches.delete(w);
      },
    };
  }

  leaseGrant(ttlSeconds: number): Promise<string> {
    return this.call('leaseGrant', undefined, () => {
      this.refuseWhenFull();
      const id = String(++this.leaseSeq + 7000);
      this.leases.set(id, { ttl: ttlSeconds, timer: this.clock.setTimer(ttlSeconds * 1000, () => this.expireLease(id)) });
      return id;
    });
  }

  leaseKeepAlive(id: string): Promise<number> {
    return this.call('leaseKeepAlive', id, () => {
      const l = this.leases.get(id);
      if (!l) return 0;
      l.timer.cancel();
      l.timer = this.clock.setTimer(l.ttl * 1000, () => this.expireLease(id));
      return l.ttl;
    });
  }

  leaseRevoke(id: string): Promise<void> {
    return this.call('leaseRevoke', id, () => this.expireLease(id));
  }

  alarms(): Promise<string[]> {
    return this.call('alarms', undefined, () => (this.noSpace ? ['NOSPACE'] : []));
  }

  close(): void {
    for (const w of this.watches) w.open = false;
    this.watches.clear();
  }

  // ---- inside ----

  private refuseWhenFull(): void {
    if (this.noSpace) throw new FakeEtcdError('etcdserver: mvcc: database space exceeded');
  }

  private header(): EtcdHeader {
    return { revision: this.rev, clusterId: this.clusterId, memberId: this.memberId };
  }

  private kv(key: string): EtcdKeyValue | undefined {
    const k = this.keys.get(key);
    return k && { key, value: k.value, createRevision: k.createRevision, modRevision: k.modRevision, lease: k.lease };
  }

  private putEvent(key: string, value: string, lease: string | undefined): EtcdWatchEvent {
    if (lease !== undefined && lease !== '0' && !this.leases.has(lease)) throw new FakeEtcdError('etcdserver: requested lease not found');
    const revision = this.rev + 1n;
    const before = this.keys.get(key);
    const k: StoredKey = { value, createRevision: before?.createRevision ?? revision, modRevision: revision, lease: lease ?? '0' };
    this.keys.set(key, k);
    return { type: 'put', kv: { key, ...k } };
  }

  /** One revision for a write's events (as etcd: a transaction is one revision), delivered to the watches. */
  private commit(events: EtcdWatchEvent[]): void {
    this.rev += 1n;
    const revision = this.rev;
    this.history.push({ revision, events });
    for (const w of this.watches) queueMicrotask(() => this.deliver(w, revision, events));
  }

  private deliver(w: FakeWatch, revision: bigint, events: EtcdWatchEvent[]): void {
    if (!w.open || revision < w.next) return;
    const mine = events.filter((e) => (e.type === 'put' ? e.kv.key : e.key).startsWith(w.prefix));
    w.next = revision + 1n;
    // The header carries the store's revision now (as etcd's): ahead of the events while a watch catches up.
    if (mine.length > 0) w.listener({ kind: 'events', header: this.header(), events: mine });
  }

  private end(w: FakeWatch, m: EtcdWatchMessage): void {
    if (!w.open) return;
    w.open = false;
    this.watches.delete(w);
    queueMicrotask(() => w.listener(m));
  }

  private count(call: FakeEtcdCall): void {
    this.calls.set(call, (this.calls.get(call) ?? 0) + 1);
  }

  private fault(call: FakeEtcdCall, key: string | undefined): { err: Error; applied: boolean } | undefined {
    for (const f of this.faults) {
      if (!f.calls.has(call) || f.times <= 0) continue;
      const err = f.error(key);
      if (!err) continue;
      f.times--;
      if (f.times <= 0) this.faults = this.faults.filter((x) => x !== f);
      return { err, applied: f.applied };
    }
    return undefined;
  }

  private async call<T>(call: FakeEtcdCall, key: string | undefined, run: () => T): Promise<T> {
    this.count(call);
    await Promise.resolve();
    if (this.isDown) throw new FakeEtcdError('etcd is down (unavailable)');
    const f = this.fault(call, key);
    if (!f) return run();
    if (f.applied) run();
    throw f.err;
  }
}
