/**
 * The decision layout without etcd: what a change writes (only what
 * changed, nothing when nothing did), how a mass change is cut into
 * transactions within the limits with the meta key last, and what a reader
 * serves while such a batch is applied transaction by transaction, cut
 * short, taken over by the next leader, or when etcd goes back to an older
 * generation; and how write failures are sorted and retried. etcd is a Map here: each transaction's operations are applied
 * in order and fed to the reader as a watch would give them.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DecisionAssembler } from '../src/cluster/decision-assembler.ts';
import {
  applyTxnToBase,
  emptyWriterBase,
  planDecisionWrite,
  TRANSITIONS_IN_RECORD,
  writerBaseFrom,
  type DecisionOp,
  type DecisionWritePlan,
  type NextDecisions,
  type WriterBase,
} from '../src/cluster/decision-layout.ts';
import { DECISION_LAYOUT, rebuildDecision } from '../src/cluster/decision-compact.ts';
import { ClusterKeys } from '../src/cluster/keys.ts';
import type { CheckConfig, RecordSetConfig } from '../src/config/types.ts';
import { decide } from '../src/failover/decision.ts';
import { FailoverMachine } from '../src/failover/failover-machine.ts';
import type { TargetOverride } from '../src/health/overrides.ts';
import { decisionWriteFailureCause, RETRY_MAX_MS, WriteFailures } from '../src/cluster/write-failures.ts';
import type { RecordSetDecision } from '../src/failover/decision.ts';
import type { Transition } from '../src/failover/types.ts';

const keys = new ClusterKeys('t');

function decision(i: number, answer: string, version = 1): RecordSetDecision {
  return {
    key: `r${i}.example.test/A`,
    name: `r${i}.example.test`,
    type: 'A',
    policy: 'failover',
    answer: { kind: 'values', values: [answer], ttl: 5 },
    activeId: `r${i}.example.test/A/${answer}`,
    targets: [],
    state: { answer: { kind: 'targets', targetIds: [`r${i}.example.test/A/${answer}`], ttl: 5 }, activeId: `r${i}.example.test/A/${answer}`, since: 0, reason: 'test', degraded: false, allDown: false },
    version,
  } as unknown as RecordSetDecision;
}

function decisions(n: number, answer: (i: number) => string, version = 1): RecordSetDecision[] {
  return Array.from({ length: n }, (_, i) => decision(i, answer(i), version));
}

function next(ds: RecordSetDecision[], o: Partial<NextDecisions> = {}): NextDecisions {
  return { decisions: ds, newTransitions: [], leader: 'fo-1', term: '7', decidedAt: 1000, serials: { 'example.test.': 1 }, ...o };
}

/** etcd as a Map, each write fed to the readers in order. */
class MapEtcd {
  readonly kv = new Map<string, string>();
  readonly readers: DecisionAssembler[] = [];
  txns = 0;
  apply(ops: DecisionOp[]): void {
    this.txns++;
    for (const op of ops) {
      if ('put' in op) this.kv.set(op.put, op.value);
      else this.kv.delete(op.delete);
      for (const r of this.readers) r.apply('put' in op ? op.put : op.delete, 'put' in op ? op.value : undefined);
    }
  }
  reader(rank?: (k: string) => number): DecisionAssembler {
    const r = new DecisionAssembler(keys, rank);
    for (const [k, v] of [...this.kv].sort(([a], [b]) => (a < b ? -1 : 1))) r.apply(k, v);
    this.readers.push(r);
    return r;
  }
}

/** Writes a whole plan (every transaction) and keeps the base. */
function writeAll(etcd: MapEtcd, base: WriterBase, plan: DecisionWritePlan | undefined): void {
  assert.ok(plan);
  plan.txns.forEach((txn, i) => {
    etcd.apply(txn.ops);
    applyTxnToBase(base, plan, txn, i === plan.txns.length - 1);
  });
}

const answers = (r: DecisionAssembler): string[] => r.record()!.decisions.map((d) => (d.answer.kind === 'values' ? d.answer.values.join(',') : d.answer.kind));

test('decision layout: the first write holds every record set and the meta key; then only what changed; nothing when nothing did', () => {
  const etcd = new MapEtcd();
  const reader = etcd.reader();
  const base = emptyWriterBase();
  assert.equal(reader.record(), undefined, 'nothing before the first write');
  const first = planDecisionWrite(base, next(decisions(3, () => 'a')), keys);
  assert.equal(first!.txns.length, 1);
  assert.equal(first!.txns[0]!.ops.length, 4, 'three record sets and the meta key');
  assert.equal((first!.txns[0]!.ops.at(-1) as { put: string }).put, keys.decisionMeta, 'meta last');
  writeAll(etcd, base, first);
  assert.deepEqual(answers(reader), ['a', 'a', 'a']);
  assert.equal(reader.record()!.generation, 1);

  // Only the decisions' version changed (the decider bumps it on every batch): nothing to write.
  assert.equal(planDecisionWrite(base, next(decisions(3, () => 'a', 9)), keys), undefined);
  // decidedAt alone does not make a write either.
  assert.equal(planDecisionWrite(base, next(decisions(3, () => 'a'), { decidedAt: 5000 }), keys), undefined);

  // One record set fails over: one key and the meta key.
  const one = planDecisionWrite(base, next(decisions(3, (i) => (i === 1 ? 'b' : 'a')), { serials: { 'example.test.': 2 } }), keys);
  assert.deepEqual(one!.txns.map((t) => t.ops.map((o) => ('put' in o ? o.put : `-${o.delete}`))), [[keys.decisionRecordSet('r1.example.test/A'), keys.decisionMeta]]);
  writeAll(etcd, base, one);
  assert.deepEqual(answers(reader), ['a', 'b', 'a']);
  assert.deepEqual(reader.record()!.serials, { 'example.test.': 2 });
  assert.deepEqual(reader.record()!.decisions.map((d) => d.version), [1, 2, 1], 'a decision\'s version is the generation that last wrote it');

  // Serials or the vantage point count alone: the meta key only.
  const metaOnly = planDecisionWrite(base, next(decisions(3, (i) => (i === 1 ? 'b' : 'a')), { serials: { 'example.test.': 2 }, vantagePoints: 3 }), keys);
  assert.deepEqual(metaOnly!.txns.map((t) => t.ops.length), [1]);
  writeAll(etcd, base, metaOnly);
  assert.equal(reader.record()!.vantagePoints, 3);

  // A record set the leader no longer has is deleted.
  const fewer = planDecisionWrite(base, next(decisions(2, (i) => (i === 1 ? 'b' : 'a')), { serials: { 'example.test.': 2 }, vantagePoints: 3 }), keys);
  assert.deepEqual(fewer!.txns[0]!.ops[0], { delete: keys.decisionRecordSet('r2.example.test/A') });
  writeAll(etcd, base, fewer);
  assert.deepEqual(answers(reader), ['a', 'b']);
  assert.equal(etcd.kv.has(keys.decisionRecordSet('r2.example.test/A')), false);
});

test('decision layout: a mass change is cut into transactions within the op and byte limits, the meta key alone in the last one\'s end; readers serve the previous generation whole until it lands', () => {
  const etcd = new MapEtcd();
  const reader = etcd.reader();
  const base = emptyWriterBase();
  writeAll(etcd, base, planDecisionWrite(base, next(decisions(250, () => 'a')), keys, { maxOps: 1000, maxBytes: 10_000_000 }));
  assert.equal(etcd.txns, 1);
  const limits = { maxOps: 40, maxBytes: 16 * 1024 };
  const plan = planDecisionWrite(base, next(decisions(250, () => 'b'), { serials: { 'example.test.': 2 } }), keys, limits)!;
  assert.ok(plan.txns.length >= 7, `250 record sets in ${plan.txns.length} transactions`);
  for (const txn of plan.txns) {
    assert.ok(txn.ops.length <= limits.maxOps, `${txn.ops.length} ops`);
    const bytes = txn.ops.reduce((n, o) => n + ('put' in o ? o.put.length + o.value.length : o.delete.length), 0);
    assert.ok(bytes <= limits.maxBytes, `${bytes} bytes`);
  }
  const metaAt = plan.txns.flatMap((t, i) => t.ops.map((o, j) => ('put' in o && o.put === keys.decisionMeta ? [i, j] : undefined))).filter(Boolean);
  assert.deepEqual(metaAt, [[plan.txns.length - 1, plan.txns.at(-1)!.ops.length - 1]], 'the meta key once, last');
  // Applied one transaction at a time: the reader serves all 'a' until the last, then all 'b'.
  plan.txns.forEach((txn, i) => {
    etcd.apply(txn.ops);
    applyTxnToBase(base, plan, txn, i === plan.txns.length - 1);
    const seen = new Set(answers(reader));
    if (i < plan.txns.length - 1) {
      assert.deepEqual([...seen], ['a'], `after transaction ${i + 1} of ${plan.txns.length}`);
      assert.equal(reader.record()!.generation, 1);
      assert.ok(reader.waiting > 0);
    } else assert.deepEqual([...seen], ['b']);
  });
  assert.equal(reader.record()!.decisions.length, 250);
  assert.deepEqual(reader.record()!.serials, { 'example.test.': 2 });
  assert.equal(reader.waiting, 0);
  // A reader that starts now (a re-list) sees the same.
  assert.deepEqual(new Set(answers(etcd.reader())), new Set(['b']));
});

test('decision layout: a batch cut short is never served; the next leader rewrites what it decides otherwise, commits the rest, and generations keep rising', () => {
  const etcd = new MapEtcd();
  const reader = etcd.reader();
  const base = emptyWriterBase();
  const limits = { maxOps: 10, maxBytes: 1024 * 1024 };
  writeAll(etcd, base, planDecisionWrite(base, next(decisions(30, () => 'a')), keys, limits));
  assert.deepEqual(new Set(answers(reader)), new Set(['a']));
  // The old leader writes two of its four transactions to 'b', then dies.
  const plan = planDecisionWrite(base, next(decisions(30, () => 'b')), keys, limits)!;
  assert.equal(plan.txns.length, 4);
  etcd.apply(plan.txns[0]!.ops);
  etcd.apply(plan.txns[1]!.ops);
  assert.deepEqual(new Set(answers(reader)), new Set(['a']), 'half a batch is not served');
  // A reader joining now sees the same.
  const late = etcd.reader();
  assert.deepEqual(new Set(answers(late)), new Set(['a']));
  // The new leader reads etcd (its base) and decides 'c' for the first 5 record sets and 'b' for the rest.
  const nb = writerBaseFrom([...etcd.kv].map(([key, value]) => ({ key, value })), keys);
  assert.equal(nb.generation, plan.generation, 'the cut batch\'s generation is seen');
  const takeover = planDecisionWrite(nb, next(decisions(30, (i) => (i < 5 ? 'c' : 'b')), { leader: 'fo-2', term: '9' }), keys, limits)!;
  assert.ok(takeover.generation > plan.generation);
  const written = new Set(takeover.txns.flatMap((t) => t.bodies.map(([k]) => k)));
  // The 20 already 'b' in etcd stay; the 5 'c' and the 5 still 'a' (never reached) are written.
  assert.equal(written.size, 15);
  writeAll(etcd, nb, takeover);
  for (const r of [reader, late, etcd.reader()]) {
    const byKey = Object.fromEntries(r.record()!.decisions.map((d) => [d.key, (d.answer as { values: string[] }).values[0]]));
    assert.deepEqual(byKey, Object.fromEntries(decisions(30, (i) => (i < 5 ? 'c' : 'b')).map((d) => [d.key, (d.answer as { values: string[] }).values[0]])));
    assert.equal(r.record()!.leader, 'fo-2');
    assert.equal(r.record()!.term, '9');
  }
});

test('decision layout: a retry after a refused transaction writes only what is missing, under a newer generation', () => {
  const etcd = new MapEtcd();
  const reader = etcd.reader();
  const base = emptyWriterBase();
  const limits = { maxOps: 10, maxBytes: 1024 * 1024 };
  writeAll(etcd, base, planDecisionWrite(base, next(decisions(20, () => 'a')), keys, limits));
  const plan = planDecisionWrite(base, next(decisions(20, () => 'b')), keys, limits)!;
  etcd.apply(plan.txns[0]!.ops);
  applyTxnToBase(base, plan, plan.txns[0]!, false);
  // The second transaction failed (etcd refused it): the retry.
  const retry = planDecisionWrite(base, next(decisions(20, () => 'b')), keys, limits)!;
  assert.equal(retry.generation, plan.generation + 1);
  assert.equal(retry.recordSets, 20 - plan.txns[0]!.bodies.length);
  writeAll(etcd, base, retry);
  assert.deepEqual(new Set(answers(reader)), new Set(['b']));
  assert.equal(reader.waiting, 0);
});

test('decision layout: transitions go to a ring of slots, each written once, newest first for readers; a mass change keeps the newest', () => {
  const etcd = new MapEtcd();
  const reader = etcd.reader();
  const base = emptyWriterBase();
  const tr = (i: number): Transition => ({ recordSet: `r${i}.example.test/A`, from: 'a', to: 'b', reason: 'test', at: i });
  writeAll(etcd, base, planDecisionWrite(base, next(decisions(2, () => 'a'), { newTransitions: [tr(1), tr(2)] }), keys));
  assert.deepEqual(reader.record()!.transitions.map((t) => t.at), [2, 1]);
  // 250 at once (a mass failover): only the newest TRANSITIONS_IN_RECORD are written, each slot once.
  const many = Array.from({ length: 250 }, (_, i) => tr(10 + i));
  const plan = planDecisionWrite(base, next(decisions(2, () => 'b'), { newTransitions: many }), keys, { maxOps: 30, maxBytes: 1024 * 1024 })!;
  const slots = plan.txns.flatMap((t) => t.ops).filter((o) => 'put' in o && o.put.startsWith(keys.decisionTransitionPrefix));
  assert.equal(slots.length, TRANSITIONS_IN_RECORD);
  assert.equal(new Set(slots.map((o) => ('put' in o ? o.put : ''))).size, TRANSITIONS_IN_RECORD, 'no slot twice');
  writeAll(etcd, base, plan);
  const served = reader.record()!.transitions;
  assert.equal(served.length, TRANSITIONS_IN_RECORD);
  assert.equal(served[0]!.at, 259);
  assert.equal(served.at(-1)!.at, 160);
  // The next one overwrites the oldest slot only.
  const after = planDecisionWrite(base, next(decisions(2, () => 'b'), { newTransitions: [tr(1000)] }), keys)!;
  assert.deepEqual(after.txns[0]!.ops.map((o) => ('put' in o ? o.put : '')), [keys.decisionTransition((base.transitionSeq + 1) % TRANSITIONS_IN_RECORD), keys.decisionMeta]);
  writeAll(etcd, base, after);
  assert.equal(reader.record()!.transitions[0]!.at, 1000);
  assert.equal(reader.record()!.transitions.length, TRANSITIONS_IN_RECORD);
});

test('decision layout: a deleted record set leaves with its batch\'s meta key; etcd wiped: the last record stays served until a new leader has written all again', () => {
  const etcd = new MapEtcd();
  const reader = etcd.reader();
  const base = emptyWriterBase();
  const limits = { maxOps: 3, maxBytes: 1024 * 1024 };
  writeAll(etcd, base, planDecisionWrite(base, next(decisions(6, () => 'a')), keys, limits));
  // The leader drops record sets 4 and 5 and changes 0 to 'b': the deletes land before the meta key.
  const plan = planDecisionWrite(base, next(decisions(4, (i) => (i === 0 ? 'b' : 'a'))), keys, limits)!;
  assert.ok(plan.txns.length >= 2);
  plan.txns.slice(0, -1).forEach((txn) => etcd.apply(txn.ops));
  assert.equal(etcd.kv.has(keys.decisionRecordSet('r5.example.test/A')), false, 'deleted in etcd already');
  assert.equal(reader.record()!.decisions.length, 6, 'still served until the meta key');
  assert.equal(answers(reader)[0], 'a');
  etcd.apply(plan.txns.at(-1)!.ops);
  assert.deepEqual(answers(reader), ['b', 'a', 'a', 'a']);
  const generation = reader.record()!.generation;

  // etcd wiped: every key deleted (a mirror's re-list reports each delete).
  for (const key of [...etcd.kv.keys()]) etcd.apply([{ delete: key }]);
  assert.deepEqual(answers(reader), ['b', 'a', 'a', 'a'], 'the last record is served');
  assert.equal(reader.record()!.generation, generation);
  // A new leader on the empty etcd: its base is empty, its generations start again at 1; its first transactions wait.
  const fresh = emptyWriterBase();
  const again = planDecisionWrite(fresh, next(decisions(4, (i) => (i < 2 ? 'c' : 'a')), { leader: 'fo-3', term: '2' }), keys, limits)!;
  assert.equal(again.generation, 1);
  etcd.apply(again.txns[0]!.ops);
  assert.deepEqual(answers(reader), ['b', 'a', 'a', 'a'], 'a value of generation 1 waits for its meta key');
  again.txns.slice(1).forEach((txn) => etcd.apply(txn.ops));
  assert.deepEqual(answers(reader), ['c', 'c', 'a', 'a']);
  assert.equal(reader.record()!.leader, 'fo-3');
  assert.equal(reader.waiting, 0);
});

test('decision layout: readers order record sets by the rank given (the config), unknown ones after by key; a meta key going back re-sorts what is served', () => {
  const etcd = new MapEtcd();
  const base = emptyWriterBase();
  writeAll(etcd, base, planDecisionWrite(base, next(decisions(3, () => 'a')), keys));
  const rank = new Map([['r2.example.test/A', 0], ['r0.example.test/A', 1]]);
  const reader = etcd.reader((k) => rank.get(k) ?? Infinity);
  assert.deepEqual(reader.record()!.decisions.map((d) => d.key), ['r2.example.test/A', 'r0.example.test/A', 'r1.example.test/A']);
  reader.reorder(() => Infinity);
  assert.deepEqual(reader.record()!.decisions.map((d) => d.key), ['r0.example.test/A', 'r1.example.test/A', 'r2.example.test/A']);
  const gen1 = etcd.kv.get(keys.decisionMeta)!;
  writeAll(etcd, base, planDecisionWrite(base, next(decisions(3, (i) => (i === 0 ? 'b' : 'a')), { serials: { 'example.test.': 2 } }), keys));
  assert.deepEqual(answers(reader), ['b', 'a', 'a']);
  // etcd restored from a backup taken at generation 1 whose record set key was lost: the newer value waits.
  reader.apply(keys.decisionMeta, gen1);
  assert.deepEqual(answers(reader), ['a', 'a'], 'the value of generation 2 is not served under generation 1');
  assert.equal(reader.record()!.generation, 1);
  // A malformed value is reported and ignored.
  const bad: string[] = [];
  const r2 = new DecisionAssembler(keys, undefined, (k) => bad.push(k));
  assert.equal(r2.apply(keys.decisionRecordSet('x/A'), '{not json'), false);
  assert.deepEqual(bad, [keys.decisionRecordSet('x/A')]);
});

const check: CheckConfig = {
  type: 'http', port: 80, path: '/', headers: {}, expect: { status: ['200-399'] }, tlsVerify: true,
  interval: 1000, fastInterval: 100, timeout: 500, rise: 2, fall: 2, watch: true,
};

/** A real record set of three targets (primary, secondary, a third). */
function recordSetConfig(i: number, ttl = 30): RecordSetConfig {
  const targets = ['127.0.0.1', '127.0.0.2', `127.0.1.${i % 250}`].map((address, k) => ({ id: `r${i}.example.test/A/${address}`, address, checkName: `c${k}`, check, weight: 1, probeKey: `c${k}@${address}` }));
  return { name: `r${i}.example.test`, type: 'A', zone: 'example.test', ttl, policy: 'failover', failback: 'auto', whenAllDown: 'primary', maxAnswers: 8, targets };
}

/** The decision a leader makes for `rs` after its primary went DOWN (drained when `drain`), the machine run as the Decider runs it. */
function failedOver(rs: RecordSetConfig, drain?: TargetOverride): RecordSetDecision {
  const m = new FailoverMachine(rs);
  const views = (primary: 'UP' | 'DOWN') => new Map(rs.targets.map((t, k) => [t.id, { id: t.id, health: k === 0 ? primary : ('UP' as const), since: 1000, ...(k === 0 && primary === 'DOWN' ? { reason: 'connect ECONNREFUSED' } : {}) }]));
  m.evaluate(views('UP'), 1000);
  m.evaluate(views('DOWN'), 2000);
  return decide(rs, m.state!, (t) => (t === rs.targets[0] ? { health: 'DOWN', realHealth: drain ? 'UP' : 'DOWN', since: 2000, overridden: !!drain, ...(drain ? { override: drain } : {}) } : { health: 'UP', realHealth: 'UP', since: 1000, overridden: false }), 5);
}

test('decision layout 2: a decision stored compact (state and health only) is made again whole from the reader\'s config; what it cannot make again is reported, not served; topology and layout 1 stay whole', () => {
  const configs = Array.from({ length: 4 }, (_, i) => recordSetConfig(i));
  const drain: TargetOverride = { state: 'DOWN', reason: 'maintenance', createdAt: 1500, source: 'api' };
  const ds = configs.map((rs, i) => failedOver(rs, i === 1 ? drain : undefined));
  const byKey = new Map(configs.map((rs) => [`${rs.name}/A`, rs]));
  const etcd = new MapEtcd();
  const bad: Array<[string, string]> = [];
  const reader = new DecisionAssembler(keys, undefined, (k, why) => bad.push([k, why]), (key, c, g) => {
    const rs = byKey.get(key);
    return rs ? rebuildDecision(rs, c, g) : `no record set ${key}`;
  });
  etcd.readers.push(reader);
  const base = emptyWriterBase();
  const plan = planDecisionWrite(base, next(ds, { compact: true }), keys)!;
  const values = plan.txns[0]!.ops.flatMap((o) => ('put' in o && o.put !== keys.decisionMeta ? [o.value] : []));
  const whole = planDecisionWrite(emptyWriterBase(), next(ds), keys)!.txns[0]!.ops.flatMap((o) => ('put' in o && o.put !== keys.decisionMeta ? [o.value] : []));
  for (const [i, v] of values.entries()) {
    assert.ok(!v.includes('"d":') && v.includes('"s":') && v.includes('"h":'), v);
    assert.ok(v.length < whole[i]!.length * 0.5, `compact ${v.length} bytes, whole ${whole[i]!.length}`);
  }
  assert.equal(JSON.parse((plan.txns[0]!.ops.at(-1) as { value: string }).value).layout, DECISION_LAYOUT, 'the meta key names its layout');
  writeAll(etcd, base, plan);
  // The reader's decisions are the leader's, field for field (version: the generation that wrote them).
  assert.deepEqual(reader.record()!.decisions, ds.map((d) => ({ ...d, version: 1 })));
  assert.equal(reader.record()!.decisions[1]!.targets[0]!.why, 'override: DOWN: maintenance');
  assert.deepEqual(bad, []);

  // A leader's base read back from etcd knows these values: the same decisions write nothing.
  assert.equal(planDecisionWrite(writerBaseFrom([...etcd.kv].map(([key, value]) => ({ key, value })), keys), next(ds, { compact: true }), keys), undefined);
  // Stored whole again (an instance of another config or version is live): every record set is rewritten, whole.
  const again = planDecisionWrite(base, next(ds, { compact: false }), keys)!;
  assert.equal(again.recordSets, 4);
  assert.ok(again.txns[0]!.ops.every((o) => !('put' in o) || o.put === keys.decisionMeta || o.value.includes('"d":')));

  // A reader whose config lacks a record set, or has other targets for it: reported with why, the value not served.
  const other = new Map(byKey);
  other.delete('r0.example.test/A');
  other.set('r2.example.test/A', { ...configs[2]!, targets: configs[2]!.targets.slice(0, 2) });
  other.set('r3.example.test/A', { ...configs[3]!, targets: [configs[3]!.targets[0]!, { ...configs[3]!.targets[1]!, id: 'r3.example.test/A/127.0.0.9', address: '127.0.0.9' }, configs[3]!.targets[2]!] });
  const why = new Map<string, string>();
  const stranger = new DecisionAssembler(keys, undefined, (k, w) => why.set(k, w), (key, c, g) => {
    const rs = other.get(key);
    return rs ? rebuildDecision(rs, c, g) : `no record set ${key}`;
  });
  for (const [k, v] of [...etcd.kv].sort(([a], [b]) => (a < b ? -1 : 1))) stranger.apply(k, v);
  assert.deepEqual(stranger.record()!.decisions.map((d) => d.key), ['r1.example.test/A']);
  assert.match(why.get(keys.decisionRecordSet('r0.example.test/A'))!, /no record set/);
  assert.match(why.get(keys.decisionRecordSet('r2.example.test/A'))!, /3 targets, this instance's config 2/);
  assert.match(why.get(keys.decisionRecordSet('r3.example.test/A'))!, /answers r3\.example\.test\/A\/127\.0\.0\.2, a target this instance's config lacks/);

  // Policy topology is stored whole even when compact is asked (its sites and client map are not in the fingerprint).
  const topo = { ...ds[0]!, key: 'topo.example.test/A', policy: 'topology' as const };
  const withTopo = planDecisionWrite(base, next([...ds, topo], { compact: true }), keys)!;
  const topoOp = withTopo.txns[0]!.ops.find((o) => 'put' in o && o.put === keys.decisionRecordSet('topo.example.test/A')) as { value: string };
  assert.ok(topoOp.value.includes('"d":'));

  // A meta key of a newer layout is refused (reported) and what was served stays.
  const before = reader.record();
  const meta = JSON.parse(etcd.kv.get(keys.decisionMeta)!);
  assert.equal(reader.apply(keys.decisionMeta, JSON.stringify({ ...meta, generation: 9, layout: DECISION_LAYOUT + 1 })), false);
  assert.equal(reader.record(), before);
  assert.match(bad.at(-1)![1], new RegExp(`decision layout ${DECISION_LAYOUT + 1}; this failoverd reads layouts up to ${DECISION_LAYOUT}`));
});

test('decision write failures: each error sorted into a known cause; retries back off to a bound; the first failure of a cause is marked (logged once), a success clears it', () => {
  assert.equal(decisionWriteFailureCause(new Error('etcdserver: mvcc: database space exceeded')), 'no-space');
  assert.equal(decisionWriteFailureCause(new Error('etcdserver: request is too large')), 'too-large');
  assert.equal(decisionWriteFailureCause(new Error('Received message larger than max (5000000 vs. 4194304)')), 'too-large');
  assert.equal(decisionWriteFailureCause(new Error('etcdserver: too many operations in txn request')), 'too-many-ops');
  assert.equal(decisionWriteFailureCause(Object.assign(new Error('14 UNAVAILABLE: No connection established'), { name: 'GRPCUnavailableError' })), 'unavailable');
  assert.equal(decisionWriteFailureCause(new Error('etcdserver: permission denied')), 'permission');
  assert.equal(decisionWriteFailureCause('something else'), 'other');
  const f = new WriteFailures();
  const delays: number[] = [];
  const firsts: boolean[] = [];
  for (let i = 0; i < 8; i++) {
    const r = f.failed(new Error('etcdserver: mvcc: database space exceeded'), 1000 + i);
    delays.push(r.retryMs);
    firsts.push(r.first);
  }
  assert.deepEqual(delays, [250, 500, 1000, 2000, 4000, RETRY_MAX_MS, RETRY_MAX_MS, RETRY_MAX_MS]);
  assert.deepEqual(firsts, [true, false, false, false, false, false, false, false]);
  assert.deepEqual(f.current, { cause: 'no-space', since: 1000, lastAt: 1007, message: 'etcdserver: mvcc: database space exceeded' });
  assert.equal(f.failed(new Error('etcdserver: request is too large'), 2000).first, true, 'another cause is logged again');
  assert.equal(f.current!.since, 1000, 'failing since the first failure');
  assert.deepEqual({ ...f.counts }, { 'too-large': 1, 'no-space': 8, 'too-many-ops': 0, unavailable: 0, permission: 0, other: 0 });
  assert.equal(f.succeeded()!.cause, 'too-large');
  assert.equal(f.current, undefined);
  assert.equal(f.succeeded(), undefined, 'the recovery is reported once');
  assert.equal(f.failed(new Error('x'), 3000).retryMs, 250, 'the backoff starts over');
});
