/**
 * No query lost or answered wrongly during a failover under full load:
 * dnsperf drives the daemon (core 0) as fast as it can (core 1) on the
 * failover name while the primary is killed and later revived; a checker
 * beside it sends 1,000 queries/s of its own and reads every reply: each
 * must be the primary or the secondary, NOERROR, and none may go missing.
 *
 * Env: BENCH_LOAD_SECONDS (9), BENCH_WORKERS (dns.workers, default 1).
 */
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { httpBackendsOnOnePort, type Backend } from '../test/helpers/backends.ts';
import { buildQuery } from '../test/helpers/raw-dns.ts';
import { addressesOf } from './lib/answer-poller.ts';
import { pinningNote } from './lib/cpu.ts';
import { dnsperf, dnsperfMissing } from './lib/dnsperf.ts';
import { failoverConfig } from './failover-time.ts';
import { startFailoverd } from './lib/servers.ts';
import { printJson, printTable } from './lib/table.ts';

const SECONDS = Number(process.env.BENCH_LOAD_SECONDS ?? 9);
const WORKERS = process.env.BENCH_WORKERS ?? '1';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function run(): Promise<void> {
  const missing = dnsperfMissing();
  if (missing) {
    process.stdout.write(`\n## Failover under full load\nSKIP: ${missing}\n`);
    printJson('failover-under-load', { skipped: missing });
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'failoverd-bench-load-'));
  const backends: Backend[] = await httpBackendsOnOnePort(['127.0.0.1', '127.0.0.2']);
  const [primary] = backends as [Backend, Backend];
  const fd = await startFailoverd(dir, { body: failoverConfig(primary.port), workers: WORKERS === 'auto' ? 'auto' : Number(WORKERS), logLevel: 'warn' });
  // The checker: 10 queries every 10 ms, each reply read.
  const sock = createSocket('udp4');
  const pending = new Map<number, number>();
  const seen = new Map<string, number>();
  let sent = 0;
  let answered = 0;
  let wrong = 0;
  let id = 0;
  sock.on('message', (msg) => {
    const qid = msg.readUInt16BE(0);
    if (!pending.delete(qid)) return;
    answered++;
    const a = (msg[3]! & 0xf) === 0 ? addressesOf(msg) : `rcode ${msg[3]! & 0xf}`;
    seen.set(a, (seen.get(a) ?? 0) + 1);
    if (a !== '127.0.0.1' && a !== '127.0.0.2') wrong++;
  });
  const timer = setInterval(() => {
    for (let i = 0; i < 10; i++) {
      id = (id + 1) & 0xffff;
      pending.set(id, performance.now());
      sent++;
      sock.send(buildQuery('www.example.test', 1, { id }), fd.port, '127.0.0.1');
    }
  }, 10);
  let perf;
  try {
    const load = dnsperf({ port: fd.port, queries: ['www.example.test A'], seconds: SECONDS, dir });
    await sleep(SECONDS * 250);
    await primary.kill();
    await sleep(SECONDS * 400);
    await primary.revive();
    perf = await load;
  } finally {
    clearInterval(timer);
    await sleep(2000); // stragglers
    sock.close();
    await fd.stop();
    for (const b of backends) await b.kill();
    rmSync(dir, { recursive: true, force: true });
  }
  const lost = pending.size;
  const ok = perf.lost === 0 && lost === 0 && wrong === 0 && Object.keys(perf.rcodes).every((k) => k === 'NOERROR') && (seen.get('127.0.0.2') ?? 0) > 0;
  printTable(`Failover under full load (dnsperf ${SECONDS}s; primary killed at 25%, revived at 65%; workers ${WORKERS}; ${pinningNote()})`, [
    { measure: 'dnsperf queries per second', value: Math.round(perf.qps) },
    { measure: 'dnsperf queries lost', value: perf.lost },
    { measure: 'dnsperf response codes', value: JSON.stringify(perf.rcodes) },
    { measure: 'checker queries sent / answered', value: `${sent} / ${answered}` },
    { measure: 'checker answers seen', value: JSON.stringify(Object.fromEntries(seen)) },
    { measure: 'checker lost / wrong', value: `${lost} / ${wrong}` },
    { measure: 'no query lost or wrong, failover seen', value: ok ? 'holds' : 'NOT MET' },
  ]);
  printJson('failover-under-load', { seconds: SECONDS, workers: WORKERS, dnsperf: perf, checker: { sent, answered, lost, wrong, seen: Object.fromEntries(seen) }, holds: ok });
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
