/**
 * Quorum across real vantage points on loopback: instance 1 probes the
 * primary on a dead port (it alone is cut off from it): no answer changes
 * and every status says "1 of 3 vantage points see DOWN"; instance 2 cut
 * off too (its config reloaded): the answer fails over on all three. (The
 * network namespace version, with blackhole routes, is cluster-netns.)
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { until } from './helpers/admin-daemon.ts';
import { runCli } from './helpers/cli.ts';
import { startLoopbackCluster } from './helpers/cluster-daemons.ts';
import { freePort } from './helpers/ports.ts';
import { scaled } from './helpers/eventually.ts';

const PRIMARY = '127.0.0.1';
const SECONDARY = '127.0.0.2';
const PRIMARY_ID = `www.example.test/A/${PRIMARY}`;

test('cluster quorum: one vantage point seeing the primary DOWN changes nothing; two fail it over', { timeout: scaled(60_000) }, async (t) => {
  const dead = await freePort();
  const setup = await startLoopbackCluster(t, { primaryPort: (n) => (n === 1 ? dead : undefined) });
  if (!setup) return;
  const { cluster } = setup;
  const first = await cluster.waitSame([PRIMARY]);

  // Instance 1 alone sees the primary DOWN: every status says so, nothing moves.
  const views = async () => (await Promise.all([0, 1, 2].map((i) => cluster.status(i)))).map((s) => s.cluster.targets.find((x: any) => x.id === PRIMARY_ID));
  const seen = await until('1 of 3 vantage points see DOWN, on every instance', async () => {
    const v = await views();
    return v.every((x) => x.health === 'UP' && /^1 of 3 vantage points see DOWN \(2 needed\)/.test(x.why)) ? v : undefined;
  }, 10_000);
  assert.deepEqual(seen[1].views, { 'fo-1': 'DOWN', 'fo-2': 'UP', 'fo-3': 'UP' });
  for (let i = 0; i < 10; i++) {
    assert.deepEqual(await cluster.views(), [0, 1, 2].map(() => ({ answer: PRIMARY, serial: first.serial })), `check ${i}: one vantage point moves nothing`);
    await new Promise((r) => setTimeout(r, 300));
  }
  assert.equal((await cluster.status(2)).recordSets[0].answer, PRIMARY);
  // failoverd status shows the leader, the vantage points and their views.
  const leader = await cluster.leaderIndex();
  const cli = await runCli(['status', '--admin', cluster.daemons[2]!.adminUrl]);
  assert.equal(cli.code, 0, cli.stderr);
  assert.match(cli.stdout, new RegExp(`Cluster test: instance fo-3${leader === 2 ? ' \\(LEADER\\)' : ''}, leader fo-${leader + 1}; connected to etcd, serving the cluster's decisions`));
  assert.match(cli.stdout, /Vantage points live \(3\): fo-1, fo-2, fo-3; quorum majority/);
  assert.match(cli.stdout, /www\.example\.test\/A\/127\.0\.0\.1 +UP +1 of 3 vantage points see DOWN \(2 needed\) +fo-1=DOWN fo-2=UP fo-3=UP/);

  // Instance 2 cut off too (a reload points its probe at the dead port): 2 of 3, the answer fails over everywhere.
  cluster.rewrite(1, { primaryPort: (n) => (n <= 2 ? dead : undefined) });
  const r = await cluster.daemons[1]!.api('POST', '/v1/reload');
  assert.equal(r.status, 200, r.text);
  const moved = await cluster.waitSame([SECONDARY], 10_000);
  assert.ok(moved.serial > first.serial);
  const after = await views();
  assert.ok(after.every((x) => x.health === 'DOWN' && /^2 of 3 vantage points see DOWN/.test(x.why)), JSON.stringify(after));
  assert.deepEqual((await cluster.status(0)).cluster.recordsDiffer, [], 'other check ports, the same record sets');

  // An instance whose record sets differ (failback: manual on fo-3 only) is named in every status and by failoverd status.
  cluster.rewrite(2, { failback: 'manual' });
  assert.equal((await cluster.daemons[2]!.api('POST', '/v1/reload')).status, 200);
  await until('fo-3 named as differing', async () => JSON.stringify((await cluster.status(0)).cluster.recordsDiffer) === '["fo-3"]', 5000);
  const warned = await runCli(['status', '--admin', cluster.daemons[0]!.adminUrl]);
  assert.match(warned.stdout, /WARNING: other record sets than this instance's on fo-3/);
});
