/**
 * PrefixMirror on the in-memory etcd (unit): it follows puts and deletes,
 * and repairs itself after each routine event of etcd's life: a broken
 * stream (resumed from the last revision, no re-list), a compaction (the
 * resumed watch is canceled "compacted": re-list), a reset of etcd (the
 * revision goes back: re-list, stale keys deleted), a silent reset seen
 * only by the periodic check, another cluster id. Every recovery is
 * reported once with its cause and ends live, equal to etcd.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FakeClock } from './helpers/fake-clock.ts';
import { PrefixMirror, RETRY_MAX_MS, type RecoveryCause } from '../src/cluster/prefix-mirror.ts';
import { FakeEtcd } from './helpers/fake-etcd.ts';

const P = '/failoverd/t/overrides/';

/** Lets every pending microtask and promise of the fake run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
}

async function setup(t: { after(fn: () => unknown): void }) {
  const clock = new FakeClock();
  const etcd = new FakeEtcd(clock);
  const mirror = new PrefixMirror(etcd, P, { clock });
  const changes: Array<[string, string | undefined]> = [];
  const recoveries: RecoveryCause[] = [];
  mirror.on('change', (k, v) => changes.push([k, v]));
  mirror.on('recovering', (cause) => recoveries.push(cause));
  t.after(() => mirror.stop());
  /** Asserts that the mirror holds exactly what etcd holds under P. */
  const equalsEtcd = async (): Promise<void> => {
    const { kvs } = await etcd.getPrefix(P);
    assert.deepEqual([...mirror.all()].sort(), kvs.map((kv) => [kv.key, kv.value]));
  };
  return { clock, etcd, mirror, changes, recoveries, equalsEtcd };
}

test('mirror: lists, then follows puts and deletes under its prefix only', async (t) => {
  const { etcd, mirror, changes, equalsEtcd } = await setup(t);
  await etcd.put(`${P}a`, '1');
  await etcd.put('/failoverd/t/other', 'x');
  await mirror.start();
  assert.equal(mirror.state, 'live');
  assert.deepEqual(changes, [[`${P}a`, '1']]);
  await etcd.put(`${P}b`, '2');
  await etcd.put(`${P}a`, '3');
  await etcd.delete(`${P}b`);
  await settle();
  assert.equal(mirror.revision, etcd.revision);
  await etcd.put('/failoverd/t/other', 'y');
  await settle();
  assert.deepEqual(changes, [[`${P}a`, '1'], [`${P}b`, '2'], [`${P}a`, '3'], [`${P}b`, undefined]]);
  await equalsEtcd();
});

test('mirror: a broken stream resumes from the last revision seen, without a re-list; writes made meanwhile arrive', async (t) => {
  const { etcd, mirror, changes, recoveries, clock, equalsEtcd } = await setup(t);
  await mirror.start();
  await etcd.put(`${P}a`, '1');
  await settle();
  const lists = etcd.calls.get('getPrefix');
  etcd.down = true;
  await settle();
  assert.equal(mirror.state, 'recovering');
  // Retries while etcd is down: reported once.
  for (let i = 0; i < 5; i++) {
    clock.advance(RETRY_MAX_MS);
    await settle();
  }
  assert.deepEqual(recoveries, ['error']);
  etcd.down = false;
  await etcd.put(`${P}b`, '2');
  clock.advance(RETRY_MAX_MS);
  await settle();
  assert.equal(mirror.state, 'live');
  assert.equal(etcd.calls.get('getPrefix'), lists, 'no re-list');
  assert.deepEqual(changes.at(-1), [`${P}b`, '2']);
  await equalsEtcd();
});

test('mirror: compaction, then a stream break: the resumed watch is canceled "compacted"; a re-list reports what changed, deletes included', async (t) => {
  const { etcd, mirror, changes, recoveries, clock, equalsEtcd } = await setup(t);
  await etcd.put(`${P}a`, '1');
  await etcd.put(`${P}gone`, 'x');
  await mirror.start();
  etcd.breakWatches();
  // While the stream is down: changes, then a compaction past them.
  await etcd.put(`${P}a`, '2');
  await etcd.delete(`${P}gone`);
  await etcd.put(`${P}new`, 'n');
  etcd.compact();
  await settle();
  changes.length = 0;
  clock.advance(RETRY_MAX_MS);
  await settle();
  assert.deepEqual(recoveries, ['error', 'compacted']);
  assert.equal(mirror.state, 'live');
  assert.deepEqual(changes, [[`${P}gone`, undefined], [`${P}a`, '2'], [`${P}new`, 'n']]);
  await equalsEtcd();
  // And it follows again.
  await etcd.put(`${P}after`, '1');
  await settle();
  await equalsEtcd();
});

test('mirror: etcd replaced by an empty one (revision back to 1): the re-created watch sees the revision go back; stale keys are deleted', async (t) => {
  const { etcd, mirror, changes, recoveries, clock, equalsEtcd } = await setup(t);
  for (let i = 0; i < 20; i++) await etcd.put(`${P}k${i}`, String(i));
  await mirror.start();
  etcd.reset({ sameClusterId: true });
  await etcd.put(`${P}k3`, 'restored');
  changes.length = 0;
  clock.advance(RETRY_MAX_MS);
  await settle();
  assert.deepEqual(recoveries, ['error', 'revision-backwards']);
  assert.equal(mirror.state, 'live');
  assert.equal(changes.filter(([, v]) => v === undefined).length, 19);
  assert.deepEqual(changes.filter(([, v]) => v !== undefined), [[`${P}k3`, 'restored']]);
  await equalsEtcd();
  await etcd.put(`${P}later`, '1');
  await settle();
  await equalsEtcd();
});

test('mirror: another cluster id on reconnect: re-listed', async (t) => {
  const { etcd, mirror, recoveries, clock, equalsEtcd } = await setup(t);
  await etcd.put(`${P}a`, '1');
  await mirror.start();
  etcd.reset();
  for (let i = 0; i < 5; i++) await etcd.put(`${P}b`, String(i)); // past the old revision: only the cluster id tells
  clock.advance(RETRY_MAX_MS);
  await settle();
  assert.deepEqual(recoveries, ['error', 'cluster-changed']);
  await equalsEtcd();
});

test('mirror: a silent reset (the watch stays open, blind) is seen by the periodic check and re-listed', async (t) => {
  const { etcd, mirror, recoveries, equalsEtcd } = await setup(t);
  for (let i = 0; i < 10; i++) await etcd.put(`${P}k${i}`, String(i));
  await mirror.start();
  etcd.reset({ silent: true, sameClusterId: true });
  await etcd.put(`${P}fresh`, '1');
  await settle();
  assert.equal(mirror.get(`${P}fresh`), undefined, 'blind: the watch waits for revision 12');
  const check = mirror.checkpoint();
  check((await etcd.get('/failoverd/t/leader')).header);
  await settle();
  assert.deepEqual(recoveries, ['revision-backwards']);
  assert.equal(mirror.state, 'live');
  await equalsEtcd();
  await etcd.put(`${P}fresh`, '2');
  await settle();
  await equalsEtcd();
});

test('mirror: the check does not take a read made before newer events for a revision going back', async (t) => {
  const { etcd, mirror, recoveries } = await setup(t);
  await mirror.start();
  const check = mirror.checkpoint();
  const header = (await etcd.get('/x')).header;
  await etcd.put(`${P}a`, '1');
  await settle();
  assert.ok(mirror.revision! > header.revision);
  check(header);
  await settle();
  assert.deepEqual(recoveries, []);
  assert.equal(mirror.state, 'live');
});

test('mirror: a stream that breaks again while the resumed watch catches up loses nothing (the header\'s revision is ahead of the events still to come)', async (t) => {
  const { etcd, mirror, changes, recoveries, clock, equalsEtcd } = await setup(t);
  await mirror.start();
  etcd.breakWatches();
  for (let i = 0; i < 5; i++) await etcd.put(`${P}k${i}`, String(i));
  await settle();
  // The first replayed change breaks the stream again: the rest must come on the next resume.
  let broke = false;
  mirror.on('change', () => {
    if (!broke) {
      broke = true;
      etcd.breakWatches();
    }
  });
  clock.advance(RETRY_MAX_MS);
  await settle();
  clock.advance(RETRY_MAX_MS);
  await settle();
  assert.ok(broke);
  assert.deepEqual(recoveries, ['error', 'error']);
  assert.deepEqual(changes.map(([k]) => k), [0, 1, 2, 3, 4].map((i) => `${P}k${i}`));
  await equalsEtcd();
});

test('mirror: a watch canceled by etcd is re-listed; a failing re-list is tried again until it succeeds', async (t) => {
  const { etcd, mirror, recoveries, clock, equalsEtcd } = await setup(t);
  await mirror.start();
  await etcd.put(`${P}a`, '1');
  await settle();
  etcd.breakWatches();
  await etcd.put(`${P}a`, '2');
  await etcd.put(`${P}a`, '3');
  etcd.compact();
  const clear = etcd.fail(['getPrefix'], { times: Infinity });
  for (let i = 0; i < 4; i++) {
    clock.advance(RETRY_MAX_MS);
    await settle();
  }
  assert.equal(mirror.state, 'recovering');
  await etcd.put(`${P}b`, '2');
  clear();
  clock.advance(RETRY_MAX_MS);
  await settle();
  assert.deepEqual(recoveries, ['error', 'compacted']);
  assert.equal(mirror.state, 'live');
  await equalsEtcd();
});
