/**
 * How a vantage report is laid out in etcd, and how a change of it is cut
 * into transactions. Pure: no etcd, no clock (vantage.ts writes it,
 * vantage-reader.ts reads it).
 *
 * Under /failoverd/<name>/vantage/, for each instance, under its lease:
 * - `<instance>`: the head: instance, owner, records fingerprint, extra
 *   targets, when it was written, and `shards`, the number of shards its
 *   views are split into. It is the key whose createRevision proves which
 *   process owns the name (vantage.ts), and an instance counts as a vantage
 *   point while its head is there;
 * - `<instance>/<shards>/<i>`: shard i of `shards`: the views (health, since,
 *   reason) of the probe keys whose hash falls in it, as one JSON object.
 *
 * The number of shards grows with the number of probe keys (a power of two,
 * about SHARD_TARGET keys a shard at most on average), so a shard stays a few
 * KB whatever the size of the config: a change of one target's view rewrites
 * its shard only, and what one failover writes does not grow with the number
 * of targets. Nothing is written when nothing changed.
 *
 * A change larger than one transaction (every target failing together) is
 * cut into transactions within the limits, shards first and the head last.
 * Readers take each shard as it lands: each probe key lives in one shard, so
 * a reader sees every view either before or after the change, never half of
 * one, and a batch cut in several transactions reads as the same views
 * changing a moment apart (as probes never see a dead data centre at exactly
 * the same instant). When the shard count changes (a reload that adds or
 * removes many targets), the new shards are written under new keys first and
 * the head, which names them, after: until it lands readers keep reading the
 * old shards whole; the old shards are deleted after it.
 */
import { opBytes, TXN_OVERHEAD_BYTES, type TxnLimits } from './decision-layout.ts';
import type { Health } from '../config/types.ts';

/** One probe key's health as seen from one vantage point. */
export interface VantageView {
  health: Health;
  since: number;
  reason?: string;
}

/** About this many probe keys a shard at most, on average. */
export const SHARD_TARGET = 64;

/** The number of shards for `probeKeys` probe keys: 1 up to SHARD_TARGET, then the power of two that keeps the average at most SHARD_TARGET. */
export function shardCount(probeKeys: number): number {
  let s = 1;
  while (probeKeys / s > SHARD_TARGET) s *= 2;
  return s;
}

/** The shard of a probe key among `shards` (a power of two): FNV-1a of the key. */
export function shardOf(probeKey: string, shards: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < probeKey.length; i++) {
    h ^= probeKey.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % shards;
}

/** The key of shard `i` of `shards` of the head key `head`. */
export function shardKey(head: string, shards: number, i: number): string {
  return `${head}/${shards}/${i}`;
}

/** Where a key under the vantage prefix belongs: an instance's head, one of its shards, or neither. */
export function parseVantageKey(rest: string): { instance: string; shard?: { shards: number; index: number } } | undefined {
  const parts = rest.split('/');
  if (parts.length === 1 && parts[0]) return { instance: parts[0] };
  if (parts.length !== 3 || !parts[0]) return undefined;
  const shards = Number(parts[1]);
  const index = Number(parts[2]);
  if (!Number.isSafeInteger(shards) || shards < 1 || !Number.isSafeInteger(index) || index < 0 || index >= shards) return undefined;
  return { instance: parts[0], shard: { shards, index } };
}

/** The shards' bodies of `views`, by shard key; a shard with no probe key has none. */
export function shardBodies(head: string, views: Record<string, VantageView>, shards: number): Map<string, string> {
  const groups: Array<Array<[string, VantageView]>> = Array.from({ length: shards }, () => []);
  for (const key of Object.keys(views).sort()) groups[shardOf(key, shards)]!.push([key, views[key]!]);
  const out = new Map<string, string>();
  groups.forEach((g, i) => {
    if (g.length > 0) out.set(shardKey(head, shards, i), JSON.stringify(Object.fromEntries(g)));
  });
  return out;
}

/**
 * One report's shard bodies, kept from one publish to the next: a change of
 * some probe keys' views makes their shards' bodies again, not every shard
 * (at 10,000 probe keys, sorting and serializing every view on each change
 * was the cost of a publish). The bodies are those shardBodies makes.
 */
export class ShardedViews {
  private head = '';
  private shards = 0;
  /** Each shard's probe keys, sorted (as shardBodies orders them). */
  private members: string[][] = [];
  private readonly where = new Map<string, number>();
  private bodies = new Map<string, string>();

  /** The number of shards of the last build (0 before the first). */
  get count(): number {
    return this.shards;
  }

  /** Every shard, from all the views. */
  rebuild(head: string, views: Record<string, VantageView>): Map<string, string> {
    this.head = head;
    this.shards = shardCount(Object.keys(views).length);
    this.members = Array.from({ length: this.shards }, () => []);
    this.where.clear();
    for (const key of Object.keys(views).sort()) {
      const i = shardOf(key, this.shards);
      this.members[i]!.push(key);
      this.where.set(key, i);
    }
    this.bodies = new Map();
    this.members.forEach((keys, i) => {
      if (keys.length > 0) this.bodies.set(shardKey(head, this.shards, i), JSON.stringify(Object.fromEntries(keys.map((k) => [k, views[k]!]))));
    });
    return this.bodies;
  }

  /**
   * The shards of `changed` made again from `view`, the others kept;
   * undefined when that cannot be (nothing built yet, another head, or a
   * probe key not in the shards: the set of probe keys changed, rebuild).
   */
  update(head: string, changed: Iterable<string>, view: (probeKey: string) => VantageView | undefined): Map<string, string> | undefined {
    if (this.shards === 0 || head !== this.head) return undefined;
    const touched = new Set<number>();
    for (const key of changed) {
      const i = this.where.get(key);
      if (i === undefined) return undefined;
      touched.add(i);
    }
    if (touched.size === 0) return this.bodies;
    const bodies = new Map(this.bodies);
    for (const i of touched) {
      const entries: Array<[string, VantageView]> = [];
      for (const k of this.members[i]!) {
        const v = view(k);
        if (!v) return undefined;
        entries.push([k, v]);
      }
      bodies.set(shardKey(head, this.shards, i), JSON.stringify(Object.fromEntries(entries)));
    }
    this.bodies = bodies;
    return bodies;
  }
}

/** Parses a shard's body: probe key → view; undefined when malformed. */
export function parseShard(text: string): Record<string, VantageView> | undefined {
  try {
    const v = JSON.parse(text) as Record<string, VantageView>;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
    for (const x of Object.values(v)) if (x?.health !== 'UP' && x?.health !== 'DOWN' && x?.health !== 'UNKNOWN') return undefined;
    return v;
  } catch {
    return undefined;
  }
}

/** What this process knows it wrote under its current lease. */
export interface VantageWritten {
  /** The head's content, without its time (undefined: not written). */
  head: string | undefined;
  /** shard key → body written. */
  shards: Map<string, string>;
}

export type VantageOp = { put: string; value: string } | { delete: string };

export interface VantageTxn {
  ops: VantageOp[];
  /** What `written` becomes for the keys of this transaction once etcd took it. */
  done: (w: VantageWritten) => void;
}

/**
 * The transactions that take etcd from `written` to the report `next`
 * (head content without time, head value to put, shard bodies), or an empty
 * list when nothing changed: changed shards first, then the head (when its
 * content changed), then the deletes of shards no longer in the report,
 * each transaction within `limits`.
 */
export function planVantageWrite(
  written: VantageWritten,
  next: { headKey: string; head: string; headValue: string; shards: Map<string, string> },
  limits: TxnLimits,
): VantageTxn[] {
  const items: Array<{ op: VantageOp; done: (w: VantageWritten) => void }> = [];
  for (const [key, body] of next.shards) {
    if (written.shards.get(key) !== body) items.push({ op: { put: key, value: body }, done: (w) => w.shards.set(key, body) });
  }
  if (written.head !== next.head) items.push({ op: { put: next.headKey, value: next.headValue }, done: (w) => (w.head = next.head) });
  for (const key of written.shards.keys()) if (!next.shards.has(key)) items.push({ op: { delete: key }, done: (w) => w.shards.delete(key) });
  const txns: VantageTxn[] = [];
  let ops: VantageOp[] = [];
  let dones: Array<(w: VantageWritten) => void> = [];
  let bytes = TXN_OVERHEAD_BYTES;
  const flush = (): void => {
    const mine = dones;
    txns.push({ ops, done: (w) => mine.forEach((d) => d(w)) });
    ops = [];
    dones = [];
    bytes = TXN_OVERHEAD_BYTES;
  };
  for (const item of items) {
    const size = opBytes(item.op);
    if (ops.length > 0 && (ops.length + 1 > limits.maxOps || bytes + size > limits.maxBytes)) flush();
    ops.push(item.op);
    dones.push(item.done);
    bytes += size;
  }
  if (ops.length > 0) flush();
  return txns;
}
