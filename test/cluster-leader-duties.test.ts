/**
 * Leader duties bound to the term, with real etcd and moto_server: each of
 * the three instances reaches moto through its own counting proxy, and the
 * sink reconciles every second (so a deposed leader whose sink kept running
 * would read the hosted zone within its window of at least 1.5 s). Three leader changes in a
 * row (the leader frozen past its lease, another elected, the old one
 * resumed): each time the new leader writes the failover or failback to
 * Route 53, and moto receives 0 requests from a deposed leader from the
 * moment it resumes until the test ends or it could lead again.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ListResourceRecordSetsCommand } from '@aws-sdk/client-route-53';
import { until } from './helpers/admin-daemon.ts';
import { startLoopbackCluster } from './helpers/cluster-daemons.ts';
import { startCountingProxy, type CountingProxy } from './helpers/counting-proxy.ts';
import { AWS_ENV, motoZone } from './helpers/moto.ts';
import { needTool } from './helpers/tools.ts';
import { scaled } from './helpers/eventually.ts';

const PRIMARY = '127.0.0.1';
const SECONDARY = '127.0.0.2';
const RECONCILE_MS = 1000;

test('cluster with route53: after 3 leader changes in a row, each new leader writes and moto receives 0 requests from each deposed leader', { timeout: scaled(90_000) }, async (t) => {
  if (!needTool(t, 'etcd', 'etcd-server')) return;
  const moto = await motoZone(t, 'example.test');
  if (!moto) return;
  const proxies: CountingProxy[] = [];
  for (let i = 0; i < 3; i++) proxies.push(await startCountingProxy('127.0.0.1', moto.endpoint));
  t.after(() => Promise.all(proxies.map((p) => p.stop())));
  const route53 = (endpoint: string) => `route53:
  hostedZoneId: ${moto.zoneId}
  zone: example.test
  ownerId: failoverd-duties-test
  endpoint: ${endpoint}
  reconcile: "*/${RECONCILE_MS / 1000} * * * * *"
  maxRequestsPerSecond: 50
`;
  const setup = await startLoopbackCluster(t, { env: AWS_ENV, start: false });
  if (!setup) return;
  const { primary, cluster } = setup;
  for (let i = 0; i < 3; i++) cluster.rewrite(i, { extra: route53(proxies[i]!.url) });
  t.after(() => {
    for (const d of cluster.live()) d.proc.child.kill('SIGCONT');
  });
  await cluster.start();
  await cluster.waitSame([PRIMARY], 10_000);
  const value = async () => {
    const res = await moto.client.send(new ListResourceRecordSetsCommand({ HostedZoneId: moto.zoneId }));
    return (res.ResourceRecordSets ?? []).find((r) => r.Name === 'www.example.test.' && r.Type === 'A')?.ResourceRecords?.map((x) => x.Value).join(',');
  };
  await until('the primary in Route 53', async () => (await value()) === PRIMARY, 10_000);
  const between = (i: number, from: number, to = Infinity) => proxies[i]!.requests.filter((r) => r.at >= from && r.at < to);
  const writes = (i: number, from: number) => between(i, from).filter((r) => r.method === 'POST' && r.path.includes('/rrset')).length;

  /** A deposed instance and the time from which it must send nothing (its resume), until `to` (it may lead again after). */
  const windows: Array<{ instance: number; from: number; to?: number }> = [];
  let leader = await cluster.leaderIndex(10_000);
  const leaders = [leader];
  for (let change = 1; change <= 3; change++) {
    const old = cluster.daemons[leader]!;
    // From now on `leader` may lead again: the window of every earlier deposed instance still open ends here.
    for (const w of windows) w.to ??= Date.now();
    old.proc.child.kill('SIGSTOP');
    const others = [0, 1, 2].filter((i) => i !== leader);
    const next = await cluster.leaderIndex(10_000, others);
    // The new leader writes: a failover on odd changes, a failback on even ones.
    const since = Date.now();
    const want = change % 2 === 1 ? SECONDARY : PRIMARY;
    if (want === SECONDARY) await primary.kill();
    else await primary.revive();
    await until(`change ${change}: ${want} in Route 53`, async () => (await value()) === want, 15_000);
    assert.ok(writes(next, since) >= 1, `change ${change}: the new leader fo-${next + 1} wrote to Route 53 (writes since the change by fo-1..3: ${[0, 1, 2].map((i) => writes(i, since)).join(', ')})`);
    // The old leader resumes: from that moment it sends Route 53 nothing.
    const resumed = Date.now();
    const logged = old.proc.logs.length;
    old.proc.child.kill('SIGCONT');
    windows.push({ instance: leader, from: resumed });
    await old.proc.waitForLog((l) => l.msg === 'leader duties stopped', 10_000, logged);
    await until(`change ${change}: the old leader serving ${want}`, async () => (await old.answer('www.example.test')).join(',') === want, 10_000);
    // A deposed window spans reconcile ticks of the new leader: a sink left running on the old one would read the zone in it.
    await new Promise((r) => setTimeout(r, RECONCILE_MS * 1.5));
    leader = next;
    leaders.push(next);
  }
  // Long enough for two more reconcile ticks.
  const end = Date.now() + 2 * RECONCILE_MS + 500;
  await new Promise((r) => setTimeout(r, end - Date.now()));
  const leaderReads = between(leader, end - 2 * RECONCILE_MS, end).length;
  assert.ok(leaderReads >= 1, `the leader fo-${leader + 1} reconciled during the last window (${leaderReads} requests): the window was long enough to see a sink left running`);
  for (const w of windows) {
    const sent = between(w.instance, w.from, w.to ?? end);
    assert.deepEqual(sent.map((r) => `${r.method} ${r.path}`), [], `deposed fo-${w.instance + 1} sent nothing to Route 53 from its resume for ${((w.to ?? end) - w.from) / 1000} s`);
  }
  process.stdout.write(`# leaders in turn: ${leaders.map((i) => `fo-${i + 1}`).join(' → ')}; deposed windows: ${windows.map((w) => `fo-${w.instance + 1} ${(((w.to ?? end) - w.from) / 1000).toFixed(1)} s, 0 requests`).join('; ')}\n`);
});
