/**
 * Every instance's vantage report, assembled from the keys under the
 * vantage prefix as the mirror reports them (vantage-layout.ts): an
 * instance is a live vantage point while its head is there; its views are
 * those of the shards its head names (`shards`), each taken as it lands.
 * Shards of another count (written before a head that names them, or left
 * after one that no longer does) are kept aside and not read. A head of an
 * earlier version carries its views itself.
 *
 * Work is per key changed, not per report: a mass change (a shard of each of
 * three instances for every 64 probe keys) touches only the probe keys of
 * the shards that changed; takeChanges() says which, or that the set of
 * vantage points changed (every probe key then needs a look).
 */
import { parseShard, parseVantageKey, type VantageView } from './vantage-layout.ts';
import { parseVantageReport, type VantageReport } from './vantage.ts';

interface InstanceState {
  head: VantageReport | undefined;
  headRaw: string | undefined;
  /** "<shards>/<index>" → the views of that shard. */
  shards: Map<string, Record<string, VantageView>>;
}

export class VantageReader {
  private readonly instances = new Map<string, InstanceState>();
  private dirty = new Set<string>();
  private membership = false;
  private sorted: VantageReport[] | undefined;

  constructor(
    private readonly prefix: string,
    /** Told of a value that cannot be parsed (ignored). */
    private readonly onMalformed: (key: string) => void = () => undefined,
  ) {}

  /** A key under the prefix changed (value undefined: deleted). */
  apply(key: string, value: string | undefined): void {
    if (!key.startsWith(this.prefix)) return;
    const where = parseVantageKey(key.slice(this.prefix.length));
    if (!where) return;
    let st = this.instances.get(where.instance);
    if (!st) {
      if (value === undefined) return;
      st = { head: undefined, headRaw: undefined, shards: new Map() };
      this.instances.set(where.instance, st);
    }
    if (where.shard) this.applyShard(st, `${where.shard.shards}/${where.shard.index}`, where.shard.shards, key, value);
    else this.applyHead(st, key, value);
    if (!st.head && st.shards.size === 0) this.instances.delete(where.instance);
  }

  /** The live vantage points' reports, by instance name. */
  reports(): VantageReport[] {
    if (!this.sorted) {
      this.sorted = [...this.instances.values()].flatMap((s) => (s.head ? [s.head] : []));
      this.sorted.sort((a, b) => (a.instance < b.instance ? -1 : a.instance > b.instance ? 1 : 0));
    }
    return this.sorted;
  }

  /** What changed since the last call: the probe keys whose views changed, and whether the set of vantage points did (then every probe key). */
  takeChanges(): { probeKeys: ReadonlySet<string>; membership: boolean } {
    const out = { probeKeys: this.dirty, membership: this.membership };
    this.dirty = new Set();
    this.membership = false;
    return out;
  }

  private applyHead(st: InstanceState, key: string, value: string | undefined): void {
    if (value === st.headRaw) return;
    const before = st.head;
    const head = value === undefined ? undefined : parseVantageReport(value);
    if (value !== undefined && !head) this.onMalformed(key);
    st.headRaw = value;
    st.head = head;
    this.sorted = undefined;
    if (!before !== !head) this.membership = true;
    if (!head) {
      if (before) this.markAll(before.targets);
      return;
    }
    // A head of this version: its views are those of the shards it names (kept across a rewrite of the head with the same count).
    if (head.shards !== undefined) {
      if (before?.shards === head.shards) head.targets = before.targets;
      else {
        for (const [id, views] of st.shards) if (id.startsWith(`${head.shards}/`)) Object.assign(head.targets, views);
      }
    }
    if (before && before.targets !== head.targets) this.markAll(before.targets);
    if (before?.targets !== head.targets) this.markAll(head.targets);
  }

  private applyShard(st: InstanceState, id: string, shards: number, key: string, value: string | undefined): void {
    const views = value === undefined ? undefined : parseShard(value);
    if (value !== undefined && !views) this.onMalformed(key);
    const before = st.shards.get(id);
    if (views) st.shards.set(id, views);
    else st.shards.delete(id);
    if (st.head?.shards !== shards) return; // not read: another count than the head's
    const targets = st.head.targets;
    for (const k of Object.keys(before ?? {})) {
      if (views?.[k] === undefined) {
        delete targets[k];
        this.dirty.add(k);
      }
    }
    for (const [k, v] of Object.entries(views ?? {})) {
      const was = targets[k];
      if (was && was.health === v.health && was.since === v.since && was.reason === v.reason) continue;
      targets[k] = v;
      this.dirty.add(k);
    }
  }

  private markAll(targets: Record<string, VantageView>): void {
    for (const k of Object.keys(targets)) this.dirty.add(k);
  }
}
