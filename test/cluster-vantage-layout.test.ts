/**
 * The vantage reports' layout (vantage-layout.ts) at scale, on the
 * in-memory etcd (unit): a report of 10,000 probe keys goes in shards within
 * the transaction limits, head last; a change of one view rewrites one shard
 * of a size that does not grow with the number of probe keys; nothing is
 * written when nothing changed; a reader following every key as it lands
 * (the leader's vantage mirror) sees every view old or new whole during a
 * mass change cut in several transactions and during a change of the shard
 * count, never a view missing; an instance is a vantage point from its head
 * on, once its shards are there; a head of an earlier version is read.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FakeClock } from './helpers/fake-clock.ts';
import { EtcdWrites } from '../src/cluster/etcd-writes.ts';
import { KeptLease } from '../src/cluster/kept-lease.ts';
import { PrefixMirror } from '../src/cluster/prefix-mirror.ts';
import { planVantageWrite, shardBodies, shardCount, SHARD_TARGET, type VantageView } from '../src/cluster/vantage-layout.ts';
import { VantageReader } from '../src/cluster/vantage-reader.ts';
import { vantageOwner, VantagePublisher } from '../src/cluster/vantage.ts';
import { captureLog } from './helpers/log-capture.ts';
import { FakeEtcd } from './helpers/fake-etcd.ts';

const PREFIX = '/failoverd/unit/vantage/';
const HEAD = `${PREFIX}fo-1`;
const LIMITS = { maxOps: 100, maxBytes: 1024 * 1024 };

const viewsOf = (n: number, health: VantageView['health'], since: number): Record<string, VantageView> =>
  Object.fromEntries(Array.from({ length: n }, (_, i) => [`mass${i}@127.1.${i >> 8}.${i & 255}`, { health, since, reason: health === 'DOWN' ? `connect ECONNREFUSED 127.1.${i >> 8}.${i & 255}:41234` : 'HTTP 200' }]));

async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
}

function opsBytes(ops: ReadonlyArray<{ put: string; value: string } | { delete: string }>): number {
  return ops.reduce((n, op) => n + ('put' in op ? op.put.length + Buffer.byteLength(op.value) : op.delete.length), 0);
}

test('a report of 10,000 probe keys: shards within the limits, head last; one view changed rewrites one shard, whose size does not grow with the probe keys', () => {
  const oneChange: Record<number, number> = {};
  for (const n of [1000, 10_000, 40_000]) {
    const views = viewsOf(n, 'UP', 1);
    const s = shardCount(n);
    assert.ok(n / s <= SHARD_TARGET && n / s > SHARD_TARGET / 2, `${n} keys in ${s} shards`);
    const next = (v: Record<string, VantageView>) => ({ headKey: HEAD, head: `{"shards":${s}}`, headValue: `{"instance":"fo-1","shards":${s},"at":1}`, shards: shardBodies(HEAD, v, s) });
    const written = { head: undefined as string | undefined, shards: new Map<string, string>() };
    const first = planVantageWrite(written, next(views), LIMITS);
    for (const t of first) {
      assert.ok(t.ops.length <= LIMITS.maxOps && opsBytes(t.ops) < LIMITS.maxBytes, `a transaction of ${t.ops.length} ops, ${opsBytes(t.ops)} bytes`);
      t.done(written);
    }
    const all = first.flatMap((t) => t.ops);
    assert.deepEqual(all.at(-1), { put: HEAD, value: `{"instance":"fo-1","shards":${s},"at":1}` }, 'the head is the last key written');
    assert.equal(all.length, s + 1);
    assert.deepEqual(planVantageWrite(written, next(views), LIMITS), [], 'nothing changed: nothing written');
    const changed = { ...views, 'mass7@127.1.0.7': { health: 'DOWN' as const, since: 2, reason: 'connect ECONNREFUSED 127.1.0.7:41234' } };
    const one = planVantageWrite(written, next(changed), LIMITS);
    assert.equal(one.length, 1);
    assert.equal(one[0]!.ops.length, 1, 'one shard');
    oneChange[n] = opsBytes(one[0]!.ops);
  }
  // Shard sizes vary with the hash (a power of two of shards: 32 to 64 keys each on average): a bound, not a ratio.
  for (const [n, bytes] of Object.entries(oneChange)) assert.ok(bytes < 16 * 1024, `${n} probe keys: one change wrote ${bytes} bytes`);
  assert.ok(oneChange[40_000]! < 3 * oneChange[1000]!, JSON.stringify(oneChange));
});

/** A publisher of `views()` and a reader fed by a mirror of the prefix, on one fake etcd. */
async function rig(limits = LIMITS) {
  const clock = new FakeClock();
  const etcd = new FakeEtcd(clock);
  const log = captureLog('info');
  const lease = new KeptLease(etcd, 3, clock);
  let views: Record<string, VantageView> = {};
  const pub = new VantagePublisher({
    etcd,
    key: HEAD,
    instance: 'fo-1',
    lease,
    views: () => views,
    records: () => 'fp',
    extraTargets: () => [],
    owner: vantageOwner(clock.now()),
    writes: new EtcdWrites(log.logger, clock),
    limits,
    clock,
    log: log.logger,
  });
  const reader = new VantageReader(PREFIX);
  const mirror = new PrefixMirror(etcd, PREFIX, { clock });
  const checks: Array<() => void> = [];
  mirror.on('change', (key, value) => {
    reader.apply(key, value);
    for (const c of checks) c();
  });
  await mirror.start();
  await lease.start();
  pub.enable();
  return {
    etcd,
    reader,
    checks,
    set(v: Record<string, VantageView>) {
      views = v;
      pub.changed();
    },
    async stop() {
      pub.stop();
      await mirror.stop();
      await lease.close();
    },
  };
}

test('publisher and reader: a mass change in several transactions reads old or new per view, never missing; one change writes one shard; no change writes nothing', async () => {
  const r = await rig({ maxOps: 10, maxBytes: 1024 * 1024 });
  try {
    const up = viewsOf(3000, 'UP', 1);
    r.set(up);
    await settle();
    const rep = () => r.reader.reports();
    assert.equal(rep().length, 1);
    assert.deepEqual(rep()[0]!.targets, up);
    assert.equal(r.reader.takeChanges().membership, true);

    const down = viewsOf(3000, 'DOWN', 2);
    let seen = 0;
    let mixed = false;
    r.checks.push(() => {
      const t = rep()[0]!.targets;
      let downs = 0;
      for (const k of Object.keys(up)) {
        assert.ok(t[k] !== undefined, `${k} missing mid-batch`);
        if (t[k]!.health === 'DOWN') {
          assert.deepEqual(t[k], down[k]);
          downs++;
        } else assert.deepEqual(t[k], up[k]);
      }
      if (downs > 0 && downs < 3000) mixed = true;
      seen++;
    });
    const txnsBefore = r.etcd.calls.get('txn') ?? 0;
    r.set(down);
    await settle();
    assert.ok(mixed, 'the batch was read between two of its transactions');
    assert.ok(seen > 0);
    assert.deepEqual(rep()[0]!.targets, down);
    assert.equal((r.etcd.calls.get('txn') ?? 0) - txnsBefore, Math.ceil(shardCount(3000) / 10), 'every shard changed: written in transactions of 10');
    const changes = r.reader.takeChanges();
    assert.equal(changes.membership, false);
    assert.equal(changes.probeKeys.size, 3000);

    const one = { ...down, 'mass5@127.1.0.5': up['mass5@127.1.0.5']! };
    const rev = r.etcd.revision;
    r.set(one);
    await settle();
    assert.equal(r.etcd.revision, rev + 1n, 'one transaction');
    assert.deepEqual([...r.reader.takeChanges().probeKeys], ['mass5@127.1.0.5']);
    r.set({ ...one });
    await settle();
    assert.equal(r.etcd.revision, rev + 1n, 'nothing changed: nothing written');
  } finally {
    await r.stop();
  }
});

test('a change of the shard count: new shards first, the head naming them after; the reader reads the old shards whole until then', async () => {
  const r = await rig({ maxOps: 8, maxBytes: 1024 * 1024 });
  try {
    const small = viewsOf(100, 'UP', 1);
    r.set(small);
    await settle();
    assert.equal(r.reader.reports()[0]!.shards, shardCount(100));
    const big = viewsOf(2000, 'DOWN', 2);
    r.checks.push(() => {
      const t = r.reader.reports()[0]!.targets;
      const n = Object.keys(t).length;
      assert.ok(n === 100 || n === 2000, `${n} views read`);
      assert.deepEqual(t, n === 100 ? small : big);
    });
    r.set(big);
    await settle();
    assert.deepEqual(r.reader.reports()[0]!.targets, big);
    const keys = [...(await r.etcd.getPrefix(PREFIX)).kvs.map((kv) => kv.key)];
    assert.equal(keys.length, shardCount(2000) + 1, 'the old shards are deleted');
    assert.ok(keys.every((k) => k === HEAD || k.startsWith(`${HEAD}/${shardCount(2000)}/`)));
  } finally {
    await r.stop();
  }
});

test('the reader: a vantage point from its head on; gone with its head; a head of an earlier version carries its views', () => {
  const reader = new VantageReader(PREFIX);
  const views = viewsOf(200, 'UP', 1);
  const s = shardCount(200);
  for (const [k, v] of shardBodies(HEAD, views, s)) reader.apply(k, v);
  assert.equal(reader.reports().length, 0, 'shards without a head: not a vantage point yet');
  reader.apply(HEAD, JSON.stringify({ instance: 'fo-1', at: 1, shards: s }));
  assert.deepEqual(reader.reports()[0]!.targets, views);
  assert.equal(reader.takeChanges().membership, true);
  reader.apply(`${PREFIX}fo-2`, JSON.stringify({ instance: 'fo-2', at: 1, targets: { 'web@127.0.0.1': { health: 'DOWN', since: 3 } } }));
  assert.deepEqual(
    reader.reports().map((x) => [x.instance, Object.keys(x.targets).length]),
    [
      ['fo-1', 200],
      ['fo-2', 1],
    ],
  );
  reader.apply(HEAD, undefined);
  assert.deepEqual(
    reader.reports().map((x) => x.instance),
    ['fo-2'],
  );
  const c = reader.takeChanges();
  assert.equal(c.membership, true);
  assert.equal(c.probeKeys.size, 201);
});
