/** The etcd harness of the cluster tests: 3 real members, one killed and restarted, the cluster keeps its data. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Etcd3 } from 'etcd3';
import { needTool } from './helpers/tools.ts';
import { startEtcd, waitWritable } from './helpers/etcd.ts';

test('etcd harness: 3 members, one killed: still writable; restarted: it has the data', { timeout: 60_000 }, async (t) => {
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
  await waitWritable([etcd.endpoints[0]], 20_000);
  assert.equal(await first.get('k').string(), 'while-down');
});
