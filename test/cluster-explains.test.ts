/**
 * A cluster says why, in its first minutes as later (real etcd, real
 * daemons, the real CLI):
 * - the first leader of a starting cluster decides while no vantage point
 *   has a verdict on the primary ("initial answer: primary ... is UNKNOWN");
 *   once they have one, the WHY of its answer says why it is kept now, not
 *   the UNKNOWN of the start until the next transition;
 * - an instance with a record set the leader's config lacks answers NXDOMAIN
 *   for it, and `failoverd status` says so (it printed "undefined"); its
 *   status into a pipe whose reader is gone ends quietly (no EPIPE trace);
 * - a drain while etcd is frozen (SIGSTOP) is not applied and answers 503
 *   CLUSTER_UNAVAILABLE saying etcd is unreachable and to retry (it was a
 *   generic 500 INTERNAL).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { until } from './helpers/admin-daemon.ts';
import { runCli, runCliIntoClosedPipe } from './helpers/cli.ts';
import { clusterConfig, startLoopbackCluster } from './helpers/cluster-daemons.ts';

const EXTRA = `  - name: extra.example.test
    type: A
    ttl: 5
    targets: [{ address: 127.0.0.3, check: web2 }]
`;

test('a starting cluster explains its answers, a record set the leader lacks, and a drain while etcd is frozen', async (t) => {
  const setup = await startLoopbackCluster(t, { size: 2, start: false });
  if (!setup) return;
  const { cluster, etcd } = setup;
  // Instance 1 stops waiting for its first probe round at once and needs 100 probes in a row (5 s and more) to see its primary UP:
  // it leads and decides while the primary is UNKNOWN to every live vantage point (itself), and it stays so until instance 2 reports.
  cluster.dirs[0]!.write(clusterConfig(1, { ...cluster.o, startupTimeout: '1ms' }).replace(/(web1: \{[^}]*)rise: 2/, '$1rise: 100'));
  assert.match(readFileSync(cluster.dirs[0]!.config, 'utf8'), /web1: \{[^}]*rise: 100/);
  // Instance 2 runs one record set more than instance 1, which leads.
  cluster.dirs[1]!.write(clusterConfig(2, cluster.o).replace('records:\n', `records:\n${EXTRA}`));
  await cluster.startOne(0);
  assert.equal(await cluster.leaderIndex(10_000), 0);
  // The first decision: an initial answer while the primary is UNKNOWN (the text that stayed as the WHY until the next transition).
  const first = await until(
    'the first leader\'s initial answer',
    async () => (await cluster.status(0)).recordSets.find((x: { key: string; reason: string }) => x.key === 'www.example.test/A' && /^initial answer: /.test(x.reason))?.reason as string | undefined,
    10_000,
  );
  assert.match(first, /^initial answer: primary www\.example\.test\/A\/127\.0\.0\.1 is UNKNOWN/);
  t.diagnostic(`first WHY: ${first}`);
  // Not "no live vantage point": none has reported yet, or its own sees UNKNOWN.
  assert.doesNotMatch(first, /no live vantage point/);
  await cluster.startOne(1);

  // 1. Both vantage points live and the primary UP: the WHY says why the primary is answered now.
  const www = await until(
    'the leader seeing both vantage points with the primary UP',
    async () => {
      const s = await cluster.status(0);
      const primary = s.cluster.targets.find((x: { id: string }) => x.id === 'www.example.test/A/127.0.0.1');
      return s.cluster.vantagePoints.length === 2 && primary?.health === 'UP' && /of 2 vantage points/.test(primary.why) ? s : undefined;
    },
    15_000,
  );
  const why = await until(
    'the WHY of www.example.test/A no longer saying the cluster has no vantage point',
    async () => {
      const r = (await cluster.status(0)).recordSets.find((x: { key: string }) => x.key === 'www.example.test/A');
      return r && !/no live vantage point|UNKNOWN/.test(r.reason) ? r.reason : undefined;
    },
    5000,
  ).catch((err: Error) => assert.fail(`${err.message}; it says: ${JSON.stringify((www.recordSets as Array<{ reason: string }>).map((r) => r.reason))}`));
  // "initial answer: primary ... is UP", or another transition's reason when a slow probe made a DOWN first.
  assert.match(why, /primary www\.example\.test\/A\/127\.0\.0\.1 is UP/);

  // 2. Instance 2, serving the leader's decisions, answers NXDOMAIN for its extra record set, and its status says why.
  assert.deepEqual(await cluster.daemons[1]!.answer('extra.example.test'), ['ENOTFOUND']);
  // Each CLI loads failoverd through tsx: seconds on a busy machine, beside two daemons and etcd.
  const admin = cluster.daemons[1]!.adminUrl;
  const [status, piped] = await Promise.all([runCli(['status', '--admin', admin], { timeoutMs: 60_000 }), runCliIntoClosedPipe(['status', '--admin', admin], 60_000)]);
  assert.equal(status.code, 0, status.stderr);
  // `failoverd status | head -3`: the reader gone, status ends quietly (it was an EPIPE stack trace).
  assert.deepEqual(piped, { code: 0, stderr: '' });
  const row = status.stdout.split('\n').find((l) => l.startsWith('extra.example.test/A '));
  assert.ok(row, status.stdout);
  assert.doesNotMatch(row, /undefined/);
  assert.match(row, /not in the decisions of the leader fo-1, whose config lacks this record set: this instance answers NXDOMAIN/);

  // 3. etcd frozen: a drain is refused with a 503 that says why, and nothing is applied.
  etcd.pause();
  t.after(() => etcd.resume());
  const target = 'www.example.test/A/127.0.0.2';
  const drain = await cluster.daemons[1]!.api('POST', `/v1/targets/${encodeURIComponent(target)}/override`, { body: { state: 'down', reason: 'kernel update' } });
  assert.equal(drain.status, 503, drain.text);
  assert.equal(drain.body.error.code, 'CLUSTER_UNAVAILABLE');
  assert.match(drain.body.error.message, /etcd is unreachable/);
  assert.match(drain.body.error.message, /[Rr]etry/);
  etcd.resume();
  for (const i of [0, 1]) {
    const s = await cluster.status(i);
    assert.deepEqual(s.overrides, [], `instance ${i + 1} shows no override`);
  }
});
