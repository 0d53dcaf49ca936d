/**
 * DNS answers while the main process is busy (issue 15, finding 5): the
 * daemon (core 0, dns.workers 1: the main process answers UDP itself) is
 * asked a static name every 5 ms over UDP, and the worst reply latency is
 * taken over each event:
 *
 * - mass failover: 1,000 failover record sets whose 1,000 primaries (TCP
 *   checks, interval 1s, fastInterval 100ms, timeout 500ms, rise 1, fall 2,
 *   watch on) die together (their backend process is killed), each failing
 *   over to a secondary that stays up; the window runs until every record
 *   set answers its secondary, plus 500 ms. Also: how far the serial moved.
 * - reload of a 200,000-record zone: a zone file of 200,000 A records is
 *   added to the zones folder and POST /v1/reload is called; the window runs
 *   from the call until its reply, plus 500 ms.
 *
 * Reference in the same run: the same poller's worst latency over an idle
 * window of the same daemon. Target: 50 ms at most.
 *
 * Env: BENCH_STALL_SETS (1000), BENCH_STALL_RECORDS (200000).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import dnsPacket from 'dns-packet';
import { freePort } from '../test/helpers/ports.ts';
import { buildQuery, udpExchange } from '../test/helpers/raw-dns.ts';
import { ADDRESSES, scalePorts, startFarm } from './lib/scale.ts';
import { startFailoverd, type RunningServer } from './lib/servers.ts';
import { LatencyPoller } from './lib/latency-poller.ts';
import { printJson, printTable, round } from './lib/table.ts';

const SETS = Number(process.env.BENCH_STALL_SETS ?? 1000);
const RECORDS = Number(process.env.BENCH_STALL_RECORDS ?? 200_000);
const BUDGET_MS = 50;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function secondaryOf(i: number): string {
  return `127.0.0.${((i + 1) % ADDRESSES) + 1}`;
}

async function serial(port: number): Promise<number> {
  const reply = await udpExchange(port, buildQuery('example.test', 6), 3000);
  const soa = reply && dnsPacket.decode(reply).answers?.find((a) => a.type === 'SOA');
  return soa ? (soa.data as dnsPacket.SoaData).serial! : NaN;
}

/** A sample of record sets (first, middle, last) answers its secondary. */
async function answersSecondary(port: number, sets: number): Promise<boolean> {
  for (const i of [0, Math.floor(sets / 2), sets - 1]) {
    const reply = await udpExchange(port, buildQuery(`r${i}.example.test`, 1), 2000);
    const a = reply && dnsPacket.decode(reply).answers?.find((x) => x.type === 'A');
    if (!a || String((a as { data?: unknown }).data) !== secondaryOf(i)) return false;
  }
  return true;
}

export async function run(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'failoverd-bench-stall-'));
  const primaryPorts = await scalePorts(SETS);
  let secondaryPort = await freePort();
  while (primaryPorts.includes(secondaryPort)) secondaryPort = await freePort();
  const primaries = await startFarm('tcp', primaryPorts);
  const secondaries = await startFarm('tcp', [secondaryPort]);
  const adminPort = await freePort();
  const check = 'interval: 1s, fastInterval: 100ms, timeout: 500ms, rise: 1, fall: 2, watch: true';
  const lines = [`admin: { listen: "127.0.0.1:${adminPort}" }`, 'checks:', `  s: { type: tcp, port: ${secondaryPort}, ${check} }`];
  primaryPorts.forEach((p, i) => lines.push(`  p${i}: { type: tcp, port: ${p}, ${check} }`));
  lines.push('records:');
  // Primary i: 127.0.0.x on a port of farm A; its secondary: another address on farm B's port.
  for (let i = 0; i < SETS; i++) {
    lines.push(`  - { name: r${i}.example.test, type: A, ttl: 30, targets: [{ address: 127.0.0.${(i % ADDRESSES) + 1}, check: p${Math.floor(i / ADDRESSES)} }, { address: ${secondaryOf(i)}, check: s }] }`);
  }
  const rows: Array<Record<string, string | number>> = [];
  const out: Record<string, unknown> = {};
  let fd: RunningServer | undefined;
  let poller: LatencyPoller | undefined;
  try {
    fd = await startFailoverd(dir, { body: lines.join('\n') + '\n' }, { timeoutMs: 120_000 });
    poller = new LatencyPoller(fd.port, 5);
    poller.start();
    await sleep(3000);
    const idleFrom = performance.now();
    await sleep(3000);
    const idle = poller.worst(idleFrom, performance.now());
    rows.push({ event: 'idle (reference, same daemon)', 'max DNS latency ms': round(idle.maxMs, 1), queries: idle.queries, detail: '', target: '' });

    // Mass failover: every primary dies at once.
    const serialBefore = await serial(fd.port);
    const killed = performance.now();
    await primaries.stop();
    let moved = false;
    for (let i = 0; i < 300 && !moved; i++) {
      await sleep(50);
      moved = await answersSecondary(fd.port, SETS);
    }
    const movedAt = performance.now();
    await sleep(500);
    const mass = poller.worst(killed, performance.now());
    const serialAfter = await serial(fd.port);
    rows.push({ event: `mass failover: ${SETS} record sets`, 'max DNS latency ms': round(mass.maxMs, 1), queries: mass.queries, detail: `${moved ? `all moved in ${Math.round(movedAt - killed)} ms` : 'NOT all moved in 15 s'}; serial moved by ${serialAfter - serialBefore}`, target: mass.maxMs <= BUDGET_MS ? 'holds' : 'NOT MET' });
    out.massFailover = { sets: SETS, maxMs: round(mass.maxMs, 1), movedMs: Math.round(movedAt - killed), serialSteps: serialAfter - serialBefore };

    // Reload with a 200k-record zone added.
    let zone = `$ORIGIN big.test.\n$TTL 300\n@ SOA ns1.big.test. host.big.test. 1 3600 600 86400 300\n@ NS ns1\nns1 A 127.0.0.1\n`;
    const parts: string[] = [];
    for (let i = 0; i < RECORDS; i++) parts.push(`h${i} A 10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}\n`);
    zone += parts.join('');
    writeFileSync(join(dir, 'zones', 'big.test.zone'), zone);
    const asked = performance.now();
    const res = await fetch(`http://127.0.0.1:${adminPort}/v1/reload`, { method: 'POST', headers: { 'content-type': 'application/json' }, signal: AbortSignal.timeout(60_000) });
    const replied = performance.now();
    await res.text();
    await sleep(500);
    const reload = poller.worst(asked, performance.now());
    rows.push({ event: `reload adding a ${RECORDS}-record zone`, 'max DNS latency ms': round(reload.maxMs, 1), queries: reload.queries, detail: `reload answered ${res.status} in ${Math.round(replied - asked)} ms`, target: reload.maxMs <= BUDGET_MS ? 'holds' : 'NOT MET' });
    out.reload = { records: RECORDS, maxMs: round(reload.maxMs, 1), reloadMs: Math.round(replied - asked), status: res.status };
    out.idleMaxMs = round(idle.maxMs, 1);
  } finally {
    poller?.stop();
    await fd?.stop();
    await primaries.stop();
    await secondaries.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  printTable(`DNS max latency while the daemon is busy (a static name every 5 ms over UDP; dns.workers 1; target ≤ ${BUDGET_MS} ms)`, rows);
  printJson('dns-stall', out);
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
