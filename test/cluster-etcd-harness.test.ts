/**
 * The etcd harness of the cluster tests (test/helpers/etcd.ts, etcd-ops.ts):
 * 3 real members; one killed: still writable, restarted: it has the data;
 * compaction + restart of every member (a watch resuming below the compacted
 * revision is canceled); a wipe: a new cluster (new ID, revision back near 1)
 * on the same ports; SIGSTOP/SIGCONT; NOSPACE with a small quota, recovered
 * by delete + compaction + defrag + alarm disarm.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Etcd3 } from 'etcd3';
import { needTool } from './helpers/tools.ts';
import { startEtcd, waitWritable } from './helpers/etcd.ts';
import { alarms, compact, fillUntilNoSpace, memberStatus, recoverFromNoSpace } from './helpers/etcd-ops.ts';
import { scaled } from './helpers/eventually.ts';

test('etcd harness: 3 members, one killed: still writable; restarted: it has the data', { timeout: scaled(60_000) }, async (t) => {
  if (!needTool(t, 'etcd', 'etcd-server')) return;
  const etcd = await startEtcd(3);
  t.after(() => etcd.stop());
  const all = new Etcd3({ hosts: etcd.endpoints });
  t.after(() => all.close());
  await all.put('k').value('before').exec();
  await etcd.kill(0);
  await waitWritable(etcd.endpoints.slice(1), 10_000);
  await all.put('k').value('while-down').exec();
  etcd.restart(0);
  const first = new Etcd3({ hosts: [etcd.endpoints[0]] });
  t.after(() => first.close());
  await waitWritable([etcd.endpoints[0]!], 20_000);
  assert.equal(await first.get('k').string(), 'while-down');
});

test('etcd harness: compaction, restart of every member, wipe, freeze, NOSPACE and its recovery', { timeout: scaled(60_000) }, async (t) => {
  if (!needTool(t, 'etcd', 'etcd-server') || !needTool(t, 'etcdctl', 'etcd-client')) return;
  const quota = 8 * 1024 * 1024;
  const etcd = await startEtcd(3, { quotaBackendBytes: quota });
  t.after(() => etcd.stop());
  const client = new Etcd3({ hosts: etcd.endpoints });
  t.after(() => client.close());

  // Compaction up to the current revision: a watch from an older revision is refused as compacted.
  for (let i = 0; i < 5; i++) await client.put('k').value(String(i)).exec();
  const compacted = await compact(etcd.endpoints);
  assert.ok(compacted >= 6);
  await assert.rejects(client.get('k').revision(String(compacted - 2)).string(), /compacted/);
  await etcd.restartAll();
  assert.equal(await client.get('k').string(), '4', 'every member restarted on its data');

  // Wipe: a new cluster on the same client ports, empty, its revision back at the start.
  const before = await memberStatus(etcd.endpoints);
  await etcd.wipe();
  assert.equal(await client.get('k').string(), null, 'the new cluster is empty');
  const after = await memberStatus(etcd.endpoints);
  assert.ok(after.every((s) => s.revision < before[0]!.revision), `revision went back: ${JSON.stringify({ before, after })}`);

  // Freeze: nothing answers; thawed: writable again.
  etcd.pause();
  await assert.rejects(waitWritable(etcd.endpoints, 1000), /not writable/);
  etcd.resume();
  await waitWritable(etcd.endpoints, 10_000);

  // NOSPACE: puts refused, the alarm listed; recovered: no alarm, writable.
  const written = await fillUntilNoSpace(etcd.endpoints, quota);
  assert.ok(written > 0);
  assert.ok((await alarms(etcd.endpoints)).some((a) => a.includes('NOSPACE')));
  await assert.rejects(client.put('k').value('refused').exec(), /database space exceeded/);
  await recoverFromNoSpace(etcd.endpoints);
  await client.put('k').value('after').exec();
  assert.equal(await client.get('k').string(), 'after');
  const sizes = await memberStatus(etcd.endpoints);
  assert.ok(sizes.every((s) => s.dbSize < quota), `defragmented below the quota: ${JSON.stringify(sizes)}`);
});
