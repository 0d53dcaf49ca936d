/**
 * What an answer change costs on the serving side: building the snapshot,
 * swapping it in (templates are built lazily, so the swap itself is O(1)),
 * the first query of a key after a swap, and with dns.workers = 2 the time
 * until every worker answers from the new snapshot (pushed over IPC and
 * acknowledged). Measured for the example zone with one dynamic record set
 * and for 10,000 dynamic record sets. Target (issues 6, 14): a change
 * reaches every worker within 10 ms of the decision (build + swap + push
 * until the last worker acknowledged). The first swap of each size (a whole
 * snapshot to the workers) is a warm-up and not counted.
 *
 * Env: BENCH_SWAPS (20 per size).
 */
import { DnsServer } from '../src/dns/server.ts';
import { silentLogger } from '../src/log.ts';
import { buildSnapshot, type DynamicRRset, type Snapshot } from '../src/records/snapshot.ts';
import { exampleZone } from '../test/helpers/dns-fixture.ts';
import { buildQuery } from '../test/helpers/raw-dns.ts';
import { stats } from './failover-time.ts';
import { printJson, printTable, round } from './lib/table.ts';
import { systemClock } from '../src/clock.ts';

const SWAPS = Number(process.env.BENCH_SWAPS ?? 20);

function dynamic(n: number, flip: boolean): DynamicRRset[] {
  return Array.from({ length: n }, (_, i) => ({ name: i === 0 ? 'www.example.test' : `r${i}.example.test`, type: 'A' as const, ttl: 30, kind: 'values' as const, values: [i === 0 && flip ? '127.0.0.2' : '127.0.0.1'] }));
}

export async function run(): Promise<void> {
  const zones = [exampleZone()];
  const rows: Array<Record<string, string | number>> = [];
  const out: Record<string, unknown> = {};
  const server = new DnsServer({ clock: systemClock, listen: [{ host: '127.0.0.1', port: 0 }], logger: silentLogger, workers: 2 });
  server.setSnapshot(buildSnapshot(zones, dynamic(1, false)));
  await server.start();
  const pool = server.workerPool!;
  await pool.settled();
  try {
    for (const n of [1, 10_000]) {
      const build: number[] = [];
      const swap: number[] = [];
      const first: number[] = [];
      const push: number[] = [];
      const total: number[] = [];
      let snap: Snapshot = buildSnapshot(zones, dynamic(n, false));
      const local = new DnsServer({ clock: systemClock, listen: [], logger: silentLogger });
      const q = buildQuery('www.example.test', 1);
      for (let i = -1; i < SWAPS; i++) {
        const decided = performance.now();
        let t = decided;
        snap = buildSnapshot(zones, dynamic(n, i % 2 === 0), snap);
        build.push(performance.now() - t);
        t = performance.now();
        local.setSnapshot(snap);
        swap.push(performance.now() - t);
        t = performance.now();
        local.fastAnswer(q);
        first.push(performance.now() - t);
        server.setSnapshot(snap);
        await pool.settled();
        const acked = performance.now();
        if (i < 0) continue;
        push.push(pool.lastPush!.ms);
        total.push(acked - decided);
        await new Promise((r) => setTimeout(r, 20));
      }
      const label = n === 1 ? 'example zone + 1 record set' : `${n} record sets`;
      for (const [what, xs] of [['build snapshot', build], ['swap in (setSnapshot)', swap], ['first query after swap (template built)', first], ['push to 2 workers until all applied', push], ['decision to last worker ack (all of the above)', total]] as const) {
        const s = stats(xs);
        rows.push({ snapshot: label, step: what, 'median ms': round(s.median, 3), 'max ms': round(s.max, 3) });
      }
      out[n === 1 ? 'small' : 'large'] = { recordSets: n, buildMs: round(stats(build).median, 3), swapMs: round(stats(swap).median, 4), firstQueryMs: round(stats(first).median, 3), pushMedianMs: round(stats(push).median, 2), pushMaxMs: round(stats(push).max, 2), decisionToAckMedianMs: round(stats(total).median, 2) };
      if (n > 1) rows.push({ snapshot: label, step: 'target: decision to last ack ≤ 10 ms (median)', 'median ms': round(stats(total).median, 2), 'max ms': stats(total).median <= 10 ? 'holds' : 'NOT MET' });
    }
  } finally {
    await server.stop();
  }
  printTable(`Snapshot swaps (${SWAPS} each; target: a change reaches every worker within 10 ms)`, rows);
  printJson('snapshot-swap', out);
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
