/**
 * Leadership and its kept lease on the in-memory etcd with a scripted
 * clock (unit): one leader among three; the fence refuses a deposed
 * leader; a lease etcd stops confirming makes its holder step down within
 * a TTL and, if etcd expired it, another lead; a leader whose keep-alives
 * come back in time takes its own key back; an etcd reset (empty store)
 * elects again.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FakeClock } from './helpers/fake-clock.ts';
import { KeptLease } from '../src/cluster/kept-lease.ts';
import { Leadership } from '../src/cluster/leadership.ts';
import { FakeEtcd } from './helpers/fake-etcd.ts';

const KEY = '/failoverd/t/leader';
const TTL = 3;

async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
}

/** Advances the clock in steps of `step` ms, letting promises run between them. */
async function run(clock: FakeClock, ms: number, step = 250): Promise<void> {
  for (let t = 0; t < ms; t += step) {
    clock.advance(step);
    await settle();
  }
}

async function three(t: { after(fn: () => unknown): void }) {
  const clock = new FakeClock();
  const etcd = new FakeEtcd(clock);
  const nodes = [0, 1, 2].map((i) => new Leadership(etcd, KEY, `i${i}`, TTL, clock));
  const events: string[] = [];
  nodes.forEach((n, i) => {
    n.on('elected', () => events.push(`i${i} elected`));
    n.on('deposed', () => events.push(`i${i} deposed`));
    n.on('error', (err) => events.push(`i${i} campaign failed: ${(err as Error).message}`));
  });
  t.after(async () => {
    for (const n of nodes) await n.close();
  });
  for (const n of nodes) await n.start();
  await settle();
  return { clock, etcd, nodes, events };
}

test('leadership: one leader among three, named in etcd; its fenced writes land, the others\' are refused', async (t) => {
  const { etcd, nodes } = await three(t);
  const leaders = nodes.filter((n) => n.isLeader);
  assert.equal(leaders.length, 1);
  const i = nodes.indexOf(leaders[0]!);
  assert.equal(await nodes[(i + 1) % 3]!.leader(), `i${i}`);
  assert.equal(await nodes[i]!.fencedTxn([{ put: '/failoverd/t/a', value: '1' }, { put: '/failoverd/t/b', value: '2' }]), true);
  assert.equal(etcd.peek('/failoverd/t/b'), '2');
  for (const n of nodes) if (n !== leaders[0]) assert.equal(await n.fencedPut('/failoverd/t/a', 'x'), false);
  assert.equal(etcd.peek('/failoverd/t/a'), '1');
});

test('leadership: the leader\'s keep-alives fail; it steps down within a TTL, etcd expires its lease, another leads; its fenced write is refused', async (t) => {
  const { clock, etcd, nodes, events } = await three(t);
  const first = nodes.findIndex((n) => n.isLeader);
  const firstLease = nodes[first]!.lease.id!;
  // Only the leader's keep-alives fail (as when its process is paused or its link to etcd is cut).
  etcd.fail(['leaseKeepAlive'], { times: Infinity, when: (id) => id === firstLease });
  await run(clock, TTL * 1000);
  assert.equal(nodes[first]!.isLeader, false, 'stale: stepped down');
  await run(clock, 1000);
  const second = nodes.findIndex((n) => n.isLeader);
  assert.notEqual(second, -1);
  assert.notEqual(second, first);
  assert.equal(await nodes[first]!.fencedPut('/failoverd/t/a', 'deposed'), false);
  assert.equal(etcd.peek(KEY), `i${second}`);
  assert.ok(events.includes(`i${first} deposed`), events.join(', '));
  assert.equal(nodes.filter((n) => n.isLeader).length, 1);
});

test('leadership: keep-alive answers lost (etcd renews, the leader does not hear it): it steps down after a TTL, nobody else leads, and it takes its own key back once answers return', async (t) => {
  const { clock, etcd, nodes } = await three(t);
  const first = nodes.findIndex((n) => n.isLeader);
  const lease = nodes[first]!.lease.id!;
  const clear = etcd.fail(['leaseKeepAlive'], { times: Infinity, applied: true, when: (id) => id === lease });
  await run(clock, 1.5 * TTL * 1000);
  assert.equal(nodes[first]!.isLeader, false, 'unconfirmed for a TTL: not leading');
  assert.equal(nodes.filter((n) => n.isLeader).length, 0, 'nobody else: the key is still under the live lease');
  assert.ok(etcd.leaseIds().includes(lease));
  clear();
  await run(clock, TTL * 1000);
  assert.equal(nodes[first]!.isLeader, true, 'the key was still its own');
  assert.equal(nodes[first]!.lease.id, lease);
  assert.equal(nodes.filter((n) => n.isLeader).length, 1);
});

test('leadership: etcd replaced by an empty one: the lease is gone, a new one is granted and someone leads again', async (t) => {
  const { clock, etcd, nodes } = await three(t);
  etcd.reset();
  await run(clock, 2 * TTL * 1000);
  assert.equal(nodes.filter((n) => n.isLeader).length, 1);
  const i = nodes.findIndex((n) => n.isLeader);
  assert.equal(etcd.peek(KEY), `i${i}`);
  assert.equal(await nodes[i]!.fencedPut('/failoverd/t/a', 'after-reset'), true);
});

test('the kept lease is fresh a TTL from when its confirmed renewal was SENT, as etcd counts it, not from its late answer; the next renewal leaves a third of a TTL after the last send', async () => {
  const clock = new FakeClock();
  const etcd = new FakeEtcd(clock);
  // Renewals reach etcd when sent; their answers wait until released (a slow network or a paused process).
  const answers: Array<() => void> = [];
  const sent: number[] = [];
  let reachEtcd = true;
  const port = Object.create(etcd) as FakeEtcd;
  port.leaseKeepAlive = (id: string) => {
    sent.push(clock.now());
    const renewed = reachEtcd ? etcd.leaseKeepAlive(id) : new Promise<number>(() => undefined);
    return new Promise<number>((resolve, reject) => answers.push(() => void renewed.then(resolve, reject)));
  };
  const lease = new KeptLease(port, TTL, clock);
  const t0 = clock.now();
  await lease.start();
  assert.ok(lease.fresh());
  await run(clock, 1000, 50); // the first renewal is sent at +1000 (TTL/3) and reaches etcd: etcd's TTL runs to +4000
  assert.deepEqual(sent.map((t) => t - t0), [1000]);
  reachEtcd = false; // from now on renewals are lost on the way
  await run(clock, 1900, 50); // its answer comes back at +2900
  answers.shift()!();
  await settle();
  await run(clock, 50, 50); // +2950
  assert.deepEqual(sent.map((t) => t - t0), [1000, 2900], 'the next renewal leaves at once: a third of a TTL after the last send had passed');
  await run(clock, 1000, 50); // +3950
  assert.ok(lease.fresh(), 'fresh within a TTL of the confirmed send (+1000)');
  assert.deepEqual(etcd.leaseIds(), [lease.id], 'etcd still has it');
  await run(clock, 100, 50); // +4050
  assert.deepEqual(etcd.leaseIds(), [], 'etcd expired it a TTL after the renewal it got');
  assert.equal(lease.fresh(), false, 'and the holder no longer believes in it (counting from the answer, it would until +5900)');
  await lease.close();
});
