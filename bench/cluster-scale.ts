/**
 * A cluster at scale (issue 21): three failoverd instances on loopback with a
 * `cluster:` section, three etcd members started with the settings
 * docs/cluster.md documents (test/helpers/etcd.ts), and N record sets
 * (1,000 and 10,000). Record set r0 fails over alone (its primary is
 * 127.0.0.1 on the "solo" check's port); r1 .. r(N-1) share one primary
 * (127.0.0.1 on the "mass" check's port); every secondary is 127.0.0.2.
 * Each of r1 .. r(N-1) also has a distinct third, standby target (127.0.0.<a>
 * on one of the ports of a TCP backend farm, probed every 5 minutes: little
 * load), so each instance's vantage report holds N+2 views, as a config of N
 * distinct targets would (at 10,000: about 1.8 MB, the size one key could
 * not hold). The failovers themselves hit shared probe keys, so what they
 * measure is the cluster's decision and vantage data, not the probing of
 * 10,000 targets. The shared checks probe every 1 s (fastInterval 100 ms,
 * fall 2) with a 900 ms timeout: a killed backend refuses at once, and a
 * slow reply on a loaded machine is not taken for a failure. For each N it
 * prints:
 *  - one failover -> all three answer: the solo primary's HTTP backend closed,
 *    until every instance answers r0 with the secondary (each polled every
 *    20 ms over UDP); median of BENCH_SCALE_RUNS (5). Goal < 300 ms;
 *  - all record sets failing together -> all three answer all of them: the
 *    mass primary closed, until each instance serves every r1..r(N-1) with
 *    the secondary: once the last one (polled every 20 ms) does on all
 *    three, each instance is swept over every name between two SOA queries
 *    until one sweep finds them all under one serial; the time is that
 *    serial's first reply to the instance's SOA poller (every 20 ms: a DNS
 *    answer comes from one immutable snapshot, so that snapshot answered
 *    them all from then on; the sweeps' own time, "sweep ms", does not
 *    count); and the failback the same way. Goal < 3 s at 10,000;
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
 * Every figure is printed with the one-minute load average when it was
 * measured (the machine may be shared), and a "Goals" section ends the
 * output: PASS / FAIL / NOT MEASURED per goal. Nothing is asserted (the
 * exit code does not depend on the goals). A measurement that fails
 * (nothing in time) prints why and the bench goes on.
 * Needs etcd and etcdctl (Debian etcd-server, etcd-client).
 * Env: BENCH_SCALE_SIZES (1000,10000), BENCH_SCALE_RUNS (5),
 * BENCH_SCALE_PAIRS (1000), BENCH_SCALE_PAIRS_AT (the size they run at: 1000),
 * BENCH_SCALE_PAIRS_MAX_S (600), BENCH_SCALE_LOG_LEVEL (warn), BENCH_SCALE_LOG_DIR (each
 * instance's whole output written there), BENCH_CPU_PROF_DIR
 * (each daemon's V8 CPU profile).
 */
import { createSocket } from 'node:dgram';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Etcd3, type IKeyValue, type Watcher } from 'etcd3';
import { httpBackend, type Backend } from '../test/helpers/backends.ts';
import { startEtcd, type EtcdCluster } from '../test/helpers/etcd.ts';
import { compact, defrag, memberStatus } from '../test/helpers/etcd-ops.ts';
import { freePort } from '../test/helpers/ports.ts';
import { hasTool } from '../test/helpers/tools.ts';
import { stats } from './failover-time.ts';
import { buildQuery } from '../test/helpers/raw-dns.ts';
import { addressesOf, AnswerPoller, soaSerialOf } from './lib/answer-poller.ts';
import { ADDRESSES, scalePorts, startFarm } from './lib/scale.ts';
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
  /** r0's answer, every 20 ms. */
  poller: AnswerPoller;
  /** The last mass record set's answer, every 20 ms. */
  sentinel: AnswerPoller;
  /** The zone's SOA serial, every 20 ms. */
  serials: AnswerPoller;
}

/** The one-minute load average, for every figure printed (the machine is shared). */
const load = (): number => round(loadavg()[0]!, 1);

/** Farm addresses a standby target uses: 127.0.0.3 and up (.1 and .2 are every record set's primary and secondary). */
const STANDBY_ADDRESSES = ADDRESSES - 2;

/** The distinct standby target of mass record set r (1..n-1): 127.0.0.<a> on one of the farm's ports, a check per port. */
const standby = (r: number): { address: string; check: string } => ({ address: `127.0.0.${((r - 1) % STANDBY_ADDRESSES) + 3}`, check: `idle${Math.floor((r - 1) / STANDBY_ADDRESSES)}` });

function config(o: { n: number; i: number; dnsPort: number; adminPort: number; etcd: EtcdCluster; ports: { solo: number; mass: number; sec: number; idle: number[] } }): string {
  const check = (port: number) => `{ type: http, port: ${port}, interval: 1s, fastInterval: 100ms, timeout: 900ms, rise: 1, fall: 2 }`;
  const lines = [
    `dns: { listen: ["127.0.0.1:${o.dnsPort}"] }`,
    `admin: { listen: "127.0.0.1:${o.adminPort}", token: ${TOKEN} }`,
    'zones: zones',
    `log: { level: ${process.env.BENCH_SCALE_LOG_LEVEL ?? 'warn'} }`,
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
    ...o.ports.idle.map((port, k) => `  idle${k}: { type: tcp, port: ${port}, interval: 5m, fastInterval: 1s, timeout: 1s, rise: 1, fall: 2 }`),
    'records:',
  ];
  for (let r = 0; r < o.n; r++) {
    const third = r === 0 ? '' : `, { address: ${standby(r).address}, check: ${standby(r).check} }`;
    lines.push(`  - { name: r${r}.example.test, type: A, ttl: 30, targets: [{ address: ${PRIMARY}, check: ${r === 0 ? 'solo' : 'mass'} }, { address: ${SECONDARY}, check: sec }${third}] }`);
  }
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

/** One SOA query for the zone on `port`: its serial (as a string), or '' after 1 s without a reply. */
function soaSerial(port: number): Promise<string> {
  return new Promise((resolve) => {
    const sock = createSocket('udp4');
    const done = (serial: string): void => {
      clearTimeout(timer);
      sock.close();
      resolve(serial);
    };
    const timer = setTimeout(() => done(''), 1000);
    sock.on('message', (msg) => {
      try {
        done(soaSerialOf(msg));
      } catch {
        done('');
      }
    });
    sock.send(buildQuery('example.test', 6, { id: 4242 }), port, '127.0.0.1');
  });
}

/**
 * Asks `port` for every name over UDP once (256 queries in flight; one
 * unanswered after 500 ms is asked again, up to 3 times): how many answered
 * `address`, what the replies answered, and how long it took.
 */
async function sweep(port: number, names: string[], address: string): Promise<{ answering: number; seen: Record<string, number>; ms: number }> {
  const sock = createSocket('udp4');
  const seen = new Map<string, number>();
  let answering = 0;
  let id = 0;
  const inflight = new Map<number, (answer: string | undefined) => void>();
  sock.on('message', (msg) => {
    const done = inflight.get(msg.readUInt16BE(0));
    if (!done) return;
    inflight.delete(msg.readUInt16BE(0));
    let answer = '';
    try {
      answer = addressesOf(msg);
    } catch {
      answer = 'unparseable';
    }
    done(answer);
  });
  const ask = (name: string): Promise<string | undefined> =>
    new Promise((resolve) => {
      id = (id + 1) & 0xffff;
      const qid = id;
      const timer = setTimeout(() => {
        inflight.delete(qid);
        resolve(undefined);
      }, 500);
      inflight.set(qid, (answer) => (clearTimeout(timer), resolve(answer)));
      sock.send(buildQuery(name, 1, { id: qid }), port, '127.0.0.1');
    });
  const t0 = performance.now();
  try {
    for (let i = 0; i < names.length; i += 256) {
      await Promise.all(
        names.slice(i, i + 256).map(async (name) => {
          let answer: string | undefined;
          for (let attempt = 0; attempt < 3 && answer === undefined; attempt++) answer = await ask(name);
          const a = answer ?? 'no reply';
          seen.set(a, (seen.get(a) ?? 0) + 1);
          if (a === address) answering++;
        }),
      );
    }
    return { answering, seen: Object.fromEntries(seen), ms: performance.now() - t0 };
  } finally {
    sock.close();
  }
}

/**
 * When `inst` began to serve every name with `address`: sweeps over every
 * name between two SOA queries until one sweep finds them all answering
 * `address` under one serial (a DNS answer comes from one immutable
 * snapshot, one serial: the snapshot that answers them all in the sweep
 * answered them all from its first reply on); that serial's first reply to
 * the instance's SOA poller (every 20 ms) is the time. The sweeps' own
 * duration does not count.
 */
async function servedWhole(inst: Instance, names: string[], address: string, since: number, timeoutMs: number): Promise<{ at: number; sweepMs: number; serial: string }> {
  let last = '';
  let sweepMs = 0;
  for (let attempt = 0; attempt < 50; attempt++) {
    const before = await soaSerial(inst.dnsPort);
    const s = await sweep(inst.dnsPort, names, address);
    const after = await soaSerial(inst.dnsPort);
    sweepMs = Math.max(sweepMs, s.ms);
    if (s.answering === names.length && before === after && before !== '') {
      const at = inst.serials.firstSeen(before, since);
      if (at !== undefined) return { at, sweepMs, serial: before };
      last = `serial ${before} never seen by the SOA poller since the start`;
    } else last = `${s.answering} of ${names.length} names answering ${address} (replies: ${JSON.stringify(s.seen)}; serial ${before} before the sweep, ${after} after)`;
    if (performance.now() - since > timeoutMs) break;
    await sleep(50);
  }
  throw new Error(`port ${inst.dnsPort}: not every name answering ${address} within ${timeoutMs} ms: ${last}`);
}

/**
 * Until every instance answers every mass record set (r1..r(n-1)) with
 * `address`: waits for the last one (r(n-1), polled every 20 ms) on every
 * instance, then checks each instance whole (servedWhole). ms from `since`
 * to the last instance's serial serving them all.
 */
async function allMassOn(instances: Instance[], n: number, address: string, since: number, timeoutMs: number): Promise<{ ms: number; sweepMs: number; each: number[] }> {
  const names = Array.from({ length: n - 1 }, (_, i) => `r${i + 1}.example.test`);
  await Promise.all(instances.map((inst) => inst.sentinel.until(address, since, timeoutMs)));
  const each = [];
  for (const inst of instances) each.push(await servedWhole(inst, names, address, since, timeoutMs));
  return { ms: Math.max(...each.map((e) => e.at)) - since, sweepMs: Math.max(...each.map((e) => e.sweepMs)), each: each.map((e) => Math.round(e.at - since)) };
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
  const ports = { solo: await freePort(), mass: await freePort(), sec: await freePort(), idle: await scalePorts(Math.ceil((n - 1) / STANDBY_ADDRESSES) * ADDRESSES) };
  // Every mass record set's standby target on the farm: n-1 distinct probe keys, so each vantage report holds n+2 views (probed every 5 min: little load).
  const farm = await startFarm('tcp', ports.idle);
  row['load'] = load();
  json.loadAtStart = load();
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
        const sentinel = new AnswerPoller(dnsPort, `r${n - 1}.example.test`, 20);
        const serials = new AnswerPoller(dnsPort, 'example.test', 20, '127.0.0.1', { type: 6, read: soaSerialOf });
        for (const p of [poller, sentinel, serials]) p.start();
        instances[i] = { server, dnsPort, adminUrl: `http://127.0.0.1:${adminPort}`, poller, sentinel, serials };
      }),
    );
    row['start s'] = round((performance.now() - t0) / 1000, 1);
    await clusterFormed(instances, 120_000);
    const first = await allMassOn(instances, n, PRIMARY, performance.now(), 60_000);
    process.stdout.write(`# ${n}: three instances serving every record set ${round((performance.now() - t0) / 1000, 1)} s after start (longest sweep over the names ${Math.round(first.sweepMs)} ms); load ${load()}\n`);
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
        const putsBefore = counter.puts;
        const killed = performance.now();
        const killedAt = new Date().toISOString();
        await solo.kill();
        const at = await all(SECONDARY, killed, 15_000);
        times.push(Math.max(...at) - killed);
        await sleep(500);
        const windowMs = performance.now() - killed;
        bytes.push(counter.bytes - before);
        idle.push((idleBytes * windowMs) / idleMs);
        process.stdout.write(`# ${n}: failover ${r + 1} (killed at ${killedAt}): all three answer the secondary after ${Math.round(times.at(-1)!)} ms (each: ${at.map((x) => Math.round(x - killed)).join(', ')}); ${counter.bytes - before} bytes in ${counter.puts - putsBefore} puts (idle window as long: ${Math.round(idle.at(-1)!)} bytes); load ${load()}\n`);
        await solo.revive();
      }
      const s = stats(times);
      row['one failover median ms'] = Math.round(s.median);
      row['min-max ms'] = `${Math.round(s.min)}-${Math.round(s.max)}`;
      row['bytes per failover'] = Math.round(stats(bytes).median);
      row['load after failovers'] = load();
      row['idle bytes, same window'] = Math.round(stats(idle).median);
      json.oneFailover = { medianMs: round(s.median, 1), minMs: round(s.min, 1), maxMs: round(s.max, 1), runs: times.map(Math.round), bytes, bytesMedian: Math.round(stats(bytes).median), idleBytes: idle.map(Math.round), load: load() };
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
      const overLoad = load();
      process.stdout.write(`# ${n}: all fail: every instance serves all ${n - 1} on the secondary after ${over.each.join(', ')} ms; ${overBytes} bytes put; load ${overLoad}\n`);
      row['all fail ms'] = Math.round(over.ms);
      row['sweep ms'] = Math.round(over.sweepMs);
      await sleep(1000);
      const revived = performance.now();
      await mass.revive();
      const back = await allMassOn(instances, n, PRIMARY, revived, 60_000);
      process.stdout.write(`# ${n}: all fail back: every instance serves all ${n - 1} on the primary after ${back.each.join(', ')} ms; load ${load()}\n`);
      row['all fail back ms'] = Math.round(back.ms);
      row['load after all fail'] = overLoad;
      json.massFailover = { ms: Math.round(over.ms), each: over.each, failbackMs: Math.round(back.ms), failbackEach: back.each, sweepMs: Math.round(Math.max(over.sweepMs, back.sweepMs)), bytes: overBytes, load: overLoad };
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
      row['load after pairs'] = load();
      json.pairs = { load: load(), pairs, seconds: Math.round((performance.now() - p0) / 1000), dbBytesBefore: size0, dbBytesAfter: sizeAfter, dbBytesInUseAfter: inUse, dbBytesAfterCompactDefrag: sizeDefrag };
    }
  } catch (err) {
    row['one failover median ms'] ??= `FAILED: ${errText(err)}`;
    json.error = errText(err);
    process.stdout.write(`# ${n}: ${err instanceof Error ? err.message : String(err)}\n`.replace(/\n(?!$)/g, '\n#   '));
    for (const [i, inst] of instances.entries()) if (inst) process.stdout.write(`# fo-${i + 1} printed: ${inst.server.output().slice(-1500)}\n`);
  } finally {
    // BENCH_SCALE_LOG_DIR: every instance's whole output, to see where the time went (with BENCH_SCALE_LOG_LEVEL=info: each hop is a log line).
    if (process.env.BENCH_SCALE_LOG_DIR) for (const [i, inst] of instances.entries()) if (inst) writeFileSync(join(process.env.BENCH_SCALE_LOG_DIR, `${n}-fo-${i + 1}.log`), inst.server.output());
    for (const inst of instances) for (const p of inst ? [inst.poller, inst.sentinel, inst.serials] : []) p.stop();
    await Promise.all(instances.map((inst) => inst?.server.stop()));
    await counter.stop();
    client.close();
    for (const b of [solo, mass, sec]) await b.kill();
    await farm.stop();
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
  const goals = goalLines(summary);
  process.stdout.write(`\n## Goals (issue 21)\n${goals.join('\n')}\n\n`);
  printJson('cluster-scale', { ...summary, goals });
}

type SizeSummary = { oneFailover?: { medianMs?: number; bytesMedian?: number; load?: number; error?: string }; massFailover?: { ms?: number; load?: number; error?: string }; pairs?: { pairs: number; dbBytesAfter: number; dbBytesInUseAfter: number; load: number } };

/** One line per goal: PASS, FAIL or NOT MEASURED, with the figures and the load average each was measured at. */
export function goalLines(summary: Record<string, unknown>): string[] {
  const sizes = Object.keys(summary)
    .map(Number)
    .sort((a, b) => a - b);
  const at = (n: number) => summary[String(n)] as SizeSummary;
  const verdict = (ok: boolean | undefined) => (ok === undefined ? 'NOT MEASURED' : ok ? 'PASS' : 'FAIL');
  const lines: string[] = [];
  for (const n of sizes) {
    const o = at(n).oneFailover;
    const ms = o?.medianMs;
    lines.push(`${verdict(ms === undefined ? undefined : ms < 300)}  one failover -> all three answer, ${n} record sets: median ${ms ?? o?.error ?? '-'} ms (goal < 300; load ${o?.load ?? '-'})`);
  }
  for (const n of sizes) {
    const m = at(n).massFailover;
    const goal = n >= 10_000;
    const ok = m?.ms === undefined ? undefined : m.ms < 3000;
    lines.push(`${goal ? verdict(ok) : 'INFO'}  all ${n - 1} failing together -> all three answer all of them: ${m?.ms ?? m?.error ?? '-'} ms (goal < 3000 at 10,000; load ${m?.load ?? '-'})`);
  }
  const bytes = sizes.map((n) => [n, at(n).oneFailover?.bytesMedian] as const).filter((x): x is readonly [number, number] => x[1] !== undefined);
  if (bytes.length >= 2) {
    const [small, large] = [bytes[0]!, bytes.at(-1)!];
    const ratio = large[1] / small[1];
    lines.push(`${verdict(ratio <= 1.25)}  bytes put to etcd per single failover: ${bytes.map(([n, b]) => `${b} at ${n}`).join(', ')} (ratio ${round(ratio, 2)}; goal: does not grow with the record sets, at most 1.25x)`);
  } else lines.push(`NOT MEASURED  bytes put to etcd per single failover: needs two sizes (${bytes.map(([n, b]) => `${b} at ${n}`).join(', ') || 'none'})`);
  for (const n of sizes) {
    const p = at(n).pairs;
    if (p) lines.push(`FIGURE  etcd db after ${p.pairs} failover/failback pairs at ${n} record sets: ${round(p.dbBytesAfter / 1024 / 1024, 1)} MB (${round(p.dbBytesInUseAfter / 1024 / 1024, 1)} MB in use; documented settings; load ${p.load})`);
  }
  return lines;
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
