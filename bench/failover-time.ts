/**
 * Failover and fail-back times (issue 3), for a killed and for a hung
 * primary: the daemon (core 0) with www.example.test failing over from
 * 127.0.0.1 to 127.0.0.2 (HTTP checks: interval 1s, fastInterval 100ms,
 * timeout 500ms, rise 1, fall 2), the answer polled every 20 ms over UDP.
 * Each run breaks the primary at a random moment of the probe cycle
 * (a random 0-1000 ms wait after the answer settled), measures until the
 * first reply with the secondary, then restores the primary and measures
 * until the first reply with it again.
 * Targets: killed primary median < 150 ms; hung primary median < 1200 ms.
 *
 * Env: BENCH_FAILOVER_RUNS (11).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { httpBackendsOnOnePort, type Backend } from '../test/helpers/backends.ts';
import { AnswerPoller } from './lib/answer-poller.ts';
import { startFailoverd } from './lib/servers.ts';
import { printJson, printTable, round } from './lib/table.ts';

const RUNS = Number(process.env.BENCH_FAILOVER_RUNS ?? 11);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function failoverConfig(port: number): string {
  return `checks:
  web: { type: http, port: ${port}, path: /healthz, expect: { status: ["200-299"], body: ok }, interval: 1s, fastInterval: 100ms, timeout: 500ms, rise: 1, fall: 2 }
records:
  - name: www.example.test
    type: A
    ttl: 30
    targets: [{ address: 127.0.0.1, check: web }, { address: 127.0.0.2, check: web }]
`;
}

export function stats(xs: number[]): { median: number; min: number; max: number } {
  const s = [...xs].sort((a, b) => a - b);
  const median = s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  return { median, min: s[0]!, max: s[s.length - 1]! };
}

export async function run(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'failoverd-bench-failover-'));
  const backends: Backend[] = await httpBackendsOnOnePort(['127.0.0.1', '127.0.0.2']);
  const [primary] = backends as [Backend, Backend];
  const fd = await startFailoverd(dir, { body: failoverConfig(primary.port), logLevel: 'info' });
  const poller = new AnswerPoller(fd.port, 'www.example.test', 20);
  poller.start();
  const results: Record<'killed' | 'hung', { failover: number[]; failback: number[] }> = { killed: { failover: [], failback: [] }, hung: { failover: [], failback: [] } };
  try {
    for (const mode of ['killed', 'hung'] as const) {
      for (let i = 0; i < RUNS; i++) {
        await poller.until('127.0.0.1', performance.now(), 15_000);
        await sleep(1500 + Math.random() * 1000); // settled, then a random moment of the 1 s cycle
        const broken = performance.now();
        if (mode === 'killed') await primary.kill();
        else primary.mode = 'hang';
        const failedOver = await poller.until('127.0.0.2', broken, 15_000);
        results[mode].failover.push(failedOver - broken);
        await sleep(500 + Math.random() * 1000);
        const restored = performance.now();
        if (mode === 'killed') await primary.revive();
        else primary.mode = 'ok';
        const back = await poller.until('127.0.0.1', restored, 15_000);
        results[mode].failback.push(back - restored);
        process.stdout.write(`# ${mode} run ${i + 1}: failover ${Math.round(failedOver - broken)} ms, fail-back ${Math.round(back - restored)} ms\n`);
      }
    }
  } finally {
    poller.stop();
    await fd.stop();
    for (const b of backends) await b.kill();
    rmSync(dir, { recursive: true, force: true });
  }
  const rows: Array<Record<string, string | number>> = [];
  const summary: Record<string, unknown> = {};
  for (const mode of ['killed', 'hung'] as const) {
    for (const what of ['failover', 'failback'] as const) {
      const s = stats(results[mode][what]);
      const target = what === 'failover' ? (mode === 'killed' ? 150 : 1200) : undefined;
      rows.push({ primary: mode, change: what === 'failover' ? 'failover' : 'fail-back', 'median ms': Math.round(s.median), 'min ms': Math.round(s.min), 'max ms': Math.round(s.max), runs: results[mode][what].length, target: target ? `< ${target} ms: ${s.median < target ? 'holds' : 'NOT MET'}` : '' });
      summary[`${mode}_${what}`] = { median: round(s.median, 1), min: round(s.min, 1), max: round(s.max, 1), runs: results[mode][what].map((x) => Math.round(x)) };
    }
  }
  printTable('Failover and fail-back times (interval 1s, fastInterval 100ms, timeout 500ms, rise 1, fall 2; polled every 20 ms over UDP)', rows);
  printJson('failover-time', summary);
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
