/**
 * npm run bench: every benchmark in turn, each printing a table and one
 * JSON line ("BENCH {...}"). Runs on loopback only (127.0.0.x). Nothing here
 * runs in CI; dnsperf and nsd are optional (skipped with the reason printed).
 *
 * Usage: npm run bench [-- name ...]   names: dns-qps topology-qps failover-under-load
 *        failover-time snapshot-swap probe-cpu metrics-build memory (default: all of these)
 *        node-versions (only when named: dns-qps and probe-cpu again on each
 *        supported Node.js release, side by side)
 *        cluster-failover (only when named: three instances in network
 *        namespaces, needs root)
 *        cluster-scale (only when named: three instances and etcd at 1,000
 *        and 10,000 record sets; takes several minutes)
 *        admin-load (only when named: 10,000 record sets, the admin API
 *        under load, DNS latency)
 *        rfc2136 (only when named: Knot, BIND and PowerDNS updated by
 *        RFC 2136 UPDATE; needs knotd, named, pdns_server, sqlite3, dig)
 */
import { cpus, loadavg } from 'node:os';
import { CORES } from './lib/cpu.ts';
import { runtime } from './lib/runtime.ts';

const benches: Record<string, () => Promise<{ run(): Promise<void> }>> = {
  'dns-qps': () => import('./dns-qps.ts'),
  'topology-qps': () => import('./topology-qps.ts'),
  'failover-under-load': () => import('./failover-under-load.ts'),
  'failover-time': () => import('./failover-time.ts'),
  'snapshot-swap': () => import('./snapshot-swap.ts'),
  'probe-cpu': () => import('./probe-cpu.ts'),
  'dns-stall': () => import('./dns-stall.ts'),
  'admin-load': () => import('./admin-load.ts'),
  'metrics-build': () => import('./metrics-build.ts'),
  memory: () => import('./memory.ts'),
  'node-versions': () => import('./node-versions.ts'),
  'cluster-failover': () => import('./cluster-failover.ts'),
  'cluster-scale': () => import('./cluster-scale.ts'),
  rfc2136: () => import('./rfc2136.ts'),
};
/** Run only when named: node-versions runs other benches again on each Node.js release; cluster-failover needs root (network namespaces); cluster-scale and admin-load take minutes; rfc2136 needs three DNS servers installed. */
const ON_REQUEST = new Set(['node-versions', 'cluster-failover', 'cluster-scale', 'admin-load', 'rfc2136']);

const wanted = process.argv.slice(2).filter((a) => a !== '--');
const unknown = wanted.filter((w) => !benches[w]);
if (unknown.length) {
  process.stderr.write(`unknown bench: ${unknown.join(', ')} (known: ${Object.keys(benches).join(', ')})\n`);
  process.exit(2);
}
const machine = { cores: CORES, cpu: cpus()[0]?.model ?? 'unknown', node: process.version, loadavg: loadavg().map((x) => Math.round(x * 100) / 100), daemon: runtime().note };
process.stdout.write(`# failoverd benchmarks: ${machine.cores} cores, ${machine.cpu}, node ${machine.node}, load average ${machine.loadavg.join(' ')}; daemon: ${machine.daemon}\n`);
process.stdout.write(`BENCH ${JSON.stringify({ bench: 'machine', ...machine })}\n`);
let failed = 0;
for (const name of wanted.length ? wanted : Object.keys(benches).filter((b) => !ON_REQUEST.has(b))) {
  const started = Date.now();
  process.stdout.write(`\n# --- ${name} ---\n`);
  try {
    await (await benches[name]!()).run();
  } catch (err) {
    failed++;
    process.stdout.write(`# ${name} FAILED: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  }
  process.stdout.write(`# ${name}: ${Math.round((Date.now() - started) / 1000)} s, load average now ${loadavg().map((x) => x.toFixed(2)).join(' ')}\n`);
}
process.exitCode = failed ? 1 : 0;
