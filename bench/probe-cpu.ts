/**
 * CPU for probing 2,000 targets every second: the daemon (pinned to core 0)
 * with 1,000 failover record sets over 2,000 HTTP targets (interval 1s,
 * liveness watch on, as configured by default), against a farm of loopback
 * HTTP backends in another process (core 1). CPU time of the daemon process
 * from /proc over a measuring window after a warm-up; the farm counts the
 * probes it answered, so the rate is checked too.
 *
 * In the same run, against the same farm, on the same core and at the same
 * rate: the reference loop (bench/lib/probe-reference-loop.mjs: a bare
 * net.connect + GET + read-to-close per target and interval). Target
 * (issue 14): failoverd's CPU at most 1.5x the reference loop's. The two
 * windows alternate (reference, daemon, reference, daemon, ...) so a change
 * in the machine's load falls on both; the ratio is of the medians.
 *
 * Env: BENCH_PROBE_TARGETS (2000), BENCH_PROBE_SECONDS (20), BENCH_PROBE_KIND (http|tcp),
 * BENCH_PROBE_ROUNDS (2), BENCH_PROBE_REUSE (1: checks with reuse: true).
 */
import { join } from 'node:path';
import { cpuMs, memoryMb } from './lib/proc.ts';
import { ADDRESSES, farmCount, scaleBody, scalePorts, startFarm } from './lib/scale.ts';
import { startFailoverd, startProcess, ROOT, type RunningServer } from './lib/servers.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { printJson, printTable, round } from './lib/table.ts';

const TARGETS = Number(process.env.BENCH_PROBE_TARGETS ?? 2000);
const SECONDS = Number(process.env.BENCH_PROBE_SECONDS ?? 20);
const KIND = (process.env.BENCH_PROBE_KIND ?? 'http') as 'http' | 'tcp';
const ROUNDS = Number(process.env.BENCH_PROBE_ROUNDS ?? 2);
const REUSE = process.env.BENCH_PROBE_REUSE === '1';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Window {
  cpuPct: number;
  probesPerSec: number;
  rssMb: number;
}

/** CPU of `proc` and the farm's count over SECONDS, after a warm-up. */
async function measure(proc: RunningServer, farm: RunningServer, warmupMs: number): Promise<Window> {
  await sleep(warmupMs);
  const c0 = cpuMs(proc.pid)!;
  const n0 = farmCount(farm);
  const t0 = performance.now();
  await sleep(SECONDS * 1000);
  const c1 = cpuMs(proc.pid)!;
  const n1 = farmCount(farm);
  const wall = performance.now() - t0;
  return { cpuPct: ((c1 - c0) / wall) * 100, probesPerSec: ((n1 - n0) / wall) * 1000, rssMb: memoryMb(proc.pid)?.rss ?? NaN };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

export async function run(): Promise<void> {
  const o = { targets: TARGETS, recordSets: TARGETS / 2, kind: KIND, interval: '1s', watch: true };
  const ports = await scalePorts(TARGETS);
  const farm = await startFarm(KIND, ports);
  const dir = mkdtempSync(join(tmpdir(), 'failoverd-bench-probe-'));
  const ref: Window[] = [];
  const fd: Window[] = [];
  try {
    for (let round = 0; round < ROUNDS; round++) {
      const loop = await startProcess('probe reference loop', [process.execPath, join(ROOT, 'bench', 'lib', 'probe-reference-loop.mjs'), KIND, String(TARGETS), String(ADDRESSES), ports.join(','), '1000'], (out) => (out.includes('ready') ? 0 : undefined));
      try {
        ref.push(await measure(loop, farm, 3000));
      } finally {
        await loop.stop();
      }
      const body = REUSE ? scaleBody(o, ports).replace(/watch: true \}/g, 'watch: true, reuse: true }') : scaleBody(o, ports);
      const daemon = await startFailoverd(join(dir, `r${round}`), { body }, { timeoutMs: 120_000 });
      try {
        fd.push(await measure(daemon, farm, 5000)); // warm-up: first probes, watch connections, JIT
      } finally {
        await daemon.stop();
      }
      process.stdout.write(`# round ${round + 1}: reference loop ${round1(ref[round]!.cpuPct)}% at ${Math.round(ref[round]!.probesPerSec)} probes/s; failoverd ${round1(fd[round]!.cpuPct)}% at ${Math.round(fd[round]!.probesPerSec)} probes/s\n`);
    }
  } finally {
    await farm.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const fdCpu = median(fd.map((w) => w.cpuPct));
  const refCpu = median(ref.map((w) => w.cpuPct));
  const fdRate = median(fd.map((w) => w.probesPerSec));
  const refRate = median(ref.map((w) => w.probesPerSec));
  // Per probe, so a rate difference between the two does not skew the ratio.
  const fdPer = (fdCpu * 10_000) / Math.max(1, fdRate);
  const refPer = (refCpu * 10_000) / Math.max(1, refRate);
  const ratio = fdPer / refPer;
  const rows = [
    { measure: 'targets', failoverd: TARGETS, 'reference loop': TARGETS },
    { measure: 'probe kind', failoverd: KIND + (REUSE ? ' (reuse: true)' : ''), 'reference loop': `${KIND}, fresh connection each` },
    { measure: 'probes answered per second (farm count)', failoverd: Math.round(fdRate), 'reference loop': Math.round(refRate) },
    { measure: 'CPU, % of one core (median of rounds)', failoverd: round(fdCpu, 1), 'reference loop': round(refCpu, 1) },
    { measure: 'CPU per probe (µs)', failoverd: Math.round(fdPer), 'reference loop': Math.round(refPer) },
    { measure: 'RSS (MB)', failoverd: round(median(fd.map((w) => w.rssMb)), 1), 'reference loop': round(median(ref.map((w) => w.rssMb)), 1) },
    { measure: 'target: failoverd ≤ 1.5x the reference loop (per probe)', failoverd: `${round(ratio, 2)}x`, 'reference loop': ratio <= 1.5 ? 'holds' : 'NOT MET' },
  ];
  printTable(`Probing ${TARGETS} targets every second (${SECONDS}s windows, ${ROUNDS} rounds alternating; both on core 0, backends on core 1)`, rows);
  printJson('probe-cpu', { targets: TARGETS, kind: KIND, reuse: REUSE, seconds: SECONDS, rounds: ROUNDS, probesPerSec: Math.round(fdRate), cpuPercent: round(fdCpu, 1), referenceCpuPercent: round(refCpu, 1), referenceProbesPerSec: Math.round(refRate), ratio: round(ratio, 2), rssMb: round(median(fd.map((w) => w.rssMb)), 1), holds: ratio <= 1.5, perRound: { failoverd: fd, reference: ref } });
}

function round1(v: number): number {
  return Math.round(v * 10) / 10;
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
