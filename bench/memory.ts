/**
 * Resident memory with 10,000 record sets and 10,000 targets: the daemon
 * (core 0) with 10,000 failover record sets over 10,000 TCP targets on
 * loopback (a farm of listeners on core 1), probing every 10 s (so the
 * probes themselves stay far below a core; the structures are what is
 * measured), after every target has a verdict and a warm-up. RSS and peak
 * (VmHWM) from /proc. Target (issue 6): at most 200 MB resident.
 *
 * Env: BENCH_MEM_SETS (10000), BENCH_MEM_TARGETS (10000), BENCH_MEM_SECONDS (20).
 */
import { buildQuery, udpExchange } from '../test/helpers/raw-dns.ts';
import { memoryMb } from './lib/proc.ts';
import { withScaledDaemon } from './lib/scale.ts';
import { printJson, printTable, round } from './lib/table.ts';

const SETS = Number(process.env.BENCH_MEM_SETS ?? 10_000);
const TARGETS = Number(process.env.BENCH_MEM_TARGETS ?? 10_000);
const SECONDS = Number(process.env.BENCH_MEM_SECONDS ?? 45);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function run(): Promise<void> {
  await withScaledDaemon({ targets: TARGETS, recordSets: SETS, kind: 'tcp', interval: '10s', watch: false }, 180_000, async (fd, _farm, startMs) => {
    // Ask every record set once, so each has its templates built, as under real traffic.
    for (let i = 0; i < SETS; i += 50) await Promise.all(Array.from({ length: Math.min(50, SETS - i) }, (_, k) => udpExchange(fd.port, buildQuery(`r${i + k}.example.test`, 1), 2000)));
    const samples: number[] = [];
    for (let s = 0; s < SECONDS; s++) {
      await sleep(1000);
      samples.push(memoryMb(fd.pid)?.rss ?? NaN);
    }
    const mem = memoryMb(fd.pid);
    process.kill(fd.pid, 'SIGUSR2');
    await sleep(300);
    const heap = JSON.parse(/memory (\{.*\})/.exec(fd.output())?.[1] ?? '{}') as { heapUsed?: number; external?: number; arrayBuffers?: number };
    // Steady state: the last third of the window (start-up transients — every
    // first probe at once, the config parse — settle before).
    const rss = Math.max(...samples.slice(Math.floor((samples.length * 2) / 3)));
    process.stdout.write(`# RSS samples (MB, 1/s): ${samples.map((x) => Math.round(x)).join(' ')}\n`);
    const rows = [
      { measure: 'record sets', value: SETS },
      { measure: 'targets', value: TARGETS },
      { measure: 'start until serving (s)', value: round(startMs / 1000, 1) },
      { measure: `RSS, steady: max over the last ${SECONDS - Math.floor((SECONDS * 2) / 3)}s of ${SECONDS}s (MB)`, value: round(rss, 1) },
      { measure: 'RSS, last (MB)', value: round(mem?.rss ?? NaN, 1) },
      { measure: 'peak RSS, VmHWM (MB)', value: round(mem?.peak ?? NaN, 1) },
      { measure: 'V8 heap used (MB)', value: round((heap.heapUsed ?? NaN) / 1e6, 1) },
      { measure: 'external + array buffers (MB)', value: round(((heap.external ?? NaN) + (heap.arrayBuffers ?? 0)) / 1e6, 1) },
      { measure: 'target ≤ 200 MB', value: rss <= 200 ? 'holds' : 'NOT MET' },
    ];
    printTable(`Resident memory: ${SETS} record sets, ${TARGETS} targets (TCP checks every 10s, every record set queried once)`, rows);
    printJson('memory', { recordSets: SETS, targets: TARGETS, rssMb: round(rss, 1), lastRssMb: round(mem?.rss ?? NaN, 1), peakMb: round(mem?.peak ?? NaN, 1), heapUsedMb: round((heap.heapUsed ?? NaN) / 1e6, 1), startSeconds: round(startMs / 1000, 1), holds: rss <= 200 });
  });
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
