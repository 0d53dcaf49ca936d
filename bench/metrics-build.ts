/**
 * /metrics built in-process at scale, no sockets: the admin-load bench's
 * shape (BENCH_METRICS_SETS record sets of two targets each, as many probed
 * targets, 40 checks of 250 addresses, every target probed a few times) and
 * the same Metrics class the daemon scrapes. Prints the lines, bytes and
 * time of one scrape, its slices (the event loop turns between them) and the
 * longest one, so the cost of the exposition can be read apart from a busy
 * machine's scheduling (admin-load measures the daemon as a whole).
 *
 * Env: BENCH_METRICS_SETS (10000), BENCH_METRICS_SCRAPES (5).
 */
import { loadavg } from 'node:os';
import { Metrics } from '../src/admin/metrics.ts';
import type { RecordSetDecision } from '../src/failover/decision.ts';
import { printJson, printTable, round } from './lib/table.ts';

const SETS = Number(process.env.BENCH_METRICS_SETS ?? 10_000);
const SCRAPES = Number(process.env.BENCH_METRICS_SCRAPES ?? 5);
const ADDRESSES = 250;

const probeKey = (t: number): string => `p${Math.floor(t / ADDRESSES)}@127.0.0.${(t % ADDRESSES) + 1}`;

function decisions(): RecordSetDecision[] {
  return Array.from({ length: SETS }, (_, i) => {
    const key = `r${i}.example.test/A`;
    const ids = [i, (i + 1) % SETS].map((t) => `${key}/127.0.0.${(t % ADDRESSES) + 1}`);
    return {
      key,
      name: `r${i}.example.test`,
      type: 'A',
      policy: 'failover',
      answer: { kind: 'values', values: ['127.0.0.1'], ttl: 30 },
      targets: ids.map((id, n) => ({ id, address: id.split('/')[2]!, role: n ? 'secondary' : 'primary', health: 'UP', realHealth: 'UP', since: 0, overridden: false, why: 'probes: UP', answered: n === 0 })),
      state: { answer: { kind: 'targets', targetIds: [ids[0]], ttl: 30 }, since: 1_700_000_000_000, reason: 'start', degraded: false, allDown: false },
      version: 1,
    } as unknown as RecordSetDecision;
  });
}

export async function run(): Promise<void> {
  const ds = decisions();
  const keys = Array.from({ length: SETS }, (_, t) => probeKey(t));
  const m = new Metrics({ decisions: () => ds, ready: () => true, snapshot: () => undefined, maintenance: () => [], notifyQueue: () => 0, now: () => 0, probeKeys: () => keys });
  for (let round_ = 0; round_ < 3; round_++) for (const k of keys) m.probe(k, { ok: true, latencyMs: 0.4 + (round_ % 3), reason: 'ok' } as never);
  const rows: Array<Record<string, string | number>> = [];
  const runs: Array<{ ms: number; cpuMs: number; bytes: number; lines: number; slices: number; longestSliceMs: number }> = [];
  for (let s = 0; s < SCRAPES; s++) {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    let last = t0;
    let longest = 0;
    let slices = 0;
    let bytes = 0;
    let lines = 0;
    for await (const chunk of m.chunks()) {
      const now = performance.now();
      longest = Math.max(longest, now - last);
      slices++;
      bytes += Buffer.byteLength(chunk);
      for (let i = chunk.indexOf('\n'); i >= 0; i = chunk.indexOf('\n', i + 1)) lines++;
      await new Promise<void>((r) => setImmediate(r));
      last = performance.now();
    }
    const cpu = process.cpuUsage(cpu0);
    runs.push({ ms: performance.now() - t0, cpuMs: (cpu.user + cpu.system) / 1000, bytes, lines, slices, longestSliceMs: longest });
  }
  // The least CPU of the scrapes: on a shared machine wall time mostly says how busy the others are.
  const best = runs.reduce((a, b) => (b.cpuMs < a.cpuMs ? b : a));
  const load = loadavg().map((x) => x.toFixed(2)).join(' ');
  rows.push({ what: `one scrape at ${SETS} record sets (best of ${SCRAPES})`, value: `${best.lines} lines, ${best.bytes} bytes, ${round(best.cpuMs, 1)} ms CPU (${round(best.ms, 1)} ms wall) in ${best.slices} chunks, longest ${round(best.longestSliceMs, 1)} ms wall; load ${load}` });
  printTable(`/metrics built in-process (no sockets)`, rows);
  printJson('metrics-build', { sets: SETS, lines: best.lines, bytes: best.bytes, cpuMs: round(best.cpuMs, 1), ms: round(best.ms, 1), chunks: best.slices, longestChunkMs: round(best.longestSliceMs, 1), loadavg: load });
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
