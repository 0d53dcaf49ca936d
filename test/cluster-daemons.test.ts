/**
 * Three failoverd processes on loopback, one cluster on a real etcd: the
 * same answer and SOA serial on all three after every step; a killed
 * primary moves all three; a drain through instance 2 moves all three
 * within 1 s; SIGKILL of the leader: a new leader within leaseTtl + 1 s and
 * a failover right after the kill decided within that time; the old leader,
 * restarted, serves the current decisions from its first answer. Webhooks
 * hear each transition once (from the leader).
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { startLoopbackCluster } from './helpers/cluster-daemons.ts';
import { until } from './helpers/admin-daemon.ts';
import { scaled } from './helpers/eventually.ts';

const PRIMARY = '127.0.0.1';
const SECONDARY = '127.0.0.2';
const DRAIN = `/v1/targets/${encodeURIComponent(`www.example.test/A/${PRIMARY}`)}/override`;

test('cluster of 3 on loopback: one answer and serial everywhere; killed primary, drain through instance 2, leader SIGKILL', { timeout: scaled(60_000) }, async (t) => {
  // One webhook receiver for all three: the leader alone notifies.
  const events: Array<{ event: string; to?: string; action?: string }> = [];
  const receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      events.push(JSON.parse(body));
      res.end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => receiver.close(() => r())));
  const hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  const setup = await startLoopbackCluster(t, { extra: `notify:\n  - { url: "${hook}" }\n` });
  if (!setup) return;
  const { primary, cluster } = setup;

  // 1. The same answer and serial on all three; every instance sees 3 vantage points and one leader.
  const first = await cluster.waitSame([PRIMARY]);
  // Each opened DNS with the cluster's decisions (none fell back to its own verdict at start).
  for (const d of cluster.live()) assert.ok(!d.proc.logs.some((l) => String(l.msg).startsWith('no cluster decisions within startupTimeout')));
  await until('3 vantage points seen by every instance', async () => (await Promise.all([0, 1, 2].map((i) => cluster.status(i)))).every((s) => s.cluster.vantagePoints.length === 3 && s.cluster.connected));
  const leader = await cluster.leaderIndex();
  const st = await cluster.status(leader);
  assert.equal(st.cluster.leader, `fo-${leader + 1}`);
  assert.equal(st.cluster.serving, 'cluster');
  const view = st.cluster.targets.find((x: any) => x.id === `www.example.test/A/${PRIMARY}`);
  assert.equal(view.health, 'UP');
  assert.match(view.why, /^0 of 3 vantage points see DOWN/);

  // 2. Killed primary: all three answer the secondary, with one new serial.
  await primary!.kill();
  const failover = await cluster.waitSame([SECONDARY], 5000);
  assert.ok(failover.serial > first.serial, `serial moved: ${first.serial} -> ${failover.serial}`);
  t.diagnostic(`failover on 3 instances after the primary was killed: ${failover.ms} ms`);
  // Every instance lists the cluster's transition (decided by the leader), not its own verdict's.
  for (const i of [0, 1, 2]) {
    const tr = (await cluster.daemons[i]!.api('GET', '/v1/transitions?limit=5')).body.transitions;
    assert.equal(tr[0].to, SECONDARY, `fo-${i + 1}`);
    assert.match(tr[0].reason, /primary \S+ is DOWN \(cluster: [23] of 3 vantage points see DOWN \(2 needed\)\)/, `fo-${i + 1}: ${tr[0].reason}`);
  }
  await until('the failover notified', () => events.some((e) => e.event === 'transition' && e.to === SECONDARY));
  await primary!.revive();
  const back = await cluster.waitSame([PRIMARY], 5000);
  await until('the failback notified', () => events.some((e) => e.event === 'transition' && e.to === PRIMARY));
  assert.deepEqual(events.filter((e) => e.event === 'transition').map((e) => e.to), [SECONDARY, PRIMARY], 'one notification per transition, from the leader only');

  // 3. A drain through instance 2 moves all three within 1 s; an undrain through instance 3 moves them back.
  const t0 = Date.now();
  const drained = await cluster.daemons[1]!.api('POST', DRAIN, { body: { state: 'down', reason: 'cluster drain test' } });
  assert.equal(drained.status, 200, drained.text);
  const moved = await cluster.waitSame([SECONDARY], 3000);
  const drainMs = Date.now() - t0;
  t.diagnostic(`drain through instance 2 seen on all three after ${drainMs} ms`);
  assert.ok(drainMs < 1000, `drain took ${drainMs} ms on all three`);
  assert.ok(moved.serial > back.serial);
  for (const i of [0, 2]) {
    const s = await cluster.status(i);
    assert.equal(s.overrides.length, 1, `instance ${i + 1} shows the drain`);
    assert.equal(s.overrides[0].reason, 'cluster drain test');
  }
  const undrained = await cluster.daemons[2]!.api('DELETE', DRAIN);
  assert.equal(undrained.status, 200, undrained.text);
  await cluster.waitSame([PRIMARY], 3000);
  await until('the undrain notified', () => events.some((e) => e.event === 'override' && e.action === 'cleared'));
  assert.deepEqual(events.filter((e) => e.event === 'override').map((e) => e.action), ['set', 'cleared'], 'the drain and the undrain notified once each, by the leader');

  // 4. SIGKILL the leader and kill the primary right after: a new leader within leaseTtl + 1 s, and the failover decided.
  const old = await cluster.leaderIndex();
  const k0 = Date.now();
  await cluster.kill(old);
  await primary!.kill();
  const next = await cluster.leaderIndex(5000);
  const electedMs = Date.now() - k0;
  const decided = await cluster.waitSame([SECONDARY], 5000);
  const decidedMs = Date.now() - k0;
  t.diagnostic(`leader SIGKILLed: new leader fo-${next + 1} seen after ${electedMs} ms; failover on the 2 left after ${decidedMs} ms`);
  assert.notEqual(next, old);
  assert.ok(electedMs <= 2000 + 500, `new leader after ${electedMs} ms (leaseTtl 1 s + 1 s, and the status poll)`);

  // 5. The old leader, restarted, serves the current decisions from its first answer.
  const again = await cluster.startOne(old);
  assert.deepEqual(await again.answer('www.example.test'), [SECONDARY]);
  assert.equal(await again.serial(), decided.serial);
  await cluster.waitSame([SECONDARY], 3000);
});
