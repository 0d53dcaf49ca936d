/**
 * etcd faults under a cluster of three failoverd processes on loopback:
 * one etcd member down changes nothing (a failover still goes through);
 * etcd's quorum lost: every instance keeps answering the last decisions
 * with the same serial (a primary that dies meanwhile moves nothing: frozen),
 * /v1/status and failoverd_cluster_* say disconnected; etcd back: they
 * reconnect without a restart and the cluster decides again.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { metric, parsePrometheus, until } from './helpers/admin-daemon.ts';
import { startLoopbackCluster } from './helpers/cluster-daemons.ts';
import { waitWritable } from './helpers/etcd.ts';
import { scaled } from './helpers/eventually.ts';

const PRIMARY = '127.0.0.1';
const SECONDARY = '127.0.0.2';

test('cluster and etcd faults: one member down, quorum lost (frozen, disconnected), quorum back (resumed)', { timeout: scaled(60_000) }, async (t) => {
  const setup = await startLoopbackCluster(t, { etcdSize: 3 });
  if (!setup) return;
  const { etcd, primary, cluster } = setup;
  const start = await cluster.waitSame([PRIMARY]);
  const all = () => Promise.all([0, 1, 2].map((i) => cluster.status(i)));

  // One member down: no effect; a failover and a failback still go through.
  await etcd.kill(0);
  for (let i = 0; i < 5; i++) {
    assert.deepEqual(await cluster.views(), [0, 1, 2].map(() => ({ answer: PRIMARY, serial: start.serial })), `check ${i}: one member down changes nothing`);
    await new Promise((r) => setTimeout(r, 200));
  }
  await primary!.kill();
  const failover = await cluster.waitSame([SECONDARY], 8000);
  t.diagnostic(`one etcd member down: failover on all three after ${failover.ms} ms`);
  await primary!.revive();
  const before = await cluster.waitSame([PRIMARY], 8000);
  // The lease's keep-alive stream of an instance that was on the killed member moves to another one
  // (etcd3 retries after 100 ms; the dead host's circuit breaker opens after 3 failures): with a 1 s
  // leaseTtl, a loaded machine can show such an instance stale for a moment. Answers never move (above).
  const c0 = Date.now();
  await until('every instance connected through the 2 members left', async () => (await all()).every((s) => s.cluster.connected), 5000);
  t.diagnostic(`one etcd member down: every instance connected ${Date.now() - c0} ms after the failback was served`);

  // Quorum lost: all keep answering the last decisions; status and metrics say disconnected.
  const q0 = Date.now();
  await etcd.kill(1);
  await until('every instance saying it is cut off from etcd', async () => (await all()).every((s) => !s.cluster.connected && s.cluster.serving === 'frozen'), 10_000);
  t.diagnostic(`etcd quorum lost: every instance reports disconnected after ${Date.now() - q0} ms`);
  const text = await (await fetch(`${cluster.daemons[0]!.adminUrl}/metrics`)).text();
  const samples = parsePrometheus(text);
  assert.equal(metric(samples, 'failoverd_cluster_connected', { cluster_instance: 'fo-1' }), 0);
  assert.equal(metric(samples, 'failoverd_cluster_serving', { mode: 'frozen' }), 1);
  assert.ok(metric(samples, 'failoverd_cluster_seconds_since_last_decision')! > 0);
  // The primary dies while etcd is gone: frozen, nothing flaps (every instance keeps the last decision and serial).
  // The serial kept is the one served when etcd went away: decisions written after the failback was first served
  // (the secondary's health settling) may have moved it since `before`.
  const frozen = await cluster.views();
  assert.deepEqual(frozen, [0, 1, 2].map(() => ({ answer: PRIMARY, serial: frozen[0]!.serial })), 'cut off from etcd: every instance on the primary with one serial');
  assert.ok(Number(frozen[0]!.serial) >= before.serial, `the serial never goes back (${frozen[0]!.serial} < ${before.serial})`);
  await primary!.kill();
  for (let i = 0; i < 10; i++) {
    const v = await cluster.views();
    assert.deepEqual(v, [0, 1, 2].map(() => ({ answer: PRIMARY, serial: frozen[0]!.serial })), `check ${i}: frozen`);
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.ok(
    cluster.live().every((d) => d.proc.logs.some((l) => l.msg === 'cut off from etcd: serving the last decisions seen until etcd is back')),
    'each instance logged the loss',
  );

  // etcd back: reconnected without a restart, the cluster decides the failover.
  const b0 = Date.now();
  etcd.restart(0);
  etcd.restart(1);
  await waitWritable(etcd.endpoints, 20_000);
  const resumed = await cluster.waitSame([SECONDARY], 20_000);
  t.diagnostic(`etcd quorum back: the pending failover served by all three after ${Date.now() - b0} ms (etcd writable after ${Date.now() - b0 - resumed.ms} ms)`);
  assert.ok(resumed.serial > before.serial);
  await until('every instance connected again', async () => (await all()).every((s) => s.cluster.connected && s.cluster.serving === 'cluster'), 10_000);
  assert.equal((await cluster.leaderIndex()) >= 0, true);
});
