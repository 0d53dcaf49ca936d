/**
 * The narrow port the cluster code talks to etcd through: keys and values
 * as strings, revisions as bigints, every answer with its response header
 * (cluster id, member id, revision) so a caller can tell when etcd was
 * replaced under it. One implementation runs over the etcd3 client
 * (etcd-client.ts); the unit tests run the same cluster code on an
 * in-memory fake with revisions, compaction, resets and lease expiry.
 */

/** The header of every etcd answer. */
export interface EtcdHeader {
  /** The store's revision when the answer was made (cluster-wide, grows with every write). */
  revision: bigint;
  clusterId: string;
  memberId: string;
}

export interface EtcdKeyValue {
  key: string;
  value: string;
  createRevision: bigint;
  modRevision: bigint;
  /** The lease the key is attached to, '0' for none. */
  lease: string;
}

/** A condition of a transaction. */
export type EtcdCompare =
  /** The key's createRevision equals this (0n: the key does not exist). The leader's fence. */
  | { key: string; createRevision: bigint }
  /** The key holds exactly this value. */
  | { key: string; value: string };

/** One operation of a transaction. */
export type EtcdOp = { put: string; value: string; lease?: string } | { delete: string };

export type EtcdWatchEvent = { type: 'put'; kv: EtcdKeyValue } | { type: 'delete'; key: string; modRevision: bigint };

/** Why a watch ended (after which it sends nothing more). */
export type WatchCancelCause =
  /** The revision it resumed from was compacted: re-list. */
  | 'compacted'
  /** etcd canceled it (e.g. a permission or a shutdown of the member). */
  | 'canceled'
  /** The stream broke (member down, network): watch again from the last revision seen. */
  | 'error';

export type EtcdWatchMessage =
  /** The watch is in place; the header is the revision of the member's store at that moment. */
  | { kind: 'created'; header: EtcdHeader }
  /** Changes (empty for a progress notification), in revision order. */
  | { kind: 'events'; header: EtcdHeader; events: EtcdWatchEvent[] }
  | { kind: 'canceled'; cause: WatchCancelCause; compactRevision?: bigint; reason: string; err?: unknown };

export interface EtcdWatch {
  /** Ends the watch; no message follows. */
  cancel(): Promise<void>;
}

export interface EtcdPort {
  /** One key (undefined when absent), with the header. */
  get(key: string): Promise<{ header: EtcdHeader; kv: EtcdKeyValue | undefined }>;
  /** Every key under a prefix, in key order, read at one revision (the header's). */
  getPrefix(prefix: string): Promise<{ header: EtcdHeader; kvs: EtcdKeyValue[] }>;
  put(key: string, value: string, opts?: { lease?: string }): Promise<EtcdHeader>;
  delete(key: string): Promise<EtcdHeader>;
  /** Runs `ops` only if every compare holds; `succeeded` says which. */
  txn(compares: EtcdCompare[], ops: EtcdOp[]): Promise<{ succeeded: boolean; header: EtcdHeader }>;
  /**
   * Watches every key under `prefix` from `fromRevision` (inclusive). The
   * listener gets 'created', then 'events', until one 'canceled'. The watch
   * never re-opens itself: the caller decides how to resume.
   */
  watch(prefix: string, fromRevision: bigint, listener: (m: EtcdWatchMessage) => void): EtcdWatch;
  /** Grants a lease; resolves with its id. */
  leaseGrant(ttlSeconds: number): Promise<string>;
  /** Renews a lease once; resolves with the TTL etcd gave it (0: the lease is gone). */
  leaseKeepAlive(id: string): Promise<number>;
  /** Revokes a lease (etcd deletes its keys). */
  leaseRevoke(id: string): Promise<void>;
  /** The alarms raised on any member (`etcdctl alarm list`), each name once, upper case: e.g. ["NOSPACE"]; empty when none. */
  alarms(): Promise<string[]>;
  /** Ends every watch and keep-alive and closes the connections. */
  close(): void;
}

/** True when `a` and `b` are answers of the same etcd cluster, the revision not going backwards from `a` to `b`. */
export function sameHistory(a: EtcdHeader, b: EtcdHeader): boolean {
  return a.clusterId === b.clusterId && b.revision >= a.revision;
}
