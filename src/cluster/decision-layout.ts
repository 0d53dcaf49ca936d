/**
 * How the cluster's decisions are laid out in etcd, and how a change is cut
 * into transactions. Pure: no etcd, no clock (decision-store.ts runs it).
 *
 * Under /failoverd/<name>/decisions/:
 * - `rs/<record set key>`: one record set's decision with the generation of
 *   the batch that last wrote it: `{ g, s, h }`, its compact form (the
 *   machine's state and each target's health: decision-compact.ts; readers
 *   make the rest again from their config), or `{ g, d }`, the whole
 *   decision (layout 1; still written for policy topology, and while the
 *   live instances' record sets differ or one of them reads layout 1 only);
 * - `transitions/<slot>`: a ring of the cluster's recent transitions
 *   (TRANSITIONS_IN_RECORD slots), each `{ g, seq, t }`, written once;
 * - `meta`: the generation marker: `{ generation, leader, term, decidedAt,
 *   serials, vantagePoints, transitionSeq, layout }`, written in the LAST
 *   transaction of each batch; `layout` (2) is the layout it was written
 *   with: a reader of an older layout only refuses what it cannot read.
 *
 * A change writes only the record sets whose decision changed (a decision's
 * `version` is not stored: it is the generation that wrote it), the new
 * transitions and the meta key: a single failover writes three keys
 * whatever the number of record sets, and nothing is written when nothing
 * changed. A batch larger than one transaction (a mass failover) is split
 * into transactions within etcd's limits, the meta key in the last.
 *
 * Readers (DecisionAssembler) serve a record set's value (or drop a deleted
 * one) once the meta key carries a generation at least its own: until the
 * last transaction of a batch lands they serve the previous generation
 * whole, then the new one whole. A batch cut short (the leader died or was deposed between two of
 * its transactions) is never served: the next leader rewrites every record
 * set it decides otherwise before it writes its own meta key.
 */
import type { RecordSetDecision } from '../failover/decision.ts';
import { compactable, compactOf, DECISION_LAYOUT, parseCompact, type CompactDecision } from './decision-compact.ts';
import type { Transition } from '../failover/types.ts';
import type { ClusterKeys } from './keys.ts';

/** How many recent transitions the cluster keeps (slots of the ring). */
export const TRANSITIONS_IN_RECORD = 100;

/** etcd's defaults are 128 operations a transaction and 1.5 MiB a request: failoverd stays well within both. */
export const DEFAULT_TXN_LIMITS: TxnLimits = { maxOps: 100, maxBytes: 1024 * 1024 };

export interface TxnLimits {
  /** Operations per transaction (etcd's --max-txn-ops, 128 by default). */
  maxOps: number;
  /** Bytes per transaction, keys and values (etcd's --max-request-bytes, 1.5 MiB by default). */
  maxBytes: number;
}

/** A decision as it is stored: without `version` (the generation that wrote it stands for it). */
export type StoredDecisionBody = Omit<RecordSetDecision, 'version'>;

export interface DecisionMeta {
  /** Counts batches; a record set's value is served once the meta key's generation reaches its own. */
  generation: number;
  /** The instance that wrote it. */
  leader: string;
  /** The leader key's createRevision when written: one per leadership term. */
  term: string;
  /** The leader's clock when written. */
  decidedAt: number;
  /** zone origin → SOA serial every instance serves. */
  serials: Record<string, number>;
  /** The vantage points the cluster counts (the most live, carried from term to term). */
  vantagePoints?: number;
  /** The sequence number of the newest transition written. */
  transitionSeq: number;
  /** The decision layout it was written with (absent: 1). */
  layout?: number;
}

/** One etcd operation of a decision write (the shape of the etcd port's ops). */
export type DecisionOp = { put: string; value: string } | { delete: string };

/** What a reader serves: the decisions and serials of the last whole generation. */
export interface DecisionRecord {
  leader: string;
  term: string;
  decidedAt: number;
  generation: number;
  /** Each decision's `version` is the generation that last changed it. */
  decisions: RecordSetDecision[];
  serials: Record<string, number>;
  vantagePoints?: number;
  /** The cluster's recent transitions, newest first. */
  transitions: Transition[];
}

/** What the leader has decided now. */
export interface NextDecisions {
  decisions: readonly RecordSetDecision[];
  /** Transitions not written yet, oldest first. */
  newTransitions: readonly Transition[];
  leader: string;
  term: string;
  decidedAt: number;
  serials: Record<string, number>;
  vantagePoints?: number;
  /** Store decisions in their compact form (every reader makes them again from the same config). */
  compact?: boolean;
}

/** What the leader knows etcd holds (read at the start of its term, kept up to date by its own writes). */
export interface WriterBase {
  /** record set key → the stored decision body (the stored value's JSON after its generation: `"d":{...}` or `"s":{...},"h":[...]`). */
  bodies: Map<string, string>;
  /**
   * record set key → the decision object this leader wrote there: the same
   * object again (the decider keeps an unchanged record set's decision) is
   * known unchanged without serializing it, so planning a write costs what
   * changed, not every record set.
   */
  written: Map<string, RecordSetDecision>;
  /** Whether `written` holds decisions stored compact (a change of form makes every body again). */
  writtenCompact: boolean;
  /** The highest generation in any key: the next batch takes the one after. */
  generation: number;
  /** The highest transition sequence number seen. */
  transitionSeq: number;
  /** What decides whether the meta key must be written again (serials, vantage points, leader, term), as JSON. */
  metaBody: string | undefined;
}

export interface PlannedTxn {
  ops: DecisionOp[];
  /** The record sets this transaction writes, with the body each will hold (undefined: deleted) and the decision it came from. */
  bodies: Array<[string, string | undefined, RecordSetDecision?]>;
  /** The transitions it writes, and the sequence number of the last (0 without). */
  transitions: Transition[];
  lastSeq: number;
}

export interface DecisionWritePlan {
  generation: number;
  txns: PlannedTxn[];
  metaBody: string;
  transitionSeq: number;
  /** Record sets written or deleted, transitions written: for logs and tests. */
  recordSets: number;
  transitions: number;
}

export function emptyWriterBase(): WriterBase {
  return { bodies: new Map(), written: new Map(), writtenCompact: false, generation: 0, transitionSeq: 0, metaBody: undefined };
}

/** The stored body of a decision: whole (`"d":...`) or compact (`"s":...,"h":...`) when asked and possible. */
export function decisionBody(d: RecordSetDecision, compact = false): string {
  if (compact && compactable(d)) return compactBody(compactOf(d));
  const { version: _, ...body } = d;
  return `"d":${JSON.stringify(body)}`;
}

function compactBody(c: CompactDecision): string {
  return `"s":${JSON.stringify(c.s)},"h":${JSON.stringify(c.h)}`;
}

/** A stored record set value: its generation's value with this body. */
function storedValue(generation: number, body: string): string {
  return `{"g":${generation},${body}}`;
}

function metaBodyOf(n: Pick<NextDecisions, 'serials' | 'vantagePoints' | 'leader' | 'term'>): string {
  return JSON.stringify([n.serials, n.vantagePoints ?? null, n.leader, n.term]);
}

/** Bytes an operation adds to a request: its key and value plus a margin for the protobuf framing. */
export function opBytes(op: DecisionOp): number {
  return 'put' in op ? Buffer.byteLength(op.put) + Buffer.byteLength(op.value) + 32 : Buffer.byteLength(op.delete) + 32;
}

/** The fence (a compare on the leader key) and the transaction's own framing. */
export const TXN_OVERHEAD_BYTES = 256;

/**
 * The write that takes etcd from `base` to `next`, or undefined when nothing
 * changed: the changed record sets, the deleted ones, the new transitions,
 * then the meta key, cut into transactions within `limits` with the meta key
 * in the last one.
 */
export function planDecisionWrite(base: WriterBase, next: NextDecisions, keys: ClusterKeys, limits: TxnLimits = DEFAULT_TXN_LIMITS): DecisionWritePlan | undefined {
  const generation = base.generation + 1;
  const items: Array<{ op: DecisionOp; body?: [string, string | undefined, RecordSetDecision?]; transition?: [Transition, number] }> = [];
  const present = new Set<string>();
  if (base.writtenCompact !== (next.compact ?? false)) {
    base.written.clear();
    base.writtenCompact = next.compact ?? false;
  }
  for (const d of next.decisions) {
    present.add(d.key);
    if (base.written.get(d.key) === d) continue;
    const body = decisionBody(d, next.compact);
    if (base.bodies.get(d.key) === body) {
      base.written.set(d.key, d);
      continue;
    }
    items.push({ op: { put: keys.decisionRecordSet(d.key), value: storedValue(generation, body) }, body: [d.key, body, d] });
  }
  if (present.size !== base.bodies.size || items.some((i) => i.body && !base.bodies.has(i.body[0]))) {
    for (const key of base.bodies.keys()) if (!present.has(key)) items.push({ op: { delete: keys.decisionRecordSet(key) }, body: [key, undefined] });
  }
  // The ring holds the newest TRANSITIONS_IN_RECORD: older ones of this batch would be overwritten in it.
  const fresh = next.newTransitions.slice(-TRANSITIONS_IN_RECORD);
  let seq = base.transitionSeq + (next.newTransitions.length - fresh.length);
  for (const t of fresh) {
    seq++;
    items.push({ op: { put: keys.decisionTransition(seq % TRANSITIONS_IN_RECORD), value: JSON.stringify({ g: generation, seq, t }) }, transition: [t, seq] });
  }
  const metaBody = metaBodyOf(next);
  if (items.length === 0 && metaBody === base.metaBody) return undefined;
  const meta: DecisionMeta = {
    generation,
    leader: next.leader,
    term: next.term,
    decidedAt: next.decidedAt,
    serials: next.serials,
    ...(next.vantagePoints !== undefined ? { vantagePoints: next.vantagePoints } : {}),
    transitionSeq: seq,
    layout: DECISION_LAYOUT,
  };
  items.push({ op: { put: keys.decisionMeta, value: JSON.stringify(meta) } });
  const txns: PlannedTxn[] = [];
  let current: PlannedTxn = { ops: [], bodies: [], transitions: [], lastSeq: 0 };
  let bytes = TXN_OVERHEAD_BYTES;
  for (const item of items) {
    const size = opBytes(item.op);
    if (current.ops.length > 0 && (current.ops.length + 1 > limits.maxOps || bytes + size > limits.maxBytes)) {
      txns.push(current);
      current = { ops: [], bodies: [], transitions: [], lastSeq: 0 };
      bytes = TXN_OVERHEAD_BYTES;
    }
    current.ops.push(item.op);
    if (item.body) current.bodies.push(item.body);
    if (item.transition) {
      current.transitions.push(item.transition[0]);
      current.lastSeq = item.transition[1];
    }
    bytes += size;
  }
  txns.push(current);
  const recordSets = items.filter((i) => i.body).length;
  return { generation, txns, metaBody, transitionSeq: seq, recordSets, transitions: fresh.length };
}

/** Records in `base` what one transaction of `plan` wrote (after etcd accepted it). */
export function applyTxnToBase(base: WriterBase, plan: DecisionWritePlan, txn: PlannedTxn, last: boolean): void {
  for (const [key, body, decision] of txn.bodies) {
    if (body === undefined) {
      base.bodies.delete(key);
      base.written.delete(key);
    } else {
      base.bodies.set(key, body);
      if (decision) base.written.set(key, decision);
      else base.written.delete(key);
    }
  }
  // A batch cut short leaves keys of this generation and these sequence numbers: a retry takes the next ones.
  base.generation = Math.max(base.generation, plan.generation);
  base.transitionSeq = Math.max(base.transitionSeq, txn.lastSeq);
  if (last) {
    base.metaBody = plan.metaBody;
    base.transitionSeq = Math.max(base.transitionSeq, plan.transitionSeq);
  }
}

/** A leader's base from every key under the decisions prefix, as read from etcd; malformed keys are skipped (and rewritten). */
export function writerBaseFrom(kvs: Iterable<{ key: string; value: string }>, keys: ClusterKeys): WriterBase {
  const base = emptyWriterBase();
  for (const { key, value } of kvs) {
    if (key === keys.decisionMeta) {
      const m = parseMeta(value);
      if (!m) continue;
      base.generation = Math.max(base.generation, m.generation);
      base.transitionSeq = Math.max(base.transitionSeq, m.transitionSeq);
      base.metaBody = metaBodyOf(m);
    } else if (key.startsWith(keys.decisionRecordSetPrefix)) {
      const s = parseStoredDecision(value);
      if (!s) continue;
      base.generation = Math.max(base.generation, s.g);
      base.bodies.set(keys.recordSetOfDecision(key), 'd' in s ? decisionBody(s.d) : compactBody(s.c));
    } else if (key.startsWith(keys.decisionTransitionPrefix)) {
      const t = parseStoredTransition(value);
      if (!t) continue;
      base.generation = Math.max(base.generation, t.g);
      base.transitionSeq = Math.max(base.transitionSeq, t.seq);
    }
  }
  return base;
}

export function parseMeta(text: string): DecisionMeta | undefined {
  try {
    const m = JSON.parse(text) as DecisionMeta;
    if (!Number.isSafeInteger(m?.generation) || typeof m.leader !== 'string' || typeof m.term !== 'string' || typeof m.serials !== 'object' || m.serials === null) return undefined;
    if (!Number.isSafeInteger(m.transitionSeq)) m.transitionSeq = 0;
    if (typeof m.decidedAt !== 'number') m.decidedAt = 0;
    return m;
  } catch {
    return undefined;
  }
}

/** A stored record set value: the whole decision (`version` set to the generation that wrote it), or its compact form. */
export type StoredDecision = { g: number; d: RecordSetDecision } | { g: number; c: CompactDecision };

export function parseStoredDecision(text: string): StoredDecision | undefined {
  try {
    const s = JSON.parse(text) as { g: number; d?: RecordSetDecision; s?: unknown; h?: unknown };
    if (!Number.isSafeInteger(s?.g)) return undefined;
    const d = s.d;
    if (d === undefined) {
      const c = parseCompact(s);
      return c ? { g: s.g, c } : undefined;
    }
    if (typeof d?.key !== 'string' || typeof d.answer?.kind !== 'string' || !Array.isArray(d.targets)) return undefined;
    d.version = s.g;
    return { g: s.g, d };
  } catch {
    return undefined;
  }
}

export function parseStoredTransition(text: string): { g: number; seq: number; t: Transition } | undefined {
  try {
    const s = JSON.parse(text) as { g: number; seq: number; t: Transition };
    if (!Number.isSafeInteger(s?.g) || !Number.isSafeInteger(s.seq) || typeof s.t?.recordSet !== 'string' || typeof s.t.at !== 'number') return undefined;
    return s;
  } catch {
    return undefined;
  }
}
