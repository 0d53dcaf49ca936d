/**
 * The etcd port and PrefixMirror on real etcd (3 members on loopback):
 * - a mirror on one member: the member is killed, keys change and the
 *   history is compacted meanwhile, the member restarts: the resumed watch
 *   is canceled "compacted", the mirror re-lists and converges (deletes
 *   included), then follows again;
 * - etcd wiped (a new empty cluster on the same ports): the mirror sees the
 *   new cluster and converges on the new, empty store;
 * - an oversized write refused by etcd, five times over, does not take the
 *   lease keep-alive down (etcd3's default policies opened the breaker the
 *   keep-alives go through: shown too, as the reason for the change).
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { Etcd3 } from 'etcd3';
import { systemClock } from '../src/clock.ts';
import { baseEtcdOptions, Etcd3Port } from '../src/cluster/etcd-client.ts';
import type { EtcdPort } from '../src/cluster/etcd-port.ts';
import { KeptLease } from '../src/cluster/kept-lease.ts';
import { PrefixMirror, type RecoveryCause } from '../src/cluster/prefix-mirror.ts';
import { startEtcd, type EtcdCluster } from './helpers/etcd.ts';
import { compact } from './helpers/etcd-ops.ts';
import { needTool } from './helpers/tools.ts';
import { scaled } from './helpers/eventually.ts';

const P = '/failoverd/mirror-test/';

/** One etcd of 3 members for the file (started by the first test that needs it). */
let shared: Promise<EtcdCluster> | undefined;
function etcdCluster(): Promise<EtcdCluster> {
  shared ??= startEtcd(3);
  return shared;
}
after(async () => {
  if (shared) await (await shared).stop();
});

/** Runs one etcd call, tried again (bounded) while etcd settles after a fault (a raft election takes a moment on a busy machine). */
async function settled<T>(what: string, fn: () => Promise<T>, ms = 10_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() - t0 > ms) throw new Error(`${what}: still failing after ${ms} ms`, { cause: err });
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** Waits (bounded) until the mirror holds exactly what etcd holds under P. */
async function converges(mirror: PrefixMirror, etcd: EtcdPort, ms: number): Promise<number> {
  const t0 = Date.now();
  let want = '';
  let got = '';
  while (Date.now() - t0 < ms) {
    want = JSON.stringify((await settled('list', () => etcd.getPrefix(P))).kvs.map((kv) => [kv.key, kv.value]));
    got = JSON.stringify([...mirror.all()].sort());
    if (mirror.state === 'live' && want === got) return Date.now() - t0;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`mirror did not converge within ${ms} ms (${mirror.state}): etcd ${want}, mirror ${got}`);
}

test('mirror on real etcd: member restart after compaction re-lists; etcd wiped (a new cluster: another id, revision back) is seen and re-listed', { timeout: scaled(60_000) }, async (t) => {
  if (!needTool(t, 'etcd', 'etcd-server')) return;
  const etcd = await etcdCluster();
  // The mirror talks to member 0 only; the writer to the other two.
  const one = Etcd3Port.connect(baseEtcdOptions([etcd.endpoints[0]!]));
  const writer = Etcd3Port.connect(baseEtcdOptions(etcd.endpoints.slice(1)));
  t.after(() => {
    one.close();
    writer.close();
  });
  for (let i = 0; i < 5; i++) await writer.put(`${P}k${i}`, `v${i}`);
  const mirror = new PrefixMirror(one, P, { clock: systemClock });
  const causes: RecoveryCause[] = [];
  mirror.on('recovering', (c) => causes.push(c));
  t.after(() => mirror.stop());
  await mirror.start();
  await converges(mirror, writer, 3000);

  await etcd.kill(0);
  await settled('put k1', () => writer.put(`${P}k1`, 'changed'));
  await settled('delete k2', () => writer.delete(`${P}k2`));
  await settled('put new', () => writer.put(`${P}new`, 'n'));
  for (let i = 0; i < 3; i++) await settled('put churn', () => writer.put(`${P}churn`, String(i)));
  const compactedAt = await compact(etcd.endpoints.slice(1));
  await etcd.restartMember(0);
  const took = await converges(mirror, writer, 8000);
  t.diagnostic(`member restarted after compaction at revision ${compactedAt}: converged ${took} ms after it took writes again; causes ${causes.join(', ')}`);
  assert.ok(causes.includes('compacted'), causes.join(', '));
  await settled('put after', () => writer.put(`${P}after`, '1'));
  await converges(mirror, writer, 3000);

  // etcd wiped: a new empty cluster (revision 1) on the same ports.
  causes.length = 0;
  await etcd.wipe();
  await settled('put fresh', () => writer.put(`${P}fresh`, '1'));
  const took2 = await converges(mirror, writer, 8000);
  t.diagnostic(`etcd wiped: converged ${took2} ms after the new cluster took writes; causes ${causes.join(', ')}`);
  assert.ok(causes.includes('revision-backwards') || causes.includes('cluster-changed'), causes.join(', '));
  assert.deepEqual([...mirror.all()], [[`${P}fresh`, '1']]);
});

test('an oversized write refused by etcd (five times) does not take the lease keep-alive down', { timeout: scaled(30_000) }, async (t) => {
  if (!needTool(t, 'etcd', 'etcd-server')) return;
  const etcd = await etcdCluster();
  const big = 'x'.repeat(4_600_000); // over etcd's gRPC limit (1.5 MiB request + 0.5 MiB): RESOURCE_EXHAUSTED

  // etcd3 1.1.2 with its default policies: the refused writes open the host's breaker, and a lease grant is refused with it.
  // One endpoint: one host breaker, the case where it takes everything down.
  const host = [etcd.endpoints[0]!];
  const plain = new Etcd3({ hosts: host });
  t.after(() => plain.close());
  for (let i = 0; i < 2; i++) await assert.rejects(plain.put(`${P}big`).value(big).exec());
  const grant = await plain.lease(2, { autoKeepAlive: false }).grant().then(
    () => 'granted',
    (err: Error) => err.message,
  );
  t.diagnostic(`etcd3 defaults, lease grant right after 2 oversized writes: ${grant}`);
  assert.match(grant, /circuit|breaker/i, 'etcd3\'s default breaker opened on refused writes');

  // Through the port: a lease of 2 s kept alive while the writes are refused.
  const port = Etcd3Port.connect(baseEtcdOptions(host));
  t.after(() => port.close());
  const lease = new KeptLease(port, 2, systemClock);
  const lost: unknown[] = [];
  lease.on('lost', (err) => lost.push(err));
  t.after(() => lease.close());
  await lease.start();
  const errors: string[] = [];
  const t0 = Date.now();
  for (let i = 0; i < 5; i++) {
    await port.put(`${P}big`, big).then(
      () => errors.push('accepted?'),
      (err: Error) => errors.push(err.constructor.name),
    );
    assert.ok(lease.fresh(), `lease fresh after refused write ${i + 1}`);
  }
  // Keep going past a TTL: the keep-alives go on.
  while (Date.now() - t0 < 3000) {
    assert.ok(lease.fresh(), `lease fresh ${Date.now() - t0} ms after the first refused write`);
    await new Promise((r) => setTimeout(r, 250));
  }
  assert.deepEqual(lost, []);
  assert.ok(errors.every((e) => e !== 'accepted?'), errors.join(', '));
  // And a normal write goes through at once.
  await port.put(`${P}small`, 'ok');
  assert.equal((await port.get(`${P}small`)).kv?.value, 'ok');
  t.diagnostic(`refused writes: ${errors.join(', ')}; lease confirmed ${lease.sinceConfirmed()} ms ago`);
});
