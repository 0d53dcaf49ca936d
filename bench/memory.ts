/**
 * Resident memory at scale: the daemon (core 0) with N failover record sets
 * over N TCP targets on loopback (a farm of listeners on core 1), probing
 * every 10 s (so the probes themselves stay far below a core; the
 * structures are what is measured), after every target has a verdict and
 * every record set was queried once. For each N: RSS over the window (the
 * steady figure is the max over its last third; the 5 minutes are
 * shortened to BENCH_MEM_SECONDS, default 45 s), the peak (VmHWM), and,
 * as the reference, the live V8 heap after a full collection. Target
 * (issue 14): at most 200 MB resident at 10,000 record sets.
 *
 * Env: BENCH_MEM_SIZES ("1000,10000"; add 50000 for the large one), BENCH_MEM_SECONDS (45).
 */
import { buildQuery, udpExchange } from '../test/helpers/raw-dns.ts';
import { memoryMb } from './lib/proc.ts';
import { withScaledDaemon } from './lib/scale.ts';
import { printJson, printTable, round } from './lib/table.ts';

const SIZES = (process.env.BENCH_MEM_SIZES ?? '1000,10000').split(',').map(Number);
const SECONDS = Number(process.env.BENCH_MEM_SECONDS ?? 45);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function run(): Promise<void> {
  const rows: Array<Record<string, string | number>> = [];
  const out: Array<Record<string, unknown>> = [];
  for (const n of SIZES) {
    await withScaledDaemon({ targets: n, recordSets: n, kind: 'tcp', interval: '10s', watch: false }, 300_000, async (fd, _farm, startMs) => {
      // Ask every record set once, so each has its templates built, as under real traffic.
      for (let i = 0; i < n; i += 50) await Promise.all(Array.from({ length: Math.min(50, n - i) }, (_, k) => udpExchange(fd.port, buildQuery(`r${i + k}.example.test`, 1), 2000)));
      const samples: number[] = [];
      for (let s = 0; s < SECONDS; s++) {
        await sleep(1000);
        samples.push(memoryMb(fd.pid)?.rss ?? NaN);
      }
      const mem = memoryMb(fd.pid);
      process.kill(fd.pid, 'SIGUSR2');
      await sleep(1000);
      const heap = JSON.parse([...fd.output().matchAll(/memory (\{.*\})/g)].pop()?.[1] ?? '{}') as { heapUsed?: number; heapTotal?: number; external?: number; arrayBuffers?: number };
      const rss = Math.max(...samples.slice(Math.floor((samples.length * 2) / 3)));
      process.stdout.write(`# ${n} record sets: RSS samples (MB, 1/s): ${samples.map((x) => Math.round(x)).join(' ')}\n`);
      const live = (heap.heapUsed ?? NaN) / 1e6;
      rows.push({
        'record sets / targets': n,
        'start until serving s': round(startMs / 1000, 1),
        'RSS steady MB': round(rss, 1),
        'peak RSS MB': round(mem?.peak ?? NaN, 1),
        'live heap after GC MB (reference)': round(live, 1),
        'heap committed MB': round((heap.heapTotal ?? NaN) / 1e6, 1),
        'external MB': round((heap.external ?? NaN) / 1e6, 1),
        target: n === 10_000 ? (rss <= 200 ? '≤ 200 MB: holds' : '≤ 200 MB: NOT MET') : '',
      });
      out.push({ recordSets: n, rssMb: round(rss, 1), peakMb: round(mem?.peak ?? NaN, 1), liveHeapMb: round(live, 1), heapTotalMb: round((heap.heapTotal ?? NaN) / 1e6, 1), startSeconds: round(startMs / 1000, 1) });
    });
  }
  printTable(`Resident memory (N record sets over N TCP targets, checks every 10s, each record set queried once; ${SECONDS}s window)`, rows);
  printJson('memory', { seconds: SECONDS, sizes: out, holds: out.every((o) => o.recordSets !== 10_000 || (o.rssMb as number) <= 200) });
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
