/** Leadership on real etcd: one leader among several, a new leader after lease loss, a deposed leader's write refused by the fence. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Etcd3 } from 'etcd3';
import { needTool } from './helpers/tools.ts';
import { startEtcd } from './helpers/etcd.ts';
import { baseEtcdOptions, Etcd3Port } from '../src/cluster/etcd-client.ts';
import { Leadership } from '../src/cluster/leadership.ts';
import { scaled } from './helpers/eventually.ts';

const KEY = 'failoverd/test/leader';

test('leadership: one leader among three; its lease lost on the etcd side, another leads within leaseTtl + 1 s; a deposed leader is fenced', { timeout: scaled(60_000) }, async (t) => {
  if (!needTool(t, 'etcd', 'etcd-server')) return;
  const etcd = await startEtcd(1);
  t.after(() => etcd.stop());
  const clients = [0, 1, 2].map(() => Etcd3Port.connect(baseEtcdOptions(etcd.endpoints)));
  t.after(() => { for (const c of clients) c.close(); });
  const ttl = 2;
  const nodes = clients.map((c, i) => new Leadership(c, KEY, `i${i}`, ttl));
  for (const n of nodes) await n.start();
  t.after(async () => { for (const n of nodes) await n.close(); });

  // One leader, and etcd names the same one.
  assert.equal(nodes.filter((n) => n.isLeader).length, 1);
  const first = nodes.findIndex((n) => n.isLeader);
  assert.equal(await nodes[0].leader(), `i${first}`);
  assert.equal(await nodes[first].fencedPut('failoverd/test/decision', 'from-first'), true);

  // The leader's lease is lost on etcd's side (as when it expires): etcd deletes
  // the key, another instance wins, and the old leader, which does not know yet,
  // is refused by the fence. (test/cluster-daemons.test.ts SIGKILLs the leading
  // failoverd and sees another lead within leaseTtl + 1 s; the unit tests,
  // test/cluster-leadership-units.test.ts, stop the keep-alives on the fake.)
  const admin = new Etcd3({ hosts: etcd.endpoints });
  t.after(() => admin.close());
  const others = nodes.filter((_, i) => i !== first);
  const elected = Promise.race(others.map((n) => once(n, 'elected')));
  const kv = (await admin.get(KEY).exec()).kvs[0];
  const t0 = Date.now();
  await admin.leaseClient.leaseRevoke({ ID: kv.lease });
  await elected;
  const took = Date.now() - t0;
  assert.ok(took <= (ttl + 1) * 1000, `new leader after ${took} ms, leaseTtl ${ttl} s`);
  assert.equal(others.filter((n) => n.isLeader).length, 1);
  const second = nodes.findIndex((n, i) => i !== first && n.isLeader);
  assert.equal(await admin.get(KEY).string(), `i${second}`);
  assert.equal(await nodes[first].fencedPut('failoverd/test/decision', 'from-deposed'), false);
  assert.equal(nodes[first].isLeader, false);
  assert.equal(await admin.get('failoverd/test/decision').string(), 'from-first');
  assert.equal(await nodes[second].fencedPut('failoverd/test/decision', 'from-second'), true);
  assert.equal(await admin.get('failoverd/test/decision').string(), 'from-second');
});
