/**
 * The RFC 2136 sink against real servers (issue 23): Knot (knotd), BIND
 * (named) and PowerDNS (pdns_server + sqlite3), each started here on a
 * loopback port with the server-side config of docs/configuration.md
 * (test/helpers/update-servers.ts), one failoverd writing to all three
 * (rfc2136 mode: all).
 *
 *  1. Killed primary → each server answers the secondary: www.example.test
 *     fails over from 127.0.0.1 to 127.0.0.2 (HTTP checks: interval 1s,
 *     fastInterval 100ms, timeout 500ms, rise 1, fall 2, as failover-time);
 *     each server and failoverd's own DNS are asked every 20 ms over UDP;
 *     the primary is killed at a random moment of the probe cycle; the time
 *     is from the kill to each one's first reply with the secondary.
 *     Goal: median < 300 ms on each server.
 *  2. One UPDATE per batch: 100 record sets on the same targets fail over
 *     together; per server, the UPDATE messages failoverd sent (its log
 *     lines "rfc2136 UPDATE applied") and the SOA serial's increase (each
 *     UPDATE that changes the zone raises it by one on all three: Knot and
 *     BIND by themselves, PowerDNS by SOA-EDIT-DNSUPDATE INCREASE).
 *     Goal: 1 UPDATE each.
 *
 * Env: BENCH_RFC2136_RUNS (10).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { httpBackendsOnOnePort, type Backend } from '../test/helpers/backends.ts';
import { dig } from '../test/helpers/dig.ts';
import { startUpdateServer, type UpdateServer, type UpdateServerKind } from '../test/helpers/update-servers.ts';
import { AnswerPoller } from './lib/answer-poller.ts';
import { stats } from './failover-time.ts';
import { startFailoverd, type RunningServer } from './lib/servers.ts';
import { printJson, printTable, round } from './lib/table.ts';

const RUNS = Number(process.env.BENCH_RFC2136_RUNS ?? 10);
const BATCH = 100;
const GOAL_MS = 300;
const KINDS: UpdateServerKind[] = ['knot', 'bind', 'pdns'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const UPDATE_KEY = { name: 'failoverd-update', algorithm: 'hmac-sha256', secret: Buffer.from('failoverd-rfc2136-bench-update!!').toString('base64') };
const READ_KEY = { name: 'failoverd-read', algorithm: 'hmac-sha256', secret: Buffer.from('failoverd-rfc2136-bench-read-k!!').toString('base64') };
const ZONE_TEXT = `$ORIGIN example.test.
$TTL 300
@ SOA ns1.example.test. hostmaster.example.test. 1 3600 600 1209600 300
@ NS ns1
ns1 A 127.0.0.53
`;

function config(backendPort: number, servers: UpdateServer[], ownerId: string, names: string[]): string {
  return `checks:
  web: { type: http, port: ${backendPort}, path: /healthz, expect: { status: ["200-299"], body: ok }, interval: 1s, fastInterval: 100ms, timeout: 500ms, rise: 1, fall: 2 }
records:
${names.map((n) => `  - { name: ${n}.example.test, type: A, ttl: 30, targets: [{ address: 127.0.0.1, check: web }, { address: 127.0.0.2, check: web }] }\n`).join('')}rfc2136:
  ownerId: ${ownerId}
  keys:
    ${UPDATE_KEY.name}: { secret: "${UPDATE_KEY.secret}" }
    ${READ_KEY.name}: { secret: "${READ_KEY.secret}" }
  zones:
    - zone: example.test
      mode: all
      servers: [${servers.map((s) => `"127.0.0.1:${s.port}"`).join(', ')}]
      updateKey: ${UPDATE_KEY.name}
      readKey: ${READ_KEY.name}
`;
}

async function serial(s: UpdateServer): Promise<number> {
  const r = await dig(s.port, 'example.test', 'SOA');
  const soa = r.answer.find((l) => / SOA /.test(l));
  if (!soa) throw new Error(`${s.kind}: no SOA in ${JSON.stringify(r)}`);
  return Number(soa.split(/\s+/)[6]);
}

/** The log lines "rfc2136 UPDATE applied" for the server on `port` so far: how many record sets each changed. */
function updatesSent(fd: RunningServer, port: number): Array<{ changes: number }> {
  const out: Array<{ changes: number }> = [];
  for (const line of fd.output().split('\n')) {
    if (!line.includes('"rfc2136 UPDATE applied"')) continue;
    const l = JSON.parse(line) as { server?: string; changes: unknown[] };
    if (l.server === `127.0.0.1:${port}`) out.push({ changes: l.changes.length });
  }
  return out;
}

/**
 * The times of the transitions logged so far: a line each, and for a batch past the decider's first lines, the
 * ones its summary line ("transitions: N record sets changed their answer at once") counts beyond them.
 */
function transitionTimes(fd: RunningServer): number[] {
  const out: number[] = [];
  for (const line of fd.output().split('\n')) {
    if (!line.includes('"msg":"transition')) continue;
    const l = JSON.parse(line) as { msg: string; time: number | string; transitions?: number; logged?: number };
    const t = typeof l.time === 'number' ? l.time : Date.parse(l.time);
    const n = l.msg === 'transition' ? 1 : l.msg.startsWith('transitions:') ? (l.transitions ?? 0) - (l.logged ?? 0) : 0;
    for (let i = 0; i < n; i++) out.push(t);
  }
  return out;
}

async function everyAnswers(servers: UpdateServer[], name: string, want: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const s of servers) {
    for (;;) {
      const r = await dig(s.port, name);
      if (r.answer.map((l) => l.split(/\s+/)[4]).join(',') === want) break;
      if (Date.now() > deadline) throw new Error(`${s.kind} does not answer ${name} ${want} within ${timeoutMs} ms (answers ${JSON.stringify(r.answer)})`);
      await sleep(50);
    }
  }
}

export async function run(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'failoverd-bench-rfc2136-'));
  const servers: UpdateServer[] = [];
  const backends: Backend[] = await httpBackendsOnOnePort(['127.0.0.1', '127.0.0.2']);
  const [primary] = backends as [Backend, Backend];
  let fd: RunningServer | undefined;
  const pollers: AnswerPoller[] = [];
  const times: Record<string, number[]> = { failoverd: [], ...Object.fromEntries(KINDS.map((k) => [k, []])) };
  const loads: number[] = [];
  const batch: Array<Record<string, string | number>> = [];
  const batchJson: Record<string, unknown> = {};
  try {
    for (const kind of KINDS) servers.push(await startUpdateServer(kind, { zone: 'example.test', zoneText: ZONE_TEXT, updateKey: UPDATE_KEY, readKey: READ_KEY }));

    // 1. Killed primary → each server answers the secondary.
    fd = await startFailoverd(join(dir, 'one'), { body: config(primary.port, servers, 'bench-failover', ['www']), logLevel: 'info' });
    const targets = [{ name: 'failoverd', port: fd.port }, ...servers.map((s) => ({ name: s.kind, port: s.port }))];
    for (const t of targets) {
      const p = new AnswerPoller(t.port, 'www.example.test', 20);
      p.start();
      pollers.push(p);
    }
    for (let i = 0; i < RUNS; i++) {
      const settled = performance.now();
      await Promise.all(pollers.map((p) => p.until('127.0.0.1', settled, 20_000)));
      await sleep(1500 + Math.random() * 1000); // settled, then a random moment of the 1 s cycle
      loads.push(loadavg()[0]!);
      const killed = performance.now();
      await primary.kill();
      const at = await Promise.all(pollers.map((p) => p.until('127.0.0.2', killed, 20_000)));
      at.forEach((ms, j) => times[targets[j]!.name]!.push(ms - killed));
      process.stdout.write(`# run ${i + 1}: ${targets.map((t, j) => `${t.name} ${Math.round(at[j]! - killed)} ms`).join(', ')} (load ${loadavg()[0]!.toFixed(2)})\n`);
      await sleep(300 + Math.random() * 500);
      await primary.revive();
    }
    await Promise.all(pollers.map((p) => p.until('127.0.0.1', performance.now(), 20_000)));
    for (const p of pollers.splice(0)) p.stop();
    await fd.stop();
    fd = undefined;

    // 2. 100 record sets fail over together: UPDATE messages per server.
    const names = Array.from({ length: BATCH }, (_, i) => `b${i}`);
    fd = await startFailoverd(join(dir, 'batch'), { body: config(primary.port, servers, 'bench-batch', names), logLevel: 'info' }, { timeoutMs: 120_000 });
    for (const n of names) await everyAnswers(servers, `${n}.example.test`, '127.0.0.1', 60_000);
    // Settled: no UPDATE logged for 2 s (the first ones answered and logged).
    let logged = '';
    for (let i = 0; i < 60; i++) {
      const now = servers.map((s) => updatesSent(fd!, s.port).length).join();
      if (now === logged) break;
      logged = now;
      await sleep(2000);
    }
    const before = await Promise.all(servers.map(async (s) => ({ serial: await serial(s), sent: updatesSent(fd!, s.port).length })));
    const transitionsBefore = transitionTimes(fd).length;
    const batchLoad = loadavg()[0]!;
    const killed = performance.now();
    await primary.kill();
    const reached: number[] = [];
    for (const s of servers) {
      await everyAnswers([s], `b${BATCH - 1}.example.test`, '127.0.0.2');
      reached.push(performance.now() - killed);
    }
    for (const n of names) await everyAnswers(servers, `${n}.example.test`, '127.0.0.2');
    await sleep(2000); // anything later (a second UPDATE) would be counted
    const transitions = transitionTimes(fd).slice(transitionsBefore);
    const spread = transitions.length ? Math.max(...transitions) - Math.min(...transitions) : 0;
    for (const [j, s] of servers.entries()) {
      const sent = updatesSent(fd, s.port).slice(before[j]!.sent);
      const raised = (await serial(s)) - before[j]!.serial;
      batch.push({
        server: s.kind,
        'record sets': BATCH,
        'UPDATE messages (failoverd log)': sent.length,
        'record sets in each': sent.map((u) => u.changes).join(' + '),
        'serial raised by': raised,
        'b99 seen by dig (ms after the kill; servers asked in turn)': Math.round(reached[j]!),
        goal: `1 UPDATE: ${sent.length === 1 && raised === 1 ? 'holds' : 'NOT MET'}`,
        'load (1 min)': batchLoad.toFixed(2),
      });
      batchJson[s.kind] = { updates: sent.length, recordSetsPerUpdate: sent.map((u) => u.changes), serialRaised: raised, lastAnsweredMs: round(reached[j]!, 1) };
    }
    batchJson.transitions = { count: transitions.length, spreadMs: spread };
    await primary.revive();
  } finally {
    for (const p of pollers) p.stop();
    await fd?.stop();
    for (const b of backends) await b.kill();
    for (const s of servers) await s.remove();
    rmSync(dir, { recursive: true, force: true });
  }
  const rows: Array<Record<string, string | number>> = [];
  const summary: Record<string, unknown> = { loadavg1: loads.map((l) => round(l, 2)), batch: batchJson };
  for (const [name, xs] of Object.entries(times)) {
    const s = stats(xs);
    rows.push({ answers: name === 'failoverd' ? "failoverd's own DNS (reference)" : name, 'median ms': Math.round(s.median), 'min ms': Math.round(s.min), 'max ms': Math.round(s.max), runs: xs.length, goal: name === 'failoverd' ? '' : `< ${GOAL_MS} ms: ${s.median < GOAL_MS ? 'holds' : 'NOT MET'}` });
    summary[name] = { median: round(s.median, 1), min: round(s.min, 1), max: round(s.max, 1), runs: xs.map((x) => Math.round(x)) };
  }
  const l = stats(loads);
  printTable(`Killed primary → the server answers the secondary (rfc2136 mode all; checks interval 1s, fastInterval 100ms, timeout 500ms, rise 1, fall 2; each asked every 20 ms over UDP); load average (1 min) at the kills: median ${l.median.toFixed(2)}, ${l.min.toFixed(2)}-${l.max.toFixed(2)}`, rows);
  printTable(`${BATCH} record sets failing over together: UPDATE messages per server (${(batchJson.transitions as { count: number } | undefined)?.count ?? 0} transitions logged within ${(batchJson.transitions as { spreadMs: number } | undefined)?.spreadMs ?? 0} ms)`, batch);
  printJson('rfc2136', summary);
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
