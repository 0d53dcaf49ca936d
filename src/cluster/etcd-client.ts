/**
 * The EtcdPort over the etcd3 client (1.1.2), made from the cluster
 * section: TLS and password read from their files (never logged).
 *
 * What it changes from etcd3's defaults, and why:
 * - Two etcd3 clients, two connection pools: one for leases only (grant,
 *   keep-alive, revoke), one for everything else. A large or failing write
 *   shares neither an HTTP/2 connection nor a circuit breaker with the
 *   keep-alives, so it cannot take the lease (and leadership) down with it.
 * - etcd3 wraps every call in cockatiel policies: per host, a breaker that
 *   opens after 3 consecutive "recoverable" errors and refuses every call
 *   to that host (keep-alive streams included) for 5 s; globally, 3
 *   attempts. A refused write is "recoverable" to it (RESOURCE_EXHAUSTED:
 *   a request over gRPC's size limit, or NOSPACE), so one oversized write
 *   tried 3 times opened the breaker: leadership flapped every 2-4 s at
 *   5,000 record sets. Here the breaker counts only errors of the host
 *   itself (UNAVAILABLE: refused or reset connections; a deadline) and
 *   half-opens after 1 s; the retry retries only UNAVAILABLE, once, on
 *   another host.
 * - Watches and keep-alives are raw gRPC streams, not etcd3's Watcher and
 *   Lease: etcd3's Watcher resumes silently after a reconnect and hides
 *   the compact revision and the header of a re-created watch (a reset of
 *   etcd goes unseen); closing an etcd3 client does not end its Lease's
 *   keep-alive stream. Here a watch reports its end and the caller resumes
 *   (prefix-mirror.ts); one keep-alive is one short stream with a deadline
 *   (kept-lease.ts runs the loop on the Clock).
 * Unary calls get a deadline, so a member behind a blackhole fails a call
 * instead of hanging it.
 */
import { readFileSync } from 'node:fs';
import { circuitBreaker, ConsecutiveBreaker, handleWhen, retry, ConstantBackoff } from 'cockatiel';
import {
  Etcd3,
  GRPCDeadlineExceededError,
  GRPCUnavailableError,
  Range,
  castGrpcError,
  type IKeyValue,
  type IOptions,
  type IResponseHeader,
  type IWatchResponse,
} from 'etcd3';
import type { ClusterConfig } from '../config/cluster.ts';
import type { EtcdCompare, EtcdHeader, EtcdKeyValue, EtcdOp, EtcdPort, EtcdWatch, EtcdWatchMessage } from './etcd-port.ts';
import { systemClock } from '../clock.ts';

/** How long one unary etcd call (and one keep-alive) may take. */
export const ETCD_CALL_DEADLINE_MS = 2000;

/** Keys per page of a prefix read (a decision is about 1 KB: a page stays far below gRPC's 4 MiB message limit). */
export const GET_PREFIX_PAGE = 1000;

/** How long a host whose connection failed 3 times in a row is skipped. */
export const HOST_BREAKER_OPEN_MS = 1000;

/** Errors of the host itself (not of the request): what the breaker counts and the retry retries. */
const hostDown = (err: Error): boolean => err instanceof GRPCUnavailableError;
const hostDownOrSlow = (err: Error): boolean => hostDown(err) || err instanceof GRPCDeadlineExceededError;

function faultHandling(): NonNullable<IOptions['faultHandling']> {
  return {
    host: () => circuitBreaker(handleWhen(hostDownOrSlow), { halfOpenAfter: HOST_BREAKER_OPEN_MS, breaker: new ConsecutiveBreaker(3) }),
    global: retry(handleWhen(hostDown), { maxAttempts: 1, backoff: new ConstantBackoff(50) }),
  };
}

/** The client options failoverd uses for these endpoints: the policies and deadlines above, no TLS or auth. */
export function baseEtcdOptions(endpoints: string[]): IOptions {
  return {
    hosts: endpoints,
    dialTimeout: ETCD_CALL_DEADLINE_MS,
    faultHandling: faultHandling(),
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: new Date(systemClock.now() + ETCD_CALL_DEADLINE_MS) }),
  };
}

/** The client options of the cluster section: the base ones, with TLS and the password read from their files. */
export function etcdOptions(c: ClusterConfig): IOptions {
  const { tls, auth } = c.etcd;
  return {
    ...baseEtcdOptions(c.etcd.endpoints),
    ...(tls
      ? {
          credentials: {
            rootCertificate: readFileSync(tls.ca),
            ...(tls.cert !== undefined && tls.key !== undefined ? { certChain: readFileSync(tls.cert), privateKey: readFileSync(tls.key) } : {}),
          },
        }
      : {}),
    ...(auth ? { auth: { username: auth.username, password: readFileSync(auth.passwordFile, 'utf8').replace(/\r?\n$/, '') } } : {}),
  };
}

export function createEtcdPort(c: ClusterConfig): EtcdPort {
  return Etcd3Port.connect(etcdOptions(c));
}

function header(h: IResponseHeader): EtcdHeader {
  return { revision: BigInt(h.revision), clusterId: String(h.cluster_id), memberId: String(h.member_id) };
}

function keyValue(kv: IKeyValue): EtcdKeyValue {
  return { key: kv.key.toString(), value: kv.value.toString(), createRevision: BigInt(kv.create_revision), modRevision: BigInt(kv.mod_revision), lease: String(kv.lease) };
}

/** A cancelable gRPC duplex stream, as etcd3's RPC clients hand them out. */
interface Duplex {
  readonly writable: boolean;
  write(msg: unknown): boolean;
  end(): void;
  cancel(): void;
  on(event: string, fn: (arg: never) => void): Duplex;
}

export class Etcd3Port implements EtcdPort {
  private readonly streams = new Set<Duplex>();
  private closed = false;

  /** A port on two clients made with these options: one for leases, one for the rest (each with its own policies: faultHandling() makes new ones per client). */
  static connect(options: IOptions): Etcd3Port {
    return new Etcd3Port(new Etcd3(options), new Etcd3({ ...options, faultHandling: faultHandling() }));
  }

  constructor(
    /** Reads, writes, transactions, watches. */
    private readonly data: Etcd3,
    /** Lease grant, keep-alive and revoke only: its breaker and connection are not the writes'. */
    private readonly leases: Etcd3 = data,
  ) {}

  async get(key: string): Promise<{ header: EtcdHeader; kv: EtcdKeyValue | undefined }> {
    const res = await this.data.kv.range({ key: Buffer.from(key) });
    return { header: header(res.header), kv: res.kvs[0] ? keyValue(res.kvs[0]) : undefined };
  }

  /**
   * Read in pages of GET_PREFIX_PAGE keys, all at the first page's revision:
   * one answer of 10,000 decisions (about 9 MB) would pass gRPC's 4 MiB
   * default limit on a received message.
   */
  async getPrefix(prefix: string): Promise<{ header: EtcdHeader; kvs: EtcdKeyValue[] }> {
    const r = Range.prefix(prefix);
    const first = await this.data.kv.range({ key: r.start, range_end: r.end, limit: GET_PREFIX_PAGE });
    const kvs = first.kvs.map(keyValue);
    let more = first.more;
    for (let page = 0; more && page < 100_000; page++) {
      const after = Buffer.concat([first.kvs.length > 0 ? Buffer.from(kvs.at(-1)!.key) : r.start, Buffer.from([0])]);
      const res = await this.data.kv.range({ key: after, range_end: r.end, limit: GET_PREFIX_PAGE, revision: first.header.revision });
      kvs.push(...res.kvs.map(keyValue));
      more = res.more && res.kvs.length > 0;
    }
    return { header: header(first.header), kvs };
  }

  async put(key: string, value: string, opts: { lease?: string } = {}): Promise<EtcdHeader> {
    const res = await this.data.kv.put({ key: Buffer.from(key), value: Buffer.from(value), ...(opts.lease !== undefined ? { lease: opts.lease } : {}) });
    return header(res.header);
  }

  async delete(key: string): Promise<EtcdHeader> {
    const res = await this.data.kv.deleteRange({ key: Buffer.from(key) });
    return header(res.header);
  }

  async txn(compares: EtcdCompare[], ops: EtcdOp[]): Promise<{ succeeded: boolean; header: EtcdHeader }> {
    const res = await this.data.kv.txn({
      compare: compares.map((c) =>
        'createRevision' in c
          ? { key: Buffer.from(c.key), target: 'Create' as const, result: 'Equal' as const, create_revision: c.createRevision.toString() }
          : { key: Buffer.from(c.key), target: 'Value' as const, result: 'Equal' as const, value: Buffer.from(c.value) },
      ),
      success: ops.map((op) =>
        'put' in op
          ? { request_put: { key: Buffer.from(op.put), value: Buffer.from(op.value), ...(op.lease !== undefined ? { lease: op.lease } : {}) } }
          : { request_delete_range: { key: Buffer.from(op.delete) } },
      ),
    });
    return { succeeded: res.succeeded, header: header(res.header) };
  }

  watch(prefix: string, fromRevision: bigint, listener: (m: EtcdWatchMessage) => void): EtcdWatch {
    let ended = false;
    let stream: Duplex | undefined;
    const end = (m: EtcdWatchMessage & { kind: 'canceled' }): void => {
      if (ended) return;
      ended = true;
      if (stream) this.release(stream);
      listener(m);
    };
    const r = Range.prefix(prefix);
    this.data.watchClient
      .watch()
      .then((s) => {
        stream = s as unknown as Duplex;
        if (ended || this.closed) {
          this.release(stream);
          return;
        }
        this.streams.add(stream);
        stream
          .on('data', (res: IWatchResponse) => {
            if (ended) return;
            if (res.canceled) {
              const compact = BigInt(res.compact_revision ?? 0);
              end(compact > 0n ? { kind: 'canceled', cause: 'compacted', compactRevision: compact, reason: `revision ${fromRevision} was compacted (compact revision ${compact})` } : { kind: 'canceled', cause: 'canceled', reason: res.cancel_reason || 'canceled by etcd' });
              return;
            }
            if (res.created) {
              listener({ kind: 'created', header: header(res.header) });
              return;
            }
            listener({
              kind: 'events',
              header: header(res.header),
              events: res.events.map((e) => (e.type === 'Delete' ? { type: 'delete' as const, key: e.kv.key.toString(), modRevision: BigInt(e.kv.mod_revision) } : { type: 'put' as const, kv: keyValue(e.kv) })),
            });
          })
          .on('error', (err: Error) => end({ kind: 'canceled', cause: 'error', reason: err.message, err: castGrpcError(err) }))
          .on('end', () => end({ kind: 'canceled', cause: 'error', reason: 'the watch stream ended' }));
        stream.write({ create_request: { key: r.start, range_end: r.end, start_revision: fromRevision.toString(), progress_notify: true } });
      })
      .catch((err: unknown) => end({ kind: 'canceled', cause: 'error', reason: err instanceof Error ? err.message : String(err), err }));
    return {
      cancel: async () => {
        if (ended) return;
        ended = true;
        if (stream) this.release(stream);
      },
    };
  }

  async leaseGrant(ttlSeconds: number): Promise<string> {
    const res = await this.leases.leaseClient.leaseGrant({ TTL: ttlSeconds });
    return String(res.ID);
  }

  async leaseKeepAlive(id: string): Promise<number> {
    const stream = (await this.leases.leaseClient.leaseKeepAlive()) as unknown as Duplex;
    this.streams.add(stream);
    try {
      return await new Promise<number>((resolve, reject) => {
        const timer = systemClock.setTimer(ETCD_CALL_DEADLINE_MS, () => reject(new GRPCDeadlineExceededError('lease keep-alive: no answer within the deadline')));
        const done = (): void => timer.cancel();
        stream
          .on('data', (res: { TTL: string }) => {
            done();
            resolve(Number(res.TTL));
          })
          .on('error', (err: Error) => {
            done();
            reject(castGrpcError(err));
          })
          .on('end', () => {
            done();
            reject(new GRPCUnavailableError('lease keep-alive: the stream ended'));
          });
        stream.write({ ID: id });
      });
    } finally {
      this.release(stream);
    }
  }

  async leaseRevoke(id: string): Promise<void> {
    await this.leases.leaseClient.leaseRevoke({ ID: id });
  }

  async alarms(): Promise<string[]> {
    const res = await this.data.maintenance.alarm({ action: 'Get', memberID: 0, alarm: 'None' });
    // etcd3 names them as its enum does ("Nospace"); etcdctl and etcd's docs say NOSPACE.
    return [...new Set((res.alarms ?? []).map((a) => String(a.alarm).toUpperCase()))].sort();
  }

  /**
   * Ends a stream: half-closed first, so etcd3's error handler (which
   * resets the host's connections on an error of a writable stream) does
   * not take the cancel for a failure.
   */
  private release(stream: Duplex): void {
    this.streams.delete(stream);
    if (stream.writable) stream.end();
    stream.cancel();
  }

  close(): void {
    this.closed = true;
    for (const s of [...this.streams]) this.release(s);
    this.data.close();
    if (this.leases !== this.data) this.leases.close();
  }
}
