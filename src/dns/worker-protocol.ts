/**
 * Messages between the main process and its UDP workers (dns.workers > 1),
 * over the cluster IPC channel with 'advanced' serialization (structured
 * clone: Maps and Buffers of a Snapshot arrive as Maps and Buffers).
 */
import type { Snapshot } from '../records/snapshot.ts';
import type { DnsClient } from './dns2.ts';
import type { SnapshotDelta } from './snapshot-delta.ts';

/** Main process → worker. */
export type ToWorker =
  | { type: 'listen'; id: number; host: string; port: number }
  | { type: 'snapshot'; seq: number; snapshot: Snapshot }
  /** MaxMind databases the snapshots to come look clients up in (by id), and the ids to keep (the rest are dropped). */
  | { type: 'geo'; databases: Array<{ id: string; file: string; bytes: Uint8Array }>; live: string[] }
  /** The changes from the snapshot sent before (version delta.from). */
  | { type: 'delta'; seq: number; delta: SnapshotDelta }
  /** The replies to a forwarded query, to send from socket `socket`. */
  | { type: 'replies'; socket: number; client: DnsClient; replies: Buffer[] }
  | { type: 'stop' };

/** Worker → main process. */
export type FromWorker =
  | { type: 'ready' }
  | { type: 'listening'; id: number; socket: number; error?: string; code?: string }
  /** The snapshot `seq` is the one answering now. */
  | { type: 'applied'; seq: number }
  /** A delta did not fit the worker's snapshot: send the whole one. */
  | { type: 'resync' }
  /**
   * A query only the main process can answer (zone transfers, NOTIFY,
   * TSIG-signed: the transfer handler lives there), as received.
   */
  | { type: 'forward'; socket: number; client: DnsClient; raw: Buffer }
  /** Replies sent since the last report, per rcode (for onReply). */
  | { type: 'replies-sent'; byRcode: Record<number, number> };
