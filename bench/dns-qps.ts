/**
 * DNS throughput and latency with dnsperf: the reference loop (bare
 * node:dgram answering one cached reply), NSD (if installed) and failoverd,
 * back to back with the same dnsperf settings, the server pinned to core 0
 * and dnsperf to core 1.
 *
 * - failover name: www.example.test A only, as fast as dnsperf can;
 * - mix: 40% the failover name, 15% a static name, 25% NXDOMAIN, 20% NODATA;
 * - latency at a fixed 10k queries/s (-Q 10000).
 * Targets (issue 6): failover name ≥ 0.95x the reference loop and ≥ 0.7x
 * NSD; mix ≥ 0.8x the reference loop (on the failover name); average
 * latency at 10k qps ≤ 0.08 ms.
 *
 * Env: BENCH_SECONDS (per dnsperf run, default 10), BENCH_ROUNDS (default 2;
 * the median round counts), BENCH_WORKERS (failoverd dns.workers, default 1).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { httpBackendsOnOnePort, type Backend } from '../test/helpers/backends.ts';
import { pinningNote } from './lib/cpu.ts';
import { dnsperf, dnsperfMissing, type DnsperfResult } from './lib/dnsperf.ts';
import { startFailoverd, startNsd, startReferenceLoop, type RunningServer } from './lib/servers.ts';
import { printJson, printTable, round } from './lib/table.ts';

export const FAILOVER_NAME = ['www.example.test A'];
/** 20 lines: 8 failover name, 3 static, 5 NXDOMAIN, 4 NODATA, interleaved. */
export const MIX = [
  'www.example.test A', 'static.example.test A', 'nx1.example.test A', 'www.example.test A', 'static.example.test AAAA',
  'www.example.test A', 'nx2.example.test A', 'mx1.example.test AAAA', 'www.example.test A', 'static.example.test A',
  'nx3.example.test A', 'www.example.test A', 'sip.example.test AAAA', 'www.example.test A', 'nx4.example.test A',
  'static.example.test A', 'www.example.test A', 'www.example.test AAAA', 'nx5.example.test A', 'www.example.test A',
];

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const WORKERS = process.env.BENCH_WORKERS ?? '1';

export function failoverBody(port: number): string {
  return `checks:
  web: { type: http, port: ${port}, path: /healthz, interval: 1s, fastInterval: 100ms, timeout: 500ms, rise: 1, fall: 2 }
records:
  - name: www.example.test
    type: A
    ttl: 30
    targets: [{ address: 127.0.0.1, check: web }, { address: 127.0.0.2, check: web }]
`;
}

type Kind = 'failover name' | 'mix' | '10k qps';
interface Row {
  server: string;
  load: Kind;
  qps: number;
  avgMs: number;
  lost: number;
}

export async function run(): Promise<void> {
  const missing = dnsperfMissing();
  if (missing) {
    process.stdout.write(`\n## DNS queries per second\nSKIP: ${missing}\n`);
    printJson('dns-qps', { skipped: missing });
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'failoverd-bench-'));
  let backends: Backend[] = [];
  const rows: Row[][] = [];
  try {
    backends = await httpBackendsOnOnePort(['127.0.0.1', '127.0.0.2']);
    const starters: Array<[string, () => Promise<RunningServer | string>, Kind[]]> = [
      ['reference loop', startReferenceLoop, ['failover name', '10k qps']],
      ['nsd', () => startNsd(dir), ['failover name', 'mix', '10k qps']],
      [`failoverd (workers ${WORKERS})`, () => startFailoverd(join(dir, 'fd'), { body: failoverBody(backends[0]!.port), workers: WORKERS === 'auto' ? 'auto' : Number(WORKERS) }), ['failover name', 'mix', '10k qps']],
    ];
    for (let round = 0; round < ROUNDS; round++) {
      const got: Row[] = [];
      for (const [name, start, loads] of starters) {
        const s = await start();
        if (typeof s === 'string') {
          process.stdout.write(`# ${name}: SKIP: ${s}\n`);
          continue;
        }
        try {
          await dnsperf({ port: s.port, queries: MIX, seconds: 2, dir }); // warm-up (JIT, templates)
          for (const load of loads) {
            const r: DnsperfResult = await dnsperf({ port: s.port, queries: load === 'mix' ? MIX : FAILOVER_NAME, seconds: SECONDS, dir, maxQps: load === '10k qps' ? 10_000 : undefined });
            got.push({ server: name, load, qps: round2(r.qps), avgMs: r.avgLatencyMs, lost: r.lost });
            process.stdout.write(`# round ${round + 1}: ${name}, ${load}: ${Math.round(r.qps)} qps, avg ${r.avgLatencyMs.toFixed(3)} ms, lost ${r.lost}\n`);
          }
        } finally {
          await s.stop();
        }
      }
      rows.push(got);
    }
  } finally {
    for (const b of backends) await b.kill();
    rmSync(dir, { recursive: true, force: true });
  }
  // Per (server, load): the median over rounds; ratios from the same round, median of those.
  const median = (xs: number[]): number => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  };
  const pick = (r: Row[], server: string, load: Kind) => r.find((x) => x.server.startsWith(server) && x.load === load);
  const fdName = `failoverd`;
  const ratios = rows.map((r) => {
    const ref = pick(r, 'reference loop', 'failover name')?.qps ?? NaN;
    const nsd = pick(r, 'nsd', 'failover name')?.qps ?? NaN;
    const fd = pick(r, fdName, 'failover name')?.qps ?? NaN;
    const mix = pick(r, fdName, 'mix')?.qps ?? NaN;
    return { vsRef: fd / ref, vsNsd: fd / nsd, mixVsRef: mix / ref };
  });
  const table: Array<Record<string, string | number>> = [];
  for (const r of rows[0] ?? []) {
    const all = rows.map((x) => pick(x, r.server, r.load)).filter((x): x is Row => !!x);
    table.push({ server: r.server, load: r.load, qps: Math.round(median(all.map((x) => x.qps))), 'avg latency ms': round(median(all.map((x) => x.avgMs)), 4), lost: median(all.map((x) => x.lost)) });
  }
  printTable(`DNS over UDP with dnsperf (${SECONDS}s per run, median of ${ROUNDS} rounds; ${pinningNote()})`, table);
  const vsRef = median(ratios.map((r) => r.vsRef));
  const vsNsd = median(ratios.map((r) => r.vsNsd));
  const mixVsRef = median(ratios.map((r) => r.mixVsRef));
  const lat10k = median(rows.map((r) => pick(r, fdName, '10k qps')?.avgMs ?? NaN));
  const targets = [
    { target: 'failover name ≥ 0.95x reference loop', value: round(vsRef, 3), holds: vsRef >= 0.95 ? 'yes' : 'NO' },
    { target: 'failover name ≥ 0.7x NSD', value: Number.isNaN(vsNsd) ? 'n/a' : round(vsNsd, 3), holds: Number.isNaN(vsNsd) ? 'n/a' : vsNsd >= 0.7 ? 'yes' : 'NO' },
    { target: 'mix ≥ 0.8x reference loop', value: round(mixVsRef, 3), holds: mixVsRef >= 0.8 ? 'yes' : 'NO' },
    { target: 'avg latency at 10k qps ≤ 0.08 ms', value: round(lat10k, 4), holds: lat10k <= 0.08 ? 'yes' : 'NO' },
  ];
  printTable('DNS targets (ratios within each round, median over rounds)', targets);
  printJson('dns-qps', { seconds: SECONDS, rounds: ROUNDS, workers: WORKERS, pinning: pinningNote(), rows: table, ratios: { failoverVsReference: round(vsRef, 3), failoverVsNsd: round(vsNsd, 3), mixVsReference: round(mixVsRef, 3) }, latency10kAvgMs: round(lat10k, 4), perRound: ratios });
}

function round2(v: number): number {
  return Math.round(v * 100) / 100;
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
