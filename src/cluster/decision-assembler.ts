/**
 * A reader's side of the decision layout (decision-layout.ts): fed every
 * change under the decisions prefix, in the order etcd gives them, it keeps
 * the record of the last whole generation. A record set's value counts once
 * the meta key's generation reaches the value's own; values of a batch still
 * being written wait (the previous value is served meanwhile). A deleted
 * key (the leader deletes the record sets it no longer has) is dropped with
 * the next meta key, as the rest of its batch. Without a meta key (etcd
 * wiped, or replaced by an empty one) the last record stays served and
 * every new value waits for the next meta key, whatever its generation;
 * when that generation is lower than the one served (etcd restored from an
 * older backup, or empty), everything is sorted again against it. A
 * decision stored compact is made again from this instance's config
 * (`rebuild`) as it arrives. A meta key of a newer layout than this
 * version reads is refused (logged), as a malformed one: what was served
 * stays. Pure: no etcd, no clock.
 */
import type { RecordSetDecision } from '../failover/decision.ts';
import type { Transition } from '../failover/types.ts';
import { DECISION_LAYOUT, type CompactDecision } from './decision-compact.ts';
import { parseMeta, parseStoredDecision, parseStoredTransition, type DecisionMeta, type DecisionRecord } from './decision-layout.ts';
import type { ClusterKeys } from './keys.ts';

interface Held<T> {
  g: number;
  value: T;
}

/** Values of one kind (record sets, transition slots): those served and those waiting for their generation. */
class Generational<K, T> {
  readonly served = new Map<K, Held<T>>();
  readonly waiting = new Map<K, Held<T>>();
  /** Served keys deleted in etcd: dropped with the next meta key. */
  readonly deleted = new Set<K>();

  /** `gate`: the generation values are served up to as they come (undefined: they all wait). Returns true when what is served changed. */
  set(key: K, held: Held<T> | undefined, gate: number | undefined): boolean {
    this.waiting.delete(key);
    if (held === undefined) {
      if (this.served.has(key)) this.deleted.add(key);
      return false;
    }
    this.deleted.delete(key);
    if (gate !== undefined && held.g <= gate) {
      this.served.set(key, held);
      return true;
    }
    this.waiting.set(key, held);
    return false;
  }

  /** The meta key moved to `generation`: serve what it covers (everything sorted again when it went back). Returns true when the set of served keys changed. */
  commit(generation: number, previous: number | undefined): boolean {
    let keysChanged = this.deleted.size > 0;
    for (const key of this.deleted) this.served.delete(key);
    this.deleted.clear();
    if (previous !== undefined && generation < previous) {
      for (const [key, held] of this.served) {
        if (held.g <= generation) continue;
        this.served.delete(key);
        if (!this.waiting.has(key)) this.waiting.set(key, held);
        keysChanged = true;
      }
    }
    for (const [key, held] of this.waiting) {
      if (held.g > generation) continue;
      this.waiting.delete(key);
      if (!this.served.has(key)) keysChanged = true;
      this.served.set(key, held);
    }
    return keysChanged;
  }
}

export class DecisionAssembler {
  private meta: DecisionMeta | undefined;
  /** Values up to this generation are served as they come: the meta key's, undefined while there is none. */
  private gate: number | undefined;
  private readonly recordSets = new Generational<string, RecordSetDecision>();
  private readonly transitions = new Generational<string, { seq: number; t: Transition }>();
  private cached: DecisionRecord | undefined;
  private order: string[] | undefined;

  constructor(
    private readonly keys: ClusterKeys,
    /** Record set key → its place (the config's order); record sets it does not know come after, by key. */
    private rank: (recordSetKey: string) => number = () => Infinity,
    private readonly onMalformed: (key: string, why: string) => void = () => undefined,
    /** A compact decision made whole again from this instance's config, or why it cannot be. */
    private readonly rebuild: (recordSetKey: string, c: CompactDecision, generation: number) => RecordSetDecision | string = () => 'no config to make a compact decision again from',
  ) {}

  /** One key under the decisions prefix changed (value undefined: deleted). Returns true when the served record changed. */
  apply(key: string, value: string | undefined): boolean {
    const changed = this.applyOne(key, value);
    if (changed) this.cached = undefined;
    return changed;
  }

  /** The record of the last whole generation; undefined before the cluster's first. */
  record(): DecisionRecord | undefined {
    const m = this.meta;
    if (!m) return undefined;
    if (this.cached) return this.cached;
    if (!this.order) {
      const withRank = [...this.recordSets.served.keys()].map((k) => ({ k, r: this.rank(k) }));
      withRank.sort((a, b) => a.r - b.r || (a.k < b.k ? -1 : a.k > b.k ? 1 : 0));
      this.order = withRank.map((x) => x.k);
    }
    const decisions: RecordSetDecision[] = [];
    for (const k of this.order) decisions.push(this.recordSets.served.get(k)!.value);
    const transitions = [...this.transitions.served.values()].sort((a, b) => b.value.seq - a.value.seq).map((h) => h.value.t);
    this.cached = {
      leader: m.leader,
      term: m.term,
      decidedAt: m.decidedAt,
      generation: m.generation,
      decisions,
      serials: m.serials,
      ...(m.vantagePoints !== undefined ? { vantagePoints: m.vantagePoints } : {}),
      transitions,
    };
    return this.cached;
  }

  /** Record set values written but not served yet (a batch in progress, or one cut short). */
  get waiting(): number {
    return this.recordSets.waiting.size;
  }

  /** The config changed: order the record sets by the new ranks. */
  reorder(rank: (recordSetKey: string) => number): void {
    this.rank = rank;
    this.order = undefined;
    this.cached = undefined;
  }

  private applyOne(key: string, value: string | undefined): boolean {
    const gate = this.gate;
    if (key === this.keys.decisionMeta) {
      if (value === undefined) {
        // Gone (etcd wiped or replaced): keep serving the last record; new values wait for the next meta key.
        this.gate = undefined;
        return false;
      }
      const m = parseMeta(value);
      if (!m) return this.malformed(key, 'not a meta key');
      if ((m.layout ?? 1) > DECISION_LAYOUT) return this.malformed(key, `written with decision layout ${m.layout}; this failoverd reads layouts up to ${DECISION_LAYOUT}: upgrade it to the leader's version`);
      const previous = this.meta?.generation;
      this.meta = m;
      this.gate = m.generation;
      if (this.recordSets.commit(m.generation, previous)) this.order = undefined;
      this.transitions.commit(m.generation, previous);
      return true;
    }
    if (key.startsWith(this.keys.decisionRecordSetPrefix)) {
      const rsKey = this.keys.recordSetOfDecision(key);
      let held: Held<RecordSetDecision> | undefined;
      if (value !== undefined) {
        const s = parseStoredDecision(value);
        if (!s) return this.malformed(key, 'not a stored decision');
        const d = 'd' in s ? s.d : this.rebuild(rsKey, s.c, s.g);
        if (typeof d === 'string') return this.malformed(key, d);
        held = { g: s.g, value: d };
      }
      const had = this.recordSets.served.has(rsKey);
      const changed = this.recordSets.set(rsKey, held, gate);
      if (changed && !had) this.order = undefined;
      return changed;
    }
    if (key.startsWith(this.keys.decisionTransitionPrefix)) {
      let held: Held<{ seq: number; t: Transition }> | undefined;
      if (value !== undefined) {
        const s = parseStoredTransition(value);
        if (!s) return this.malformed(key, 'not a stored transition');
        held = { g: s.g, value: { seq: s.seq, t: s.t } };
      }
      return this.transitions.set(key, held, gate);
    }
    return false;
  }

  private malformed(key: string, why: string): false {
    this.onMalformed(key, why);
    return false;
  }
}
