/**
 * A cluster instance and an etcd that is not there: it opens DNS after
 * startupTimeout on its own verdict (logged), joins when etcd comes, and
 * with onLoss: local serves its own verdict while cut off (a dead primary
 * fails over on it alone), then the cluster's decisions again. At a cold
 * start the first instance up waits for the vantage points of the last
 * decision instead of deciding alone. And the cluster test helper leaves
 * no daemon behind when etcd is not there: an instance whose start times
 * out is killed before startOne() rejects, and one still starting when the
 * cluster is stopped (its test failed or timed out) is killed by stop(),
 * its startOne() rejecting as soon as the process is gone.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { until } from './helpers/admin-daemon.ts';
import { LoopbackCluster, startLoopbackCluster } from './helpers/cluster-daemons.ts';
import { waitWritable } from './helpers/etcd.ts';
import { freePort } from './helpers/ports.ts';
import { scaled } from './helpers/eventually.ts';

const PRIMARY = '127.0.0.1';
const SECONDARY = '127.0.0.2';

test('cluster start without etcd: local verdict after startupTimeout, joins when etcd comes; onLoss local while cut off', { timeout: scaled(60_000) }, async (t) => {
  const setup = await startLoopbackCluster(t, { size: 1, startEtcdDown: true, start: false, onLoss: 'local', startupTimeout: '2s' });
  if (!setup) return;
  const { etcd, primary, cluster } = setup;
  const s0 = Date.now();
  await cluster.start();
  const d = cluster.daemons[0]!;
  t.diagnostic(`etcd unreachable: serving DNS after ${Date.now() - s0} ms (startupTimeout 2 s)`);
  assert.ok(d.proc.logs.some((l) => typeof l.msg === 'string' && l.msg.startsWith('no cluster decisions within startupTimeout')));
  assert.deepEqual(await d.answer('www.example.test'), [PRIMARY]);
  let st = (await d.api('GET', '/v1/status')).body.cluster;
  assert.equal(st.connected, false);
  assert.equal(st.serving, 'local');
  assert.equal(st.lastDecision, null);

  // etcd comes: it joins without a restart, leads (alone) and serves the cluster's decisions.
  etcd.restart(0);
  await waitWritable(etcd.endpoints, 20_000);
  st = await until('joined the cluster', async () => {
    const c = (await d.api('GET', '/v1/status')).body.cluster;
    return c.connected && c.serving === 'cluster' && c.isLeader ? c : undefined;
  }, 15_000);
  assert.equal(st.lastDecision.leader, 'fo-1');
  assert.deepEqual(await d.answer('www.example.test'), [PRIMARY]);

  // Cut off with onLoss: local: its own verdict; the primary dies and it fails over by itself.
  await etcd.kill(0);
  await until('serving its own verdict', async () => (await d.api('GET', '/v1/status')).body.cluster.serving === 'local', 10_000);
  // The log line comes through the daemon's stdout, the status over HTTP: the one may arrive after the other.
  await d.proc.waitForLog((l) => l.msg === "cut off from etcd: serving this instance's own verdict until etcd is back", 5000);
  await primary!.kill();
  await d.waitForAnswer('www.example.test', [SECONDARY], 5000);

  // etcd back: the cluster's decisions again (the cluster also sees the primary DOWN).
  etcd.restart(0);
  await waitWritable(etcd.endpoints, 20_000);
  await until('the cluster\'s decisions again', async () => {
    const c = (await d.api('GET', '/v1/status')).body.cluster;
    return c.connected && c.serving === 'cluster';
  }, 15_000);
  await d.waitForAnswer('www.example.test', [SECONDARY], 5000).catch(async (err) => {
    t.diagnostic(JSON.stringify((await d.api('GET', '/v1/status')).body.cluster));
    for (const l of d.proc.logs.filter((x) => x.component === 'cluster' || x.msg === 'target health changed')) t.diagnostic(`${l.time} ${l.msg} ${(l.err as any)?.message ?? ''} ${l.target ?? ''} ${l.to ?? ''}`);
    throw err;
  });
});

test('cluster cold start: the first instance up waits for the vantage points of the last decision instead of deciding alone', { timeout: scaled(60_000) }, async (t) => {
  const dead = await freePort();
  // fo-1 alone sees the primary DOWN (it probes a dead port).
  const setup = await startLoopbackCluster(t, { primaryPort: (n) => (n === 1 ? dead : undefined) });
  if (!setup) return;
  const { cluster } = setup;
  await cluster.waitSame([PRIMARY]);
  await until('3 vantage points in the last decision', async () => (await cluster.status(0)).cluster.vantagePoints.length === 3);
  // The last decision counts 3 vantage points; then all three stop.
  for (const i of [0, 1, 2]) await cluster.kill(i, 'SIGTERM');
  // fo-1 starts first and leads; it waits (serving the last decision) until the others are back, then decides with 3.
  const first = await cluster.startOne(0);
  await first.proc.waitForLog((l) => l.msg === 'elected leader: waiting for the vantage points of the last decision before deciding', 10_000);
  assert.deepEqual(await first.answer('www.example.test'), [PRIMARY]);
  await Promise.all([cluster.startOne(1), cluster.startOne(2)]);
  await cluster.waitSame([PRIMARY], 5000);
  await first.proc.waitForLog((l) => l.msg === 'elected leader: deciding for the cluster', 10_000);
  for (let i = 0; i < 5; i++) {
    assert.deepEqual((await cluster.views()).map((v) => v.answer), [PRIMARY, PRIMARY, PRIMARY], `check ${i}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const decided = first.proc.logs.filter((l) => l.msg === 'transition' && l.verdict === undefined);
  assert.deepEqual(decided, [], 'the cluster made no transition: fo-1 did not decide alone');
});

test('cluster helper: an instance whose start times out, or that still starts when the cluster stops, is killed', { timeout: scaled(60_000) }, async (t) => {
  const etcdPort = await freePort();
  const cluster = new LoopbackCluster(2, { endpoints: [`http://127.0.0.1:${etcdPort}`], port: await freePort(), startupTimeout: '30s' });
  t.after(() => cluster.stop());

  const timedOut = cluster.startOne(0, 300);
  const [first] = [...cluster.starting];
  assert.ok(first, 'the instance is tracked while it starts');
  await assert.rejects(timedOut, /no matching log line/);
  assert.ok(first.proc.child.exitCode !== null || first.proc.child.signalCode !== null, 'killed before startOne rejected');
  assert.equal(cluster.starting.size, 0);
  assert.equal(cluster.daemons[0], undefined);

  const pending = cluster.startOne(1, 30_000);
  const [second] = [...cluster.starting];
  await second!.waitAdmin(20_000); // its process runs
  const t0 = Date.now();
  await cluster.stop();
  await assert.rejects(pending);
  assert.ok(second!.proc.child.exitCode !== null || second!.proc.child.signalCode !== null, 'killed by stop()');
  assert.ok(Date.now() - t0 < 10_000, `startOne rejected ${Date.now() - t0} ms after stop(), not at its timeout`);
  assert.equal(cluster.daemons[1], undefined);
  await assert.rejects(cluster.startOne(0), /the cluster is stopped/);
});
