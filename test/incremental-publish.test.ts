/**
 * One answer change costs what changed, not every record set (issue 21's
 * cluster-scale: at 10,000 record sets each change rebuilt every decision,
 * serialized each to compare it with etcd, diffed every dynamic name into
 * the IXFR journal, serialized the whole state file and every vantage
 * shard). Unit: the Decider keeps an unchanged record set's decision object;
 * the leader's write plan skips those it wrote without serializing them; the
 * journal diffs the names whose node changed; the state file's bytes are
 * those of a fresh serialization; a vantage shard made again alone equals
 * the one a full build makes; a batch of many transactions has several in
 * flight, the meta key's last.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FakeClock } from './helpers/fake-clock.ts';
import { applyTxnToBase, emptyWriterBase, planDecisionWrite, type NextDecisions } from '../src/cluster/decision-layout.ts';
import { DecisionStore } from '../src/cluster/decision-store.ts';
import type { Leadership } from '../src/cluster/leadership.ts';
import { ClusterKeys } from '../src/cluster/keys.ts';
import { shardBodies, shardCount, ShardedViews, type VantageView } from '../src/cluster/vantage-layout.ts';
import type { CheckConfig, Config, Health, RecordSetConfig } from '../src/config/types.ts';
import { Decider } from '../src/failover/decider.ts';
import type { TargetHealthView } from '../src/health/target-health.ts';
import { toDynamicRRset } from '../src/published-answers.ts';
import { buildSnapshot, namesChangedSince } from '../src/records/snapshot.ts';
import { applyDelta, snapshotDelta } from '../src/dns/snapshot-delta.ts';
import { StateText } from '../src/state/state-text.ts';
import { Journal } from '../src/transfer/journal.ts';
import { parseZoneText } from '../src/zones/parse.ts';
import { silentLogger } from '../src/log.ts';
import { FakeEtcd } from './helpers/fake-etcd.ts';

const check: CheckConfig = {
  type: 'http', port: 80, path: '/', headers: {}, expect: { status: ['200-399'] }, tlsVerify: true,
  interval: 1000, fastInterval: 100, timeout: 500, rise: 1, fall: 1, watch: true,
};

function recordSet(i: number): RecordSetConfig {
  const name = `r${i}.example.test`;
  const targets = ['127.0.0.1', '127.0.0.2', '127.0.0.3'].map((address, k) => ({ id: `${name}/A/${address}`, address, checkName: 'web', check, weight: 1, probeKey: k === 0 ? `web${i}@${address}` : `web@${address}` }));
  return { name, type: 'A', zone: 'example.test', ttl: 30, policy: 'failover', failback: 'auto', whenAllDown: 'primary', maxAnswers: 8, targets };
}

/** A Decider over `n` record sets: each has its own primary probe key (web<i>@127.0.0.1), all share the secondary and tertiary. */
function harness(n: number) {
  const clock = new FakeClock();
  const health = new Map<string, Health>();
  const config = { records: Array.from({ length: n }, (_, i) => recordSet(i)) } as unknown as Config;
  const decider = new Decider(config, {
    clock,
    logger: silentLogger,
    health: { view: (t): TargetHealthView => ({ health: health.get(t.probeKey) ?? 'UP', realHealth: health.get(t.probeKey) ?? 'UP', since: 0, overridden: false }) },
  });
  decider.activate();
  const set = (probeKey: string, h: Health): void => {
    clock.advance(1000);
    health.set(probeKey, h);
    decider.probeKeyChanged(probeKey);
  };
  return { decider, set, config };
}

test('the Decider keeps an unchanged record set\'s decision object; a record set whose machine ran gets a new one', () => {
  const { decider, set, config } = harness(5);
  const first = decider.decisions();
  assert.equal(first.length, 5);
  assert.deepEqual(decider.decisions(), first);
  assert.ok(decider.decisions().every((d, i) => d === first[i]), 'nothing changed: the same objects');
  set('web2@127.0.0.1', 'DOWN');
  const second = decider.decisions();
  assert.deepEqual(second[2]!.answer, { kind: 'values', values: ['127.0.0.2'], ttl: 30 });
  assert.equal(second[2]!.targets[0]!.health, 'DOWN');
  assert.ok(second[2]!.version > first[2]!.version, 'a changed decision has the version of the batch that made it');
  for (const i of [0, 1, 3, 4]) assert.equal(second[i], first[i], `r${i} did not change: the same object`);
  // The tertiary of every record set: no answer changes, but every decision quotes its health.
  set('web@127.0.0.3', 'DOWN');
  const third = decider.decisions();
  for (let i = 0; i < 5; i++) {
    assert.notEqual(third[i], second[i]);
    assert.equal(third[i]!.targets[2]!.health, 'DOWN');
    assert.deepEqual(third[i]!.answer, second[i]!.answer);
  }
  decider.reload(config);
  assert.ok(decider.decisions().every((d, i) => d !== third[i]), 'a reload makes every decision again');
});

test('the leader\'s write plan: the decision objects it wrote are skipped; a new object with the same content writes nothing either', () => {
  const keys = new ClusterKeys('t');
  const { decider, set } = harness(4);
  const base = emptyWriterBase();
  const next = (): NextDecisions => ({ decisions: decider.decisions(), newTransitions: [], leader: 'fo-1', term: '7', decidedAt: 1, serials: { 'example.test': 1 } });
  const writeAll = (n: NextDecisions): number => {
    const plan = planDecisionWrite(base, n, keys);
    if (!plan) return 0;
    plan.txns.forEach((t, i) => applyTxnToBase(base, plan, t, i === plan.txns.length - 1));
    return plan.recordSets;
  };
  assert.equal(writeAll(next()), 4);
  assert.equal(planDecisionWrite(base, next(), keys), undefined, 'the same objects: nothing to write');
  set('web1@127.0.0.1', 'DOWN');
  assert.equal(writeAll(next()), 1, 'one record set changed: one written');
  const copies = decider.decisions().map((d) => ({ ...d, version: d.version + 100 }));
  assert.equal(planDecisionWrite(base, { ...next(), decisions: copies }, keys), undefined, 'equal copies (another version): nothing to write');
  assert.equal(writeAll({ ...next(), decisions: copies.slice(1) }), 1, 'a record set gone: deleted');
  assert.equal(base.bodies.size, 3);
});

test('the journal and the DNS workers\' delta take only the names whose node changed, among thousands of dynamic names', () => {
  const zones = [parseZoneText('$ORIGIN example.test.\n$TTL 300\n@ SOA ns1 host 1 3600 600 86400 300\n@ NS ns1\nns1 A 127.0.0.1\n', { file: 'example.test.zone' })];
  const { decider, set } = harness(2000);
  const journal = new Journal();
  let snap = buildSnapshot(zones, decider.decisions().map(toDynamicRRset));
  journal.record(snap);
  const from = snap.zones[0]!.serial;
  set('web1234@127.0.0.1', 'DOWN');
  const prev = snap;
  snap = buildSnapshot(zones, decider.decisions().map(toDynamicRRset), snap);
  assert.deepEqual([...namesChangedSince(prev.zones[0]!, snap.zones[0]!)!], ['r1234.example.test'], 'the snapshot says which names it made again');
  assert.equal(namesChangedSince(snap.zones[0]!, prev.zones[0]!), undefined, 'not built from that view: unknown');
  const delta = snapshotDelta(prev, snap)!;
  assert.deepEqual(delta.zones[0]!.changed.map(([name]) => name), ['r1234.example.test'], 'the delta to the DNS workers holds that name only');
  assert.equal(applyDelta(prev, delta).zones[0]!.nodes.get('r1234.example.test'), snap.zones[0]!.nodes.get('r1234.example.test'));
  journal.record(snap);
  const entries = journal.changes('example.test', from, snap.zones[0]!.serial);
  assert.equal(entries?.length, 1);
  const rr = (r: { owner: string; data: unknown }) => `${r.owner} ${(r.data as { address: string }).address}`;
  assert.deepEqual(entries![0]!.deleted.map(rr), ['r1234.example.test 127.0.0.1']);
  assert.deepEqual(entries![0]!.added.map(rr), ['r1234.example.test 127.0.0.2']);
});

test('the state file\'s bytes parse to the state, after changes too, as a fresh serialization does', () => {
  const health = new Map(Array.from({ length: 1000 }, (_, i) => [`web@127.0.${i >> 8}.${i & 255}`, { health: 'UP', since: i, check: 'abc' }]));
  const recordSets = new Map<string, object>(Array.from({ length: 1000 }, (_, i) => [`r${i}.example.test/A`, { answer: { kind: 'targets', targetIds: [`r${i}/a`], ttl: 30, weighted: false }, since: 1, reason: 'up', degraded: false, allDown: false }]));
  const state = () => ({ version: 1, savedAt: 'now', overrides: { 'r1.example.test/A/127.0.0.1': { state: 'DOWN', reason: 'drain "x"', createdAt: 5, source: 'api' } }, health, recordSets, serials: { 'example.test': 7 } });
  const expected = () => ({ ...state(), health: Object.fromEntries(health), recordSets: Object.fromEntries(recordSets) });
  const text = new StateText();
  assert.deepEqual(JSON.parse(text.bytes(state()).toString()), expected());
  recordSets.set('r700.example.test/A', { answer: { kind: 'nodata', ttl: 30 }, since: 2, reason: 'down', degraded: true, allDown: true });
  health.set('web@127.0.0.9', { health: 'DOWN', since: 9, check: 'abc' });
  health.delete('web@127.0.3.231');
  recordSets.delete('r999.example.test/A');
  const bytes = text.bytes(state());
  assert.deepEqual(JSON.parse(bytes.toString()), expected());
  assert.deepEqual(bytes, new StateText().bytes(state()), 'the same bytes as a writer that kept nothing');
  const empty = { version: 1, savedAt: '', overrides: {}, health: {}, recordSets: {}, serials: {} };
  assert.deepEqual(JSON.parse(text.bytes(empty).toString()), empty);
});

test('a vantage shard made again alone is the one a full build makes; a probe key not in the shards asks for a rebuild', () => {
  const head = '/failoverd/t/vantage/fo-1';
  const views: Record<string, VantageView> = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`web@127.0.${i >> 8}.${i & 255}`, { health: 'UP', since: 1, reason: 'HTTP 200' }]));
  const sharded = new ShardedViews();
  assert.deepEqual(sharded.rebuild(head, views), shardBodies(head, views, shardCount(1000)));
  assert.equal(sharded.count, shardCount(1000));
  views['web@127.0.2.7'] = { health: 'DOWN', since: 2, reason: 'connect ECONNREFUSED' };
  const updated = sharded.update(head, ['web@127.0.2.7'], (k) => views[k]);
  assert.deepEqual(updated, shardBodies(head, views, shardCount(1000)));
  assert.equal(sharded.update(head, ['web@10.0.0.1'], (k) => views[k]), undefined, 'a new probe key: rebuild');
  assert.equal(sharded.update(`${head}x`, ['web@127.0.2.7'], (k) => views[k]), undefined, 'another head: rebuild');
});

test('a batch of many transactions: up to 16 in flight, the meta key\'s last once all went through; a failure or a refusal stops it, a retry writes the rest', async () => {
  const keys = new ClusterKeys('t');
  const clock = new FakeClock();
  const store = new DecisionStore(new FakeEtcd(clock), keys, silentLogger, { clock, limits: { maxOps: 100, maxBytes: 1024 * 1024 } });
  let inFlight = 0;
  let most = 0;
  const sent: string[][] = [];
  let failNext = 0;
  let refuse = false;
  const leadership = {
    fencedTxn: async (ops: Array<{ put: string } | { delete: string }>): Promise<boolean> => {
      const ks = ops.map((o) => ('put' in o ? o.put : o.delete));
      inFlight++;
      most = Math.max(most, inFlight);
      try {
        await new Promise((r) => setImmediate(r));
        if (refuse) return false;
        if (failNext > 0 && ks.includes(keys.decisionRecordSet('r450.example.test/A'))) {
          failNext--;
          throw new Error('etcd down');
        }
        sent.push(ks);
        return true;
      } finally {
        inFlight--;
      }
    },
  } as unknown as Leadership;
  const { decider, set } = harness(1000);
  const next = (): NextDecisions => ({ decisions: decider.decisions(), newTransitions: [], leader: 'fo-1', term: '7', decidedAt: 1, serials: { 'example.test': 1 } });
  const first = await store.write(leadership, next());
  assert.equal(first.kind, 'written');
  assert.equal(sent.length, 11, '1,000 record sets and the meta key in transactions of at most 100 operations');
  assert.ok(most > 1 && most <= 16, `at most 16 transactions in flight (${most})`);
  assert.deepEqual(sent.at(-1)!.at(-1), keys.decisionMeta, 'the meta key in the last transaction');
  assert.equal(sent.flat().length, 1001);
  // Every record set's primary fails at once; the transaction holding r450 fails once: the write rejects, what went through stays written.
  for (let i = 0; i < 1000; i++) set(`web${i}@127.0.0.1`, 'DOWN');
  sent.length = 0;
  failNext = 1;
  await assert.rejects(store.write(leadership, next()), /etcd down/);
  assert.ok(!sent.flat().includes(keys.decisionMeta), 'no meta key: the batch is not served');
  const through = sent.flat().length;
  assert.ok(through > 0 && through < 1000);
  sent.length = 0;
  const retry = await store.write(leadership, next());
  assert.equal(retry.kind, 'written');
  assert.equal(sent.flat().length, 1000 - through + 1, 'the retry writes the rest and the meta key');
  refuse = true;
  set('web1@127.0.0.1', 'UP');
  sent.length = 0;
  assert.deepEqual(await store.write(leadership, next()), { kind: 'refused' });
  await store.stop();
});
