/**
 * The decision layout on a real etcd with three instances: 40 record sets
 * fail over together and, with cluster.etcd.maxTxnOps: 8, the leader writes
 * them in many transactions; all three then serve the same answers, serial
 * and generation, with no value left waiting. Then etcd runs out of space
 * (a small --quota-backend-bytes filled until NOSPACE): the leader's
 * decision after a reload (a new TTL) cannot be written; the leader's
 * status, metric and one error log line say so while every instance keeps
 * serving the last decisions written; after the
 * operator's recovery (delete, compact, defrag, alarm disarm) the write goes
 * through and all three serve it. Then what cannot work is refused: a
 * second live instance named fo-1 does not start (the error names both
 * processes) and leaves fo-1's vantage report alone; a drain of a target
 * that only the followers' configs have answers 409 naming them.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { Etcd3 } from 'etcd3';
import { metric, parsePrometheus, TestDir, until } from './helpers/admin-daemon.ts';
import { httpBackendsOnOnePort } from './helpers/backends.ts';
import { DaemonProcess } from './helpers/cli.ts';
import { clusterConfig, LoopbackCluster } from './helpers/cluster-daemons.ts';
import { alarms, fillUntilNoSpace, recoverFromNoSpace } from './helpers/etcd-ops.ts';
import { startEtcd } from './helpers/etcd.ts';
import { needTool } from './helpers/tools.ts';
import { scaled } from './helpers/eventually.ts';

const PRIMARY = '127.0.0.1';
const SECONDARY = '127.0.0.2';
const MORE = 39;
const QUOTA = 8 * 1024 * 1024;

test('cluster decisions: a mass failover written in many transactions reaches all three alike; a NOSPACE refusal is loud and recovers; a twin instance and a drain the leader cannot apply are refused', { timeout: scaled(90_000) }, async (t) => {
  if (!needTool(t, 'etcd', 'etcd-server') || !needTool(t, 'etcdctl', 'etcd-client')) return;
  const etcd = await startEtcd(1, { quotaBackendBytes: QUOTA });
  t.after(() => etcd.stop());
  const [primary, secondary] = await httpBackendsOnOnePort([PRIMARY, SECONDARY]);
  t.after(async () => {
    await primary!.kill();
    await secondary!.kill();
  });
  // leaseTtl 3s: the leader keeps its lease while etcd fills up, on a busy machine too.
  const o = { endpoints: etcd.endpoints, port: primary!.port, leaseTtl: '3s' };
  const cluster = new LoopbackCluster(3, o);
  t.after(() => cluster.stop());
  const more = Array.from({ length: MORE }, (_, i) => `  - { name: r${i}.example.test, type: A, ttl: 5, targets: [{ address: ${PRIMARY}, check: web1 }, { address: ${SECONDARY}, check: web2 }] }`).join('\n');
  cluster.dirs.forEach((d, i) => {
    const yaml = clusterConfig(i + 1, o)
      .replace(/etcd: \{ endpoints: (\[[^\]]*\]) \}/, 'etcd: { endpoints: $1, maxTxnOps: 8 }')
      .replace(/^records:\n/m, `records:\n${more}\n`);
    assert.match(yaml, /maxTxnOps: 8/);
    d.write(yaml);
  });
  const t0 = Date.now();
  const step = (what: string) => t.diagnostic(`${what}: ${Date.now() - t0} ms`);
  await cluster.start(40_000);
  step('started');
  const names = ['www.example.test', 'r0.example.test', `r${MORE >> 1}.example.test`, `r${MORE - 1}.example.test`];
  const allAnswer = (want: string, timeoutMs: number) =>
    until(
      `every instance answering ${want} for ${names.join(', ')}`,
      async () => {
        const views = await Promise.all(cluster.live().map(async (d) => ({ answers: await Promise.all(names.map((n) => d.answer(n))), serial: await d.serial().catch(() => -1) })));
        return views.every((v) => v.answers.every((a) => a.join() === want) && v.serial === views[0]!.serial) ? views[0]!.serial : undefined;
      },
      timeoutMs,
    );
  const before = await allAnswer(PRIMARY, 10_000);
  const leader = await cluster.leaderIndex(10_000);
  step('serving');
  const lead = cluster.daemons[leader]!;
  // A second process with fo-1's config (its name): it runs beside the next steps, checked in step 5.
  const twinDir = new TestDir();
  t.after(() => twinDir.remove());
  twinDir.write(readFileSync(cluster.dirs[0]!.config, 'utf8'));
  const twin = new DaemonProcess(['run', '--config', twinDir.config]);
  t.after(() => twin.stop('SIGKILL'));
  const metrics = async () => parsePrometheus((await lead.api('GET', '/metrics')).text);

  // 1. The primary dies: 40 record sets change at once, in many transactions of at most 8 operations.
  await primary!.kill();
  const after = await allAnswer(SECONDARY, 10_000);
  assert.ok(after > before, `one new serial: ${before} -> ${after}`);
  const batch = await lead.proc.waitForLog((l) => l.msg === 'wrote a batch of decisions in several transactions' && (l.recordSets as number) >= MORE + 1, 5000);
  assert.ok((batch.transactions as number) >= 6, `${String(batch.transactions)} transactions`);
  const st = await until(
    'one generation, nothing waiting, on all three',
    async () => {
      const s = await Promise.all([0, 1, 2].map((i) => cluster.status(i)));
      const g = s.map((x) => x.cluster.lastDecision?.generation);
      return g.every((x) => x === g[0]) && s.every((x) => x.cluster.decisionsWaiting === 0) ? s : undefined;
    },
    5000,
  );
  for (const s of st) assert.equal(s.cluster.writeError, null);
  for (const i of [0, 1, 2]) {
    const tr = (await cluster.daemons[i]!.api('GET', '/v1/transitions?limit=100')).body.transitions as Array<{ to: string; recordSet: string }>;
    assert.equal(new Set(tr.filter((x) => x.to === SECONDARY).map((x) => x.recordSet)).size, MORE + 1, `fo-${i + 1} lists every record set's transition`);
  }
  const samples = await metrics();
  step('mass failover served by all');
  for (const cause of ['too-large', 'no-space', 'too-many-ops', 'unavailable', 'permission', 'other']) assert.equal(metric(samples, 'failoverd_cluster_decision_write_failures_total', { cause }), 0, cause);

  // 2. etcd is full: the leader's next write (a reload of its config: www's TTL from 5 to 7) is refused.
  await fillUntilNoSpace(etcd.endpoints, QUOTA);
  // The alarm is raised through etcd's log a moment after the refused put: until then a small write still passes.
  await until('the NOSPACE alarm raised', async () => (await alarms(etcd.endpoints)).some((a) => /NOSPACE/.test(a)), 5000);
  step('NOSPACE');
  lead.dir.write(readFileSync(lead.dir.config, 'utf8').replace(/(name: www\.example\.test\n    type: A\n    ttl: )5/, '$17'));
  assert.match(readFileSync(lead.dir.config, 'utf8'), /name: www\.example\.test\n    type: A\n    ttl: 7/);
  const reload = await lead.api('POST', '/v1/reload');
  assert.equal(reload.status, 200, reload.text);
  const failing = await until(
    'the leader reports NOSPACE',
    async () => {
      const s = (await cluster.status(leader)).cluster;
      return s.writeError?.cause === 'no-space' ? s : undefined;
    },
    10_000,
  );
  assert.match(failing.writeError.message, /database space exceeded/);
  assert.ok(!Number.isNaN(Date.parse(failing.writeError.since)));
  await until('several attempts', async () => (metric(await metrics(), 'failoverd_cluster_decision_write_failures_total', { cause: 'no-space' }) ?? 0) >= 3, 10_000);
  step('refusal seen');
  const errors = lead.proc.logs.filter((l) => l.msg?.toString().startsWith('etcd refused the decisions'));
  assert.equal(errors.length, 1, 'one error line for the cause, not one per retry');
  assert.equal(errors[0]!.level, 50);
  assert.equal(errors[0]!.cause, 'no-space');
  const ttls = async () => Promise.all(cluster.live().map(async (d) => (await d.resolver.resolve4('www.example.test', { ttl: true })).map((a) => a.ttl).join()));
  assert.deepEqual(await ttls(), ['5', '5', '5'], 'the last decisions written are served');

  // 3. The operator frees space: the write goes through, all three serve it, the leader says so once.
  await recoverFromNoSpace(etcd.endpoints);
  step('recovered by the operator');
  await until('all three serve the new TTL', async () => (await ttls()).every((x) => x === '7'), 15_000);
  await lead.proc.waitForLog((l) => l.msg === 'decision writes to etcd succeed again' && l.cause === 'no-space', 5000);
  assert.equal((await cluster.status(leader)).cluster.writeError, null);
  step('the refused write served');

  // 4. The second live instance with fo-1's name (started with step 1) was refused at start, naming both; fo-1's report stays its own.
  const refusedLine = await twin.waitForLog((l) => l.msg === 'cannot start', 20_000);
  assert.equal(refusedLine.code, 'CLUSTER_INSTANCE_TAKEN');
  const fo1 = cluster.daemons[0]!.proc.child.pid;
  assert.match(String((refusedLine.err as { message: string }).message), new RegExp(`cluster.instance "fo-1" is already used by a live instance \\(host \\S+, pid ${fo1},.*this one \\(host \\S+, pid ${twin.child.pid},`));
  assert.equal(await twin.exited, 1);
  step('twin refused');
  const etcdClient = new Etcd3({ hosts: etcd.endpoints });
  t.after(() => etcdClient.close());
  const report = JSON.parse((await etcdClient.get('/failoverd/test/vantage/fo-1').string())!);
  assert.equal(report.owner.pid, fo1, 'fo-1 still owns its report');

  // 5. Two followers get a record set the leader lacks: a drain of its target through either answers 409 naming both.
  const followers = [0, 1, 2].filter((i) => i !== leader);
  const extra = `  - { name: extra.example.test, type: A, ttl: 5, targets: [{ address: ${PRIMARY}, check: web1 }, { address: ${SECONDARY}, check: web2 }] }\n`;
  await Promise.all(
    followers.map(async (i) => {
      cluster.dirs[i]!.write(readFileSync(cluster.dirs[i]!.config, 'utf8').replace(/^records:\n/m, `records:\n${extra}`));
      const r = await cluster.daemons[i]!.api('POST', '/v1/reload');
      assert.equal(r.status, 200, r.text);
    }),
  );
  const target = encodeURIComponent(`extra.example.test/A/${PRIMARY}`);
  const knowing = followers.map((i) => `fo-${i + 1}`);
  const refusedDrain = await until(
    'a drain refused naming both followers',
    async () => {
      const r = await cluster.daemons[followers[0]!]!.api('POST', `/v1/targets/${target}/override`, { body: { state: 'down', reason: 'test' } });
      assert.equal(r.status, 409, r.text);
      return r.body.error.message.includes(`${knowing.join(', ')}.`) ? r : undefined;
    },
    5000,
  );
  assert.equal(refusedDrain.body.error.code, 'TARGET_UNKNOWN_TO_LEADER');
  assert.match(refusedDrain.body.error.message, new RegExp(`leader fo-${leader + 1} does not know target extra.example.test/A/${PRIMARY}`));
  const onLeader = await lead.api('POST', `/v1/targets/${target}/override`, { body: { state: 'down', reason: 'test' } });
  assert.equal(onLeader.status, 404, 'the leader does not know it at all');
  assert.equal((await cluster.status(followers[1]!)).overrides.length, 0, 'nothing stored');
  step('drain of a target the leader lacks refused');
});
