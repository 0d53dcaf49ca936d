/**
 * Operator state in a cluster of three (etcd): a drain through instance 2
 * survives the loss of instance 2 and of the leader; a manual-failback hold
 * survives the loss of the leader, and `failoverd failback` through a
 * follower releases it on all three; a maintenance window runs on the
 * leader only and drains and releases on all three.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TOKEN } from './helpers/admin-daemon.ts';
import { runCli } from './helpers/cli.ts';
import { startLoopbackCluster, type LoopbackCluster } from './helpers/cluster-daemons.ts';
import { scaled } from './helpers/eventually.ts';

const PRIMARY = '127.0.0.1';
const SECONDARY = '127.0.0.2';
const PRIMARY_ID = `www.example.test/A/${PRIMARY}`;
const DRAIN = `/v1/targets/${encodeURIComponent(PRIMARY_ID)}/override`;

/** Asserts that every live instance keeps answering `want` with one serial for `ms`. */
async function holds(cluster: LoopbackCluster, want: string, ms: number): Promise<void> {
  for (let i = 0; i * 250 < ms; i++) {
    const v = await cluster.views();
    assert.ok(v.every((x) => x.answer === want && x.serial === v[0]!.serial), `check ${i}: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

test('cluster operator state: a drain and a manual-failback hold survive the loss of instances; failback through a follower', { timeout: scaled(60_000) }, async (t) => {
  const setup = await startLoopbackCluster(t, { failback: 'manual', startupTimeout: '3s' });
  if (!setup) return;
  const { cluster } = setup;
  await cluster.waitSame([PRIMARY]);

  // A drain through instance 2, then instance 2 and the leader are killed: still drained; instance 2 back serves it at once.
  assert.equal((await cluster.daemons[1]!.api('POST', DRAIN, { body: { state: 'down', reason: 'survives' } })).status, 200);
  await cluster.waitSame([SECONDARY], 1000);
  await cluster.kill(1);
  const leader = await cluster.leaderIndex();
  if (leader !== 1) await cluster.kill(leader);
  const left = cluster.live();
  assert.ok(left.length >= 1);
  // Alone of the three, the new leader waits startupTimeout (3 s) for the vantage points of the last decision, then decides.
  await cluster.leaderIndex(8000);
  await holds(cluster, SECONDARY, 1000);
  assert.deepEqual((await left[0]!.api('GET', '/v1/status')).body.overrides.map((o: any) => [o.target, o.reason]), [[PRIMARY_ID, 'survives']]);
  for (const i of [0, 1, 2]) if (!cluster.daemons[i]) await cluster.startOne(i);
  for (const d of cluster.live()) assert.deepEqual(await d.answer('www.example.test'), [SECONDARY]);
  await cluster.waitSame([SECONDARY], 3000);
  // Undrained through instance 1: with failback: manual the answer stays on the secondary (a hold), on all three.
  assert.equal((await cluster.daemons[0]!.api('DELETE', DRAIN)).status, 200);
  await holds(cluster, SECONDARY, 1500);
  const held = await cluster.status(2);
  assert.match(held.recordSets[0].pending, /failback is manual/, JSON.stringify(held.recordSets[0]));

  // The hold survives the loss of the leader.
  await cluster.kill(await cluster.leaderIndex());
  await cluster.leaderIndex(5000);
  await holds(cluster, SECONDARY, 1500);

  // failoverd failback through a follower: the leader moves all of them back.
  const leaderNow = await cluster.leaderIndex();
  const follower = cluster.live().find((d) => d !== cluster.daemons[leaderNow])!;
  const cli = await runCli(['failback', 'www.example.test', '--admin', follower.adminUrl, '--token', TOKEN]);
  const f0 = Date.now();
  assert.equal(cli.code, 0, cli.stderr);
  assert.match(cli.stdout, /www\.example\.test\/A: requested \(sent to the leader fo-\d\)/);
  await cluster.waitSame([PRIMARY], 3000);
  t.diagnostic(`failback through a follower (failoverd failback): served by all ${Date.now() - f0} ms after the CLI returned`);
});

test('cluster maintenance window: run by the leader only, drains and releases the target on all three', { timeout: scaled(40_000) }, async (t) => {
  const setup = await startLoopbackCluster(t);
  if (!setup) return;
  const { cluster } = setup;
  await cluster.waitSame([PRIMARY]);
  // A window once, 3 s from now (a 6-field cron: second minute ...), for 2 s, added to every instance by a reload.
  const at = new Date(Date.now() + 3000);
  const extra = `maintenance:\n  - { name: patching, targets: [${PRIMARY_ID}], cron: "${at.getSeconds()} ${at.getMinutes()} * * * *", duration: 2s, reason: "kernel patching" }\n`;
  for (const i of [0, 1, 2]) {
    cluster.rewrite(i, { extra });
    assert.equal((await cluster.daemons[i]!.api('POST', '/v1/reload')).status, 200);
  }
  const leader = await cluster.leaderIndex();
  await cluster.waitSame([SECONDARY], 8000);
  const during = await cluster.status((leader + 1) % 3);
  assert.deepEqual(during.overrides.map((o: any) => [o.target, o.source]), [[PRIMARY_ID, 'maintenance:patching']]);
  await cluster.waitSame([PRIMARY], 6000);
  const started = cluster.daemons.map((d) => d!.proc.logs.filter((l) => l.msg === 'maintenance window started').length);
  assert.deepEqual(started, [0, 1, 2].map((i) => (i === leader ? 1 : 0)), 'only the leader ran the window');
});
