/**
 * One Route 53 writer in a cluster of three (moto_server): only the leader
 * submits changes; with the leader frozen (SIGSTOP) past its lease, another
 * leads and writes the failover; the old leader, resumed, is no longer the
 * leader and submits nothing (its gate, a fenced etcd write, refuses); the
 * record sets end as decided.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ListResourceRecordSetsCommand } from '@aws-sdk/client-route-53';
import { metric, parsePrometheus, until } from './helpers/admin-daemon.ts';
import { startLoopbackCluster } from './helpers/cluster-daemons.ts';
import { AWS_ENV, motoZone } from './helpers/moto.ts';
import { needTool } from './helpers/tools.ts';
import { scaled } from './helpers/eventually.ts';

const PRIMARY = '127.0.0.1';
const SECONDARY = '127.0.0.2';

test('cluster with route53: only the leader writes; a frozen leader is replaced and, resumed, writes nothing', { timeout: scaled(60_000) }, async (t) => {
  if (!needTool(t, 'etcd', 'etcd-server')) return;
  const moto = await motoZone(t, 'example.test');
  if (!moto) return;
  const extra = `route53:
  hostedZoneId: ${moto.zoneId}
  zone: example.test
  ownerId: failoverd-cluster-test
  endpoint: ${moto.endpoint}
  maxRequestsPerSecond: 20
`;
  const setup = await startLoopbackCluster(t, { extra, env: AWS_ENV });
  if (!setup) return;
  const { primary, cluster } = setup;
  t.after(() => {
    for (const d of cluster.live()) d.proc.child.kill('SIGCONT');
  });
  await cluster.waitSame([PRIMARY]);
  const value = async () => {
    const res = await moto.client.send(new ListResourceRecordSetsCommand({ HostedZoneId: moto.zoneId }));
    return (res.ResourceRecordSets ?? []).find((r) => r.Name === 'www.example.test.' && r.Type === 'A')?.ResourceRecords?.map((x) => x.Value).join(',');
  };
  await until('the primary in Route 53', async () => (await value()) === PRIMARY, 10_000);
  const submitted = (i: number) => cluster.daemons[i]!.proc.logs.filter((l) => l.msg === 'route53 changes submitted').length;
  const applied = async (i: number) => metric(parsePrometheus(await (await fetch(`${cluster.daemons[i]!.adminUrl}/metrics`)).text()), 'failoverd_route53_changes_total', { outcome: 'applied' }) ?? 0;

  // Only the leader wrote.
  const leader = await cluster.leaderIndex();
  const others = [0, 1, 2].filter((i) => i !== leader);
  assert.ok(submitted(leader) >= 1);
  for (const i of others) {
    assert.equal(submitted(i), 0, `fo-${i + 1} (not the leader) submitted nothing`);
    assert.equal(await applied(i), 0);
  }
  assert.ok((await applied(leader)) >= 1);

  // The leader freezes past its lease: another leads and writes the failover.
  const old = cluster.daemons[leader]!;
  const oldSubmitted = submitted(leader);
  old.proc.child.kill('SIGSTOP');
  await cluster.leaderIndex(5000, others); // another leads before the primary dies
  await primary!.kill();
  await until('the secondary in Route 53', async () => (await value()) === SECONDARY, 10_000);
  // Its 'route53 changes submitted' line is logged once Route 53 has the change: it may reach this
  // test's pipe just after moto answers the read above. (Under load the lead can also pass once more
  // between the two others; either way the writer is one of them, never the frozen one.)
  await until('the write logged by an instance that leads now', () => others.some((i) => submitted(i) >= 1), 5000);
  assert.equal(submitted(leader), oldSubmitted, 'the frozen leader submitted nothing');

  // Resumed, the old leader is no longer the leader and writes nothing; the record stays as decided.
  old.proc.child.kill('SIGCONT');
  await old.proc.waitForLog((l) => l.msg === "no longer the leader: serving the new leader's decisions", 5000);
  await until('the old leader serving the secondary', async () => (await old.answer('www.example.test')).join(',') === SECONDARY, 5000);
  assert.equal(submitted(leader), oldSubmitted, 'the deposed leader submitted nothing after it resumed');
  for (let i = 0; i < 5; i++) {
    assert.equal(await value(), SECONDARY);
    await new Promise((r) => setTimeout(r, 200));
  }

  // A failback under the new leader: Route 53 follows; all writes came from leaders, in order.
  await primary!.revive();
  await cluster.waitSame([PRIMARY], 10_000);
  await until('the primary back in Route 53', async () => (await value()) === PRIMARY, 10_000);
  assert.equal(submitted(leader), oldSubmitted);
  const status = (await old.api('GET', '/v1/status')).body;
  assert.equal(status.cluster.isLeader, false);
});
