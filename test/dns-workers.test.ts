/**
 * dns.workers > 1: UDP served by worker processes sharing the port, fed
 * with every snapshot by the main process; TCP and the transfer handler stay
 * in the main process. Timing bounds here are generous (design.md): the
 * benchmark reports the real push time.
 */
import assert from 'node:assert/strict';
import cluster, { type Worker } from 'node:cluster';
import { after, before, test } from 'node:test';
import { Packet, parseRequest } from '../src/dns/dns2.ts';
import { DnsServer, type TransferHandler } from '../src/dns/server.ts';
import { applyDelta, snapshotDelta } from '../src/dns/snapshot-delta.ts';
import { resolveWorkers } from '../src/dns/worker-pool.ts';
import type { FromWorker } from '../src/dns/worker-protocol.ts';
import { silentLogger } from '../src/log.ts';
import { buildSnapshot, type DynamicRRset, type Snapshot } from '../src/records/snapshot.ts';
import { exampleZone } from './helpers/dns-fixture.ts';
import { buildQuery, tcpExchange, udpExchange } from './helpers/raw-dns.ts';
import { systemClock } from '../src/clock.ts';
import { Metrics } from '../src/admin/metrics.ts';
import { formatStatus } from '../src/cli/admin-commands.ts';
import { loadConfig } from '../src/config/load.ts';
import { Daemon } from '../src/daemon.ts';
import { idleConfig, TestDir } from './helpers/admin-daemon.ts';
import { freePort } from './helpers/ports.ts';

const zones = [exampleZone()];
const www = (address: string): DynamicRRset[] => [{ name: 'www.example.test', type: 'A', ttl: 30, kind: 'values', values: [address] }];
let server: DnsServer;
let port: number;
let snap: Snapshot;

before(async () => {
  server = new DnsServer({ clock: systemClock, listen: [{ host: '127.0.0.1', port: 0 }], logger: silentLogger, workers: 2, pick: () => 0 });
  snap = buildSnapshot(zones, www('127.0.0.1'));
  server.setSnapshot(snap);
  [{ port }] = (await server.start()) as [{ host: string; port: number }];
});
after(() => server.stop());

function addressOf(reply: Buffer | undefined): string | undefined {
  if (!reply) return undefined;
  return (Packet.parse(reply) as unknown as { answers: Array<{ address?: string }> }).answers[0]?.address;
}

/** `n` queries, each from its own socket (own source port), all at once. */
async function askMany(n: number, opts: { edns?: boolean } = {}): Promise<Array<string | undefined>> {
  const q = buildQuery('www.example.test', 1, { opt: opts.edns ? { size: 1232 } : undefined });
  return Promise.all(Array.from({ length: n }, () => udpExchange(port, q, 2000).then(addressOf)));
}

test('"auto" means one worker per core; default 1', () => {
  assert.ok(resolveWorkers('auto') >= 1);
  assert.equal(resolveWorkers(undefined), 1);
  assert.equal(resolveWorkers(3), 3);
});

test('a snapshot delta carries only the changed nodes and rebuilds the same snapshot', () => {
  const base = buildSnapshot(zones, [...www('127.0.0.1'), { name: 'gone.example.test', type: 'A', ttl: 5, kind: 'values', values: ['127.0.0.9'] }]);
  const next = buildSnapshot(zones, [...www('127.0.0.2'), { name: 'new.sub2.example.test', type: 'AAAA', ttl: 5, kind: 'values', values: ['::2'] }, { name: 'sf.example.test', type: 'A', ttl: 5, kind: 'servfail', values: [] }], base);
  const delta = snapshotDelta(base, next)!;
  const names = delta.zones[0]!.changed.map(([n, node]) => `${n}${node ? '' : ' (deleted)'}`).sort();
  assert.deepEqual(names, ['gone.example.test (deleted)', 'new.sub2.example.test', 'sf.example.test', 'sub2.example.test', 'www.example.test']);
  assert.deepEqual(applyDelta(base, delta), { ...next, zones: next.zones.map((z) => ({ ...z, fingerprint: '' })) });
  // Nothing changed: no node sent.
  const same = buildSnapshot(zones, [...www('127.0.0.2'), { name: 'new.sub2.example.test', type: 'AAAA', ttl: 5, kind: 'values', values: ['::2'] }, { name: 'sf.example.test', type: 'A', ttl: 5, kind: 'servfail', values: [] }], next);
  assert.equal(snapshotDelta(next, same)!.zones[0]!.changed.length, 0);
});

test('two worker processes serve UDP on the port; TCP is served on the same port', async () => {
  const pids = server.workerPool!.pids();
  assert.equal(pids.length, 2);
  assert.ok(!pids.includes(process.pid));
  assert.deepEqual(new Set(await askMany(40)), new Set(['127.0.0.1']));
  const [tcp] = await tcpExchange(port, [buildQuery('www.example.test', 1)], 1);
  assert.equal(addressOf(tcp), '127.0.0.1');
});

test('worker replies are the bytes the main process would send', async () => {
  for (const [name, type, opt] of [['www.example.test', 1, undefined], ['STATIC.example.test', 1, { size: 1232, do: true }], ['nx.example.test', 28, undefined], ['weighted-free.example.test', 1, { size: 1232 }], ['big.example.test', 1, undefined]] as const) {
    const raw = buildQuery(name, type, { id: 0x4242, flags: 0x0100, opt });
    const got = await udpExchange(port, raw);
    assert.deepEqual(got, server.answer(parseRequest(raw), 'udp')[0], `${name}/${type}`);
  }
});

test('a new snapshot reaches every worker: every reply after the push is the new answer', async () => {
  snap = buildSnapshot(zones, www('127.0.0.2'), snap);
  server.setSnapshot(snap);
  assert.ok(await server.workerPool!.settled(5000), 'workers did not acknowledge the snapshot');
  const ms = server.workerPool!.lastPush!.ms;
  assert.ok(ms < 1000, `push took ${ms} ms`);
  assert.deepEqual(new Set(await askMany(40)), new Set(['127.0.0.2']));
  assert.deepEqual(new Set(await askMany(20, { edns: true })), new Set(['127.0.0.2']));
});

test('NOTIFY and transfers arriving at a worker are answered by the transfer handler in the main process', async () => {
  const seen: string[] = [];
  const handler: TransferHandler = {
    handle(_req, info, ctx) {
      seen.push(`${info.opcode}/${ctx.transport}/${ctx.client.address}`);
      return [Buffer.from([0x12, 0x34, 0xa0, 0x00, 0, 0, 0, 0, 0, 0, 0, 0])];
    },
  };
  server.setTransferHandler(handler);
  try {
    const reply = await udpExchange(port, buildQuery('example.test', 6, { id: 0x1234, flags: 4 << 11 }));
    assert.deepEqual(reply, Buffer.from([0x12, 0x34, 0xa0, 0x00, 0, 0, 0, 0, 0, 0, 0, 0]));
    assert.deepEqual(seen, ['4/udp/127.0.0.1']);
  } finally {
    server.setTransferHandler(undefined);
  }
});

/** Resolves with the pid of the next worker that reports it listens (cluster's 'message' event carries every worker message). */
function nextWorkerListening(timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cluster.off('message', onMessage);
      reject(new Error(`no worker listening within ${timeoutMs} ms`));
    }, timeoutMs);
    const onMessage = (worker: Worker, msg: FromWorker): void => {
      if (msg.type !== 'listening') return;
      clearTimeout(timer);
      cluster.off('message', onMessage);
      if (msg.error) reject(new Error(`worker ${worker.process.pid} cannot listen: ${msg.error}`));
      else resolve(worker.process.pid!);
    };
    cluster.on('message', onMessage);
  });
}

test('a worker that dies is replaced and given the current snapshot; the port keeps answering', async () => {
  const [victim] = server.workerPool!.pids();
  const replaced = nextWorkerListening(10_000);
  process.kill(victim!, 'SIGKILL');
  // The survivor answers meanwhile.
  const during = await askMany(10);
  assert.ok(during.every((a) => a === '127.0.0.2'), JSON.stringify(during));
  // The replacement gets the snapshot first, then binds the port: once it says it listens, it serves.
  const replacement = await replaced;
  const pids = server.workerPool!.pids();
  assert.equal(pids.length, 2);
  assert.ok(!pids.includes(victim!));
  assert.ok(pids.includes(replacement), `${replacement} in ${pids.join(',')}`);
  assert.deepEqual(new Set(await askMany(40)), new Set(['127.0.0.2']));
  // Said beyond the log: the pool's health and failoverd_dns_worker_exits_total.
  const health = server.workerPool!.health();
  assert.deepEqual([health.size, health.running, health.exits, health.lastExit?.pid, health.lastExit?.signal], [2, 2, 1, victim, 'SIGKILL']);
  const metrics = new Metrics({ decisions: () => [], ready: () => true, snapshot: () => undefined, maintenance: () => [], notifyQueue: () => 0, now: () => Date.now(), dnsWorkers: () => server.workerPool!.health() });
  assert.deepEqual((await metrics.registry.getSingleMetric('failoverd_dns_worker_exits_total')!.get()).values.map((v) => v.value), [1]);
});

test('a daemon\'s DNS worker that dies shows in /v1/status, failoverd status and /metrics', async (t) => {
  const dir = new TestDir();
  dir.write(idleConfig(await freePort(), { dnsWorkers: 2 }));
  const theirs = new Set(Object.values(cluster.workers ?? {}).map((w) => w!.process.pid));
  const daemon = new Daemon(await loadConfig(dir.config), { clock: systemClock, logger: silentLogger });
  t.after(() => daemon.stop());
  t.after(() => dir.remove());
  await daemon.start();
  const api = async (path: string) => (await fetch(`http://127.0.0.1:${daemon.adminAddress()!.port}${path}`)).text();
  const before = JSON.parse(await api('/v1/status')).dnsWorkers;
  assert.deepEqual([before.size, before.running, before.exits, before.lastExit], [2, 2, 0, undefined]);
  assert.doesNotMatch(formatStatus(JSON.parse(await api('/v1/status'))), /DNS worker/);
  const [victim] = Object.values(cluster.workers ?? {}).map((w) => w!.process.pid!).filter((pid) => !theirs.has(pid));
  assert.ok(victim, 'the daemon forked its workers in this process');
  const replaced = nextWorkerListening(10_000);
  process.kill(victim, 'SIGKILL');
  await replaced;
  const s = JSON.parse(await api('/v1/status'));
  assert.deepEqual([s.dnsWorkers.running, s.dnsWorkers.exits, s.dnsWorkers.lastExit.pid, s.dnsWorkers.lastExit.signal], [2, 1, victim, 'SIGKILL']);
  assert.match(formatStatus(s), new RegExp(`^WARNING: DNS worker ${victim} exited \\(SIGKILL\\) at \\S+; 1 worker exit\\(s\\) since start, 2 of 2 workers running`, 'm'));
  assert.match(await api('/metrics'), /^failoverd_dns_worker_exits_total 1$/m);
});
