/**
 * A cluster at scale (issue 21): three failoverd instances on loopback with a
 * `cluster:` section, three etcd members started with the settings
 * docs/cluster.md documents (test/helpers/etcd.ts), and N record sets
 * (1,000 and 10,000). Record set r0 fails over alone (its primary is
 * 127.0.0.1 on the "solo" check's port); r1 .. r(N-1) share one primary
 * (127.0.0.1 on the "mass" check's port); every secondary is 127.0.0.2. Few
 * probes (three probe keys), many decisions: what grows is the cluster's
 * decision data. For each N it prints:
 *  - one failover -> all three answer: the solo primary's HTTP backend closed,
 *    until every instance answers r0 with the secondary (each polled every
 *    20 ms over UDP); median of BENCH_SCALE_RUNS (5). Goal < 300 ms;
 *  - all record sets failing together -> all three answer all of them: the
 *    mass primary closed, until each instance answers every r1..r(N-1)
 *    with the secondary (asked over UDP, sweep after sweep over the names
 *    not there yet: the time is when the last one was seen; the longest
 *    sweep, the "sweep ms" column, is the resolution); and the failback
 *    the same way. Goal < 3 s at 10,000;
 *  - bytes written to etcd per single failover: the keys and values put
 *    under the cluster's prefix (a watch on it) from the kill until 500 ms
 *    after every instance answered, next to what an idle window of the same
 *    length wrote (heartbeats, leases' keys). Goal: does not grow with N;
 *  - at 1,000 record sets, etcd's database size (largest member) after
 *    BENCH_SCALE_PAIRS (1,000) failover/failback pairs of r0 (a drain and its
 *    lifting through the admin API, each waited for on instance 1's DNS),
 *    as etcd runs with the documented settings (periodic auto-compaction
 *    every 5 min, so the pairs' history is mostly still there), and after
 *    a compaction and defrag by hand for comparison.
 * Figures only: nothing is asserted. A measurement that fails (nothing in
 * time) prints why and the bench goes on.
 * Needs etcd and etcdctl (Debian etcd-server, etcd-client).
 * Env: BENCH_SCALE_SIZES (1000,10000), BENCH_SCALE_RUNS (5),
 * BENCH_SCALE_PAIRS (1000), BENCH_SCALE_PAIRS_AT (the size they run at: 1000),
 * BENCH_SCALE_PAIRS_MAX_S (600).
 */
import { createSocket } from 'node:dgram';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Etcd3, type IKeyValue, type Watcher } from 'etcd3';
import { httpBackend, type Backend } from '../test/helpers/backends.ts';
import { startEtcd, type EtcdCluster } from '../test/helpers/etcd.ts';
import { compact, defrag, memberStatus } from '../test/helpers/etcd-ops.ts';
import { freePort } from '../test/helpers/ports.ts';
import { hasTool } from '../test/helpers/tools.ts';
import { stats } from './failover-time.ts';
import { buildQuery } from '../test/helpers/raw-dns.ts';
import { addressesOf, AnswerPoller } from './lib/answer-poller.ts';
import { EXAMPLE_ZONE } from './lib/paths.ts';
import { daemonCommand } from './lib/runtime.ts';
import { startProcess, type RunningServer } from './lib/servers.ts';
import { printJson, printTable, round } from './lib/table.ts';

const SIZES = (process.env.BENCH_SCALE_SIZES ?? '1000,10000').split(',').map(Number);
const RUNS = Number(process.env.BENCH_SCALE_RUNS ?? 5);
const PAIRS = Number(process.env.BENCH_SCALE_PAIRS ?? 1000);
const PAIRS_AT = Number(process.env.BENCH_SCALE_PAIRS_AT ?? 1000);
const PAIRS_MAX_MS = Number(process.env.BENCH_SCALE_PAIRS_MAX_S ?? 600) * 1000;
const TOKEN = 'bench-token-0123456789';
const PRIMARY = '127.0.0.1';
const SECONDARY = '127.0.0.2';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Instance {
  server: RunningServer;
  dnsPort: number;
  adminUrl: string;
  poller: AnswerPoller;
}

function config(o: { n: number; i: number; dnsPort: number; adminPort: number; etcd: EtcdCluster; ports: { solo: number; mass: number; sec: number } }): string {
  const check = (port: number) => `{ type: http, port: ${port}, interval: 1s, fastInterval: 100ms, timeout: 500ms, rise: 1, fall: 2 }`;
  const lines = [
    `dns: { listen: ["127.0.0.1:${o.dnsPort}"] }`,
    `admin: { listen: "127.0.0.1:${o.adminPort}", token: ${TOKEN} }`,
    'zones: zones',
    'log: { level: warn }',
    'startupTimeout: 10s',
    'transfer: { allow: [127.0.0.1/32] }',
    'cluster:',
    '  name: bench-scale',
    `  instance: fo-${o.i + 1}`,
    `  etcd: { endpoints: ${JSON.stringify(o.etcd.endpoints)} }`,
    '  quorum: majority',
    '  leaseTtl: 3s',
    'checks:',
    `  solo: ${check(o.ports.solo)}`,
    `  mass: ${check(o.ports.mass)}`,
    `  sec: ${check(o.ports.sec)}`,
    'records:',
  ];
  for (let r = 0; r < o.n; r++) lines.push(`  - { name: r${r}.example.test, type: A, ttl: 30, targets: [{ address: ${PRIMARY}, check: ${r === 0 ? 'solo' : 'mass'} }, { address: ${SECONDARY}, check: sec }] }`);
  return lines.join('\n') + '\n';
}

async function api(inst: Instance, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(inst.adminUrl + path, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  let parsed: any;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = text;
  }
  return { status: res.status, body: parsed };
}

/**
 * Asks `port` for every name over UDP (256 queries in flight, each given up
 * after 500 ms and asked again in the next sweep), sweep after sweep over the
 * names not yet answering `address`, until none is left; resolves with the
 * time the last one was seen answering it, and the longest sweep (the
 * resolution of that time).
 */
async function allNamesOn(port: number, names: string[], address: string, since: number, timeoutMs: number): Promise<{ at: number; sweepMs: number }> {
  const sock = createSocket('udp4');
  const pending = new Set(names);
  let last = since;
  let sweepMs = 0;
  let id = 0;
  /** Replies and what they answered in the last sweep (for the error message). */
  let seen = new Map<string, number>();
  const inflight = new Map<number, { name: string; done: () => void }>();
  sock.on('message', (msg) => {
    const q = inflight.get(msg.readUInt16BE(0));
    if (!q) return;
    inflight.delete(msg.readUInt16BE(0));
    let answer = '';
    try {
      answer = addressesOf(msg);
    } catch {
      // unparseable: asked again next sweep
    }
    seen.set(answer || 'unparseable', (seen.get(answer || 'unparseable') ?? 0) + 1);
    if (answer === address && pending.delete(q.name)) last = performance.now();
    q.done();
  });
  try {
    while (pending.size > 0) {
      if (performance.now() - since > timeoutMs) {
        throw new Error(`${names.length - pending.size} of ${names.length} names answering ${address} after ${timeoutMs} ms on port ${port}; the last sweep's replies: ${JSON.stringify(Object.fromEntries(seen))} of ${pending.size} asked`);
      }
      seen = new Map();
      const s0 = performance.now();
      const batch = [...pending];
      for (let i = 0; i < batch.length; i += 256) {
        await Promise.all(
          batch.slice(i, i + 256).map(
            (name) =>
              new Promise<void>((resolve) => {
                id = (id + 1) & 0xffff;
                const qid = id;
                const timer = setTimeout(() => {
                  inflight.delete(qid);
                  resolve();
                }, 500);
                inflight.set(qid, { name, done: () => (clearTimeout(timer), resolve()) });
                sock.send(buildQuery(name, 1, { id: qid }), port, '127.0.0.1');
              }),
          ),
        );
      }
      sweepMs = Math.max(sweepMs, performance.now() - s0);
      if (pending.size > 0) await sleep(20);
    }
    return { at: last, sweepMs };
  } finally {
    sock.close();
  }
}

/** Until every instance answers every mass record set (r1..r(n-1)) with `address`: ms from `since` to the last instance's last name, and the longest sweep. */
async function allMassOn(instances: Instance[], n: number, address: string, since: number, timeoutMs: number): Promise<{ ms: number; sweepMs: number }> {
  const names = Array.from({ length: n - 1 }, (_, i) => `r${i + 1}.example.test`);
  const each = await Promise.all(instances.map((inst) => allNamesOn(inst.dnsPort, names, address, since, timeoutMs)));
  return { ms: Math.max(...each.map((e) => e.at)) - since, sweepMs: Math.max(...each.map((e) => e.sweepMs)) };
}

/** Bytes (keys + values) put under the cluster's prefix, counted from a watch. */
class PutCounter {
  bytes = 0;
  puts = 0;
  private watcher: Watcher | undefined;
  constructor(private readonly client: Etcd3) {}
  async start(prefix: string): Promise<void> {
    this.watcher = await this.client.watch().prefix(prefix).create();
    this.watcher.on('put', (kv: IKeyValue) => {
      this.bytes += kv.key.length + kv.value.length;
      this.puts++;
    });
  }
  async stop(): Promise<void> {
    await this.watcher?.cancel().catch(() => undefined);
  }
}

/**
 * Waits (bounded) until every instance's /readyz says it is ready and its
 * decisions current (connected, every etcd watch live, confirmed by the
 * leader's heartbeat: docs/cluster.md). /readyz, not /v1/status, whose
 * document lists every record set (megabytes at 10,000).
 */
async function clusterFormed(instances: Instance[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    const views = await Promise.all(instances.map(async (inst) => (await api(inst, 'GET', '/readyz').catch((err: Error) => ({ status: 0, body: err.message })))));
    last = views;
    if (views.every((v) => v.status === 200 && v.body?.clusterCurrent === true)) return;
    if (Date.now() > deadline) throw new Error(`cluster not current within ${timeoutMs} ms: ${JSON.stringify(last)}`);
    await sleep(200);
  }
}

const errText = (err: unknown): string => (err instanceof Error ? err.message : String(err)).split('\n')[0]!.slice(0, 600);

async function measureSize(n: number): Promise<{ row: Record<string, string | number>; json: Record<string, unknown> }> {
  const row: Record<string, string | number> = { 'record sets': n };
  const json: Record<string, unknown> = { recordSets: n };
  const dir = mkdtempSync(join(tmpdir(), 'failoverd-bench-cluster-scale-'));
  const etcd = await startEtcd(3);
  const client = new Etcd3({ hosts: etcd.endpoints });
  const counter = new PutCounter(client);
  const ports = { solo: await freePort(), mass: await freePort(), sec: await freePort() };
  const solo = await httpBackend(PRIMARY, ports.solo);
  const mass = await httpBackend(PRIMARY, ports.mass);
  const sec: Backend = await httpBackend(SECONDARY, ports.sec);
  const instances: Instance[] = [];
  try {
    await counter.start('/failoverd/bench-scale/');
    const t0 = performance.now();
    await Promise.all(
      [0, 1, 2].map(async (i) => {
        const d = join(dir, `fo-${i + 1}`);
        mkdirSync(join(d, 'zones'), { recursive: true });
        copyFileSync(EXAMPLE_ZONE, join(d, 'zones', 'example.test.zone'));
        const dnsPort = await freePort();
        const adminPort = await freePort();
        writeFileSync(join(d, 'failoverd.yaml'), config({ n, i, dnsPort, adminPort, etcd, ports }));
        const server = await startProcess(`failoverd fo-${i + 1}`, daemonCommand(join(d, 'failoverd.yaml')), (out) => (/ready (\d+)/.test(out) ? dnsPort : undefined), { pin: false, timeoutMs: 180_000 });
        const poller = new AnswerPoller(dnsPort, 'r0.example.test', 20);
        poller.start();
        instances[i] = { server, dnsPort, adminUrl: `http://127.0.0.1:${adminPort}`, poller };
      }),
    );
    row['start s'] = round((performance.now() - t0) / 1000, 1);
    await clusterFormed(instances, 120_000);
    const first = await allMassOn(instances, n, PRIMARY, performance.now(), 60_000);
    process.stdout.write(`# ${n}: three instances serving every record set ${round((performance.now() - t0) / 1000, 1)} s after start (longest sweep over the names ${Math.round(first.sweepMs)} ms)\n`);
    const all = (want: string, since: number, timeoutMs: number) => Promise.all(instances.map((x) => x.poller.until(want, since, timeoutMs)));

    // One failover, RUNS times; bytes put per failover next to an idle window as long.
    const times: number[] = [];
    const bytes: number[] = [];
    const idle: number[] = [];
    try {
      for (let r = 0; r < RUNS; r++) {
        await all(PRIMARY, performance.now(), 20_000);
        const idleStart = { bytes: counter.bytes, at: performance.now() };
        await sleep(1500 + Math.random() * 1000);
        const idleBytes = counter.bytes - idleStart.bytes;
        const idleMs = performance.now() - idleStart.at;
        const before = counter.bytes;
        const killed = performance.now();
        await solo.kill();
        const at = await all(SECONDARY, killed, 15_000);
        times.push(Math.max(...at) - killed);
        await sleep(500);
        const windowMs = performance.now() - killed;
        bytes.push(counter.bytes - before);
        idle.push((idleBytes * windowMs) / idleMs);
        process.stdout.write(`# ${n}: failover ${r + 1}: all three answer the secondary after ${Math.round(times.at(-1)!)} ms (each: ${at.map((x) => Math.round(x - killed)).join(', ')}); ${counter.bytes - before} bytes put (idle window as long: ${Math.round(idle.at(-1)!)})\n`);
        await solo.revive();
      }
      const s = stats(times);
      row['one failover median ms'] = Math.round(s.median);
      row['min-max ms'] = `${Math.round(s.min)}-${Math.round(s.max)}`;
      row['bytes per failover'] = Math.round(stats(bytes).median);
      row['idle bytes, same window'] = Math.round(stats(idle).median);
      json.oneFailover = { medianMs: round(s.median, 1), minMs: round(s.min, 1), maxMs: round(s.max, 1), runs: times.map(Math.round), bytes, idleBytes: idle.map(Math.round) };
    } catch (err) {
      row['one failover median ms'] = `FAILED: ${errText(err)}`;
      json.oneFailover = { error: errText(err), runs: times.map(Math.round) };
    }

    // Every mass record set fails over together, then back.
    try {
      await all(PRIMARY, performance.now(), 20_000);
      await sleep(1000);
      const before = counter.bytes;
      const killed = performance.now();
      await mass.kill();
      const over = await allMassOn(instances, n, SECONDARY, killed, 60_000);
      const overBytes = counter.bytes - before;
      row['all fail ms'] = Math.round(over.ms);
      row['sweep ms'] = Math.round(over.sweepMs);
      await sleep(1000);
      const revived = performance.now();
      await mass.revive();
      const back = await allMassOn(instances, n, PRIMARY, revived, 60_000);
      row['all fail back ms'] = Math.round(back.ms);
      json.massFailover = { ms: Math.round(over.ms), failbackMs: Math.round(back.ms), sweepMs: Math.round(Math.max(over.sweepMs, back.sweepMs)), bytes: overBytes };
    } catch (err) {
      row['all fail ms'] = `FAILED: ${errText(err)}`;
      json.massFailover = { error: errText(err) };
      await mass.revive();
    }

    // etcd's database after many failover/failback pairs (drain and lift r0's primary).
    if (n === PAIRS_AT && PAIRS > 0) {
      const target = `/v1/targets/${encodeURIComponent(`r0.example.test/A/${PRIMARY}`)}/override`;
      const size0 = Math.max(...(await memberStatus(etcd.endpoints)).map((m) => m.dbSize));
      const p0 = performance.now();
      let pairs = 0;
      try {
        await all(PRIMARY, performance.now(), 20_000);
        for (; pairs < PAIRS && performance.now() - p0 < PAIRS_MAX_MS; pairs++) {
          const drained = await api(instances[0]!, 'POST', target, { state: 'down', reason: 'bench pair' });
          if (drained.status !== 200) throw new Error(`drain answered ${drained.status} ${JSON.stringify(drained.body)}`);
          await instances[0]!.poller.until(SECONDARY, performance.now(), 15_000);
          const lifted = await api(instances[0]!, 'DELETE', target, {});
          if (lifted.status !== 200) throw new Error(`undrain answered ${lifted.status} ${JSON.stringify(lifted.body)}`);
          await instances[0]!.poller.until(PRIMARY, performance.now(), 15_000);
        }
      } catch (err) {
        json.pairsError = errText(err);
      }
      const after = await memberStatus(etcd.endpoints);
      const sizeAfter = Math.max(...after.map((m) => m.dbSize));
      const inUse = Math.max(...after.map((m) => m.dbSizeInUse));
      await compact(etcd.endpoints);
      await defrag(etcd.endpoints);
      const sizeDefrag = Math.max(...(await memberStatus(etcd.endpoints)).map((m) => m.dbSize));
      const mb = (b: number) => round(b / 1024 / 1024, 1);
      row['pairs'] = `${pairs} in ${Math.round((performance.now() - p0) / 1000)} s${json.pairsError ? ` (stopped: ${json.pairsError})` : ''}`;
      row['db MB before / after pairs (in use) / compact+defrag'] = `${mb(size0)} / ${mb(sizeAfter)} (${mb(inUse)}) / ${mb(sizeDefrag)}`;
      json.pairs = { pairs, seconds: Math.round((performance.now() - p0) / 1000), dbBytesBefore: size0, dbBytesAfter: sizeAfter, dbBytesInUseAfter: inUse, dbBytesAfterCompactDefrag: sizeDefrag };
    }
  } catch (err) {
    row['one failover median ms'] ??= `FAILED: ${errText(err)}`;
    json.error = errText(err);
    for (const [i, inst] of instances.entries()) if (inst) process.stdout.write(`# fo-${i + 1} printed: ${inst.server.output().slice(-1500)}\n`);
  } finally {
    for (const inst of instances) inst?.poller.stop();
    await Promise.all(instances.map((inst) => inst?.server.stop()));
    await counter.stop();
    client.close();
    for (const b of [solo, mass, sec]) await b.kill();
    await etcd.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return { row, json };
}

export async function run(): Promise<void> {
  const missing = ['etcd', 'etcdctl'].filter((t) => !hasTool(t));
  if (missing.length) {
    process.stdout.write(`# cluster-scale skipped: ${missing.join(', ')} not installed (Debian packages etcd-server, etcd-client)\n`);
    return;
  }
  const rows: Array<Record<string, string | number>> = [];
  const summary: Record<string, unknown> = {};
  for (const n of SIZES) {
    const { row, json } = await measureSize(n);
    rows.push(row);
    summary[String(n)] = json;
  }
  const keys = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  printTable(
    'Three instances, three etcd members (documented settings), N record sets: one failover (goal < 300 ms), all failing together (goal < 3 s at 10,000), bytes put to etcd per failover (goal: flat in N), db size after failover/failback pairs',
    rows.map((r) => Object.fromEntries(keys.map((k) => [k, r[k] ?? '']))),
  );
  printJson('cluster-scale', summary);
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
