/**
 * Cluster failover time (issue 12, check 3): three failoverd instances with a
 * `cluster:` section, each in its own network namespace (test/helpers/netns.ts),
 * three etcd members, the primary and secondary backends as processes in
 * their own namespace. Each run kills the primary's process (SIGKILL) at a
 * random moment of the probe cycle and measures until every instance has
 * answered the secondary (each polled every 20 ms over UDP across the lab);
 * the primary is then started again and every instance must answer it again
 * before the next run. For comparison, the same with one instance and no
 * cluster (in a namespace too, so the network path is the same).
 * Checks as in failover-time: interval 1s, fastInterval 100ms, timeout 500ms,
 * rise 1, fall 2. Goal: cluster median under 300 ms.
 *
 * Needs root and ip (iproute2), and etcd for the cluster figure; without
 * them it prints why and measures what it can.
 * Env: BENCH_CLUSTER_RUNS (11).
 */
import { mkdirSync, mkdtempSync, copyFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEtcd, type EtcdCluster } from '../test/helpers/etcd.ts';
import { createNetnsLab, inNamespace, netnsMissing, startBackend, type NetnsLab } from '../test/helpers/netns.ts';
import { hasTool } from '../test/helpers/tools.ts';
import { AnswerPoller } from './lib/answer-poller.ts';
import { stats } from './failover-time.ts';
import { EXAMPLE_ZONE } from './lib/paths.ts';
import { daemonCommand } from './lib/runtime.ts';
import { startProcess, type RunningServer } from './lib/servers.ts';
import { printJson, printTable, round } from './lib/table.ts';

const RUNS = Number(process.env.BENCH_CLUSTER_RUNS ?? 11);
const BACKEND_PORT = 8080;
const DNS_PORT = 5353;
const ADMIN_PORT = 8053;
const TOKEN = 'bench-token-0123456789';
const GOAL_MS = 300;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function config(lab: NetnsLab, i: number, etcd: EtcdCluster | undefined): string {
  const cluster = etcd
    ? `cluster:
  name: bench-${lab.run}
  instance: fo-${i + 1}
  etcd: { endpoints: ${JSON.stringify(etcd.endpoints)} }
  quorum: majority
  leaseTtl: 3s
`
    : '';
  return `dns: { listen: ["${lab.instances[i]!.address}:${DNS_PORT}"] }
admin: { listen: "${lab.instances[i]!.address}:${ADMIN_PORT}", token: ${TOKEN} }
zones: zones
log: { level: warn }
startupTimeout: 5s
${cluster}checks:
  web: { type: http, port: ${BACKEND_PORT}, path: /healthz, expect: { status: ["200-299"], body: ok }, interval: 1s, fastInterval: 100ms, timeout: 500ms, rise: 1, fall: 2 }
records:
  - name: www.example.test
    type: A
    ttl: 30
    targets: [{ address: ${lab.primary}, check: web }, { address: ${lab.secondary}, check: web }]
`;
}

/** Waits (bounded) until every instance's /v1/status shows it connected to etcd, with a leader and three vantage points. */
async function clusterFormed(lab: NetnsLab): Promise<void> {
  const deadline = Date.now() + 20_000;
  let last: unknown;
  for (;;) {
    const views = await Promise.all(
      lab.instances.map(async (ns) => {
        const r = await fetch(`http://${ns.address}:${ADMIN_PORT}/v1/status`, { headers: { authorization: `Bearer ${TOKEN}` }, signal: AbortSignal.timeout(2000) }).catch(() => undefined);
        return r?.ok ? ((await r.json()) as { cluster?: { connected: boolean; leader: string | null; vantagePoints: unknown[] } | null }).cluster : undefined;
      }),
    );
    last = views;
    if (views.some((c) => c === null)) throw new Error('the daemon ran without cluster mode (no cluster section in /v1/status)');
    if (views.every((c) => c?.connected && c.leader && c.vantagePoints.length === 3)) return;
    if (Date.now() > deadline) throw new Error(`cluster not formed within 20 s: ${JSON.stringify(last)}`);
    await sleep(100);
  }
}

/** Failover times (ms) of `instances` failoverd processes over RUNS runs: kill → every instance answers the secondary. */
async function measure(mode: 'cluster' | 'single'): Promise<number[]> {
  const n = mode === 'cluster' ? 3 : 1;
  const lab = await createNetnsLab({ instances: n });
  const dir = mkdtempSync(join(tmpdir(), 'failoverd-bench-cluster-'));
  const daemons: RunningServer[] = [];
  const pollers: AnswerPoller[] = [];
  let etcd: EtcdCluster | undefined;
  try {
    const primary = await startBackend(lab, lab.primary, BACKEND_PORT);
    await startBackend(lab, lab.secondary, BACKEND_PORT);
    if (mode === 'cluster') etcd = await startEtcd(3, { host: lab.hub.address, wrap: inNamespace(lab.hub).wrap });
    for (let i = 0; i < n; i++) {
      const d = join(dir, `fo-${i + 1}`);
      mkdirSync(join(d, 'zones'), { recursive: true });
      copyFileSync(EXAMPLE_ZONE, join(d, 'zones', 'example.test.zone'));
      writeFileSync(join(d, 'failoverd.yaml'), config(lab, i, etcd));
      const cmd = [...inNamespace(lab.instances[i]!).wrap, ...daemonCommand(join(d, 'failoverd.yaml'))];
      daemons.push(await startProcess(`failoverd fo-${i + 1}`, cmd, (out) => (/ready (\d+)/.test(out) ? DNS_PORT : undefined), { pin: false, timeoutMs: 60_000 }));
      const p = new AnswerPoller(DNS_PORT, 'www.example.test', 20, lab.instances[i]!.address);
      p.start();
      pollers.push(p);
    }
    if (mode === 'cluster') await clusterFormed(lab);
    const all = (want: string, since: number, timeoutMs: number) => Promise.all(pollers.map((p) => p.until(want, since, timeoutMs)));
    const times: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      await all(lab.primary, performance.now(), 20_000);
      await sleep(1500 + Math.random() * 1000); // settled, then a random moment of the 1 s cycle
      const killed = performance.now();
      await primary.kill();
      const at = await all(lab.secondary, killed, 15_000);
      const each = at.map((x) => Math.round(x - killed));
      times.push(Math.max(...at) - killed);
      process.stdout.write(`# ${mode} run ${run + 1}: all ${n} answer the secondary after ${Math.round(times.at(-1)!)} ms (each: ${each.join(', ')})\n`);
      await primary.revive();
    }
    return times;
  } finally {
    for (const p of pollers) p.stop();
    for (const d of daemons) await d.stop();
    await etcd?.stop();
    await lab.remove();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function run(): Promise<void> {
  const missing = netnsMissing();
  if (missing) {
    process.stdout.write(`# cluster-failover skipped: ${missing}\n`);
    return;
  }
  const rows: Array<Record<string, string | number>> = [];
  const summary: Record<string, unknown> = {};
  const modes: Array<'cluster' | 'single'> = hasTool('etcd') ? ['cluster', 'single'] : ['single'];
  if (!hasTool('etcd')) process.stdout.write('# cluster figure skipped: etcd not installed (Debian package etcd-server)\n');
  for (const mode of modes) {
    const times = await measure(mode);
    const s = stats(times);
    rows.push({
      instances: mode === 'cluster' ? '3, cluster (etcd)' : '1, no cluster',
      'median ms': Math.round(s.median),
      'min ms': Math.round(s.min),
      'max ms': Math.round(s.max),
      runs: times.length,
      goal: mode === 'cluster' ? `< ${GOAL_MS} ms: ${s.median < GOAL_MS ? 'holds' : 'NOT MET'}` : '',
    });
    summary[mode] = { median: round(s.median, 1), min: round(s.min, 1), max: round(s.max, 1), runs: times.map((x) => Math.round(x)) };
  }
  printTable('Primary killed -> every instance answers the secondary (network namespaces; interval 1s, fastInterval 100ms, timeout 500ms, rise 1, fall 2; polled every 20 ms over UDP)', rows);
  printJson('cluster-failover', summary);
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
