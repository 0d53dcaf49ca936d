/**
 * QPS of a policy topology name vs a plain failover name, one daemon, same
 * run (issue 25: topology ≥ 0.9x failover). Both names are asked by the
 * same UDP load generator (this process: a window of queries in flight on
 * one socket from 127.0.0.1, as the source-address path of the fast path
 * serves them), in alternating runs; the median of the per-round ratios is
 * the figure. With dnsperf installed, dns-qps measures absolute QPS; this
 * bench is about the ratio, which needs no dnsperf.
 *
 * The topology name has three sites and a map of 200 networks (v4 and v6),
 * the client's 127.0.0.0/8 among them.
 *
 * Env: BENCH_SECONDS (per run, default 5), BENCH_ROUNDS (default 3).
 */
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { httpBackendsOnOnePort, type Backend } from '../test/helpers/backends.ts';
import { buildQuery } from '../test/helpers/raw-dns.ts';
import { startFailoverd } from './lib/servers.ts';
import { printJson, printTable, round } from './lib/table.ts';
import { failoverBody } from './dns-qps.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const WINDOW = 64;

function body(port: number): string {
  const nets = Array.from({ length: 100 }, (_, i) => `"10.${i}.0.0/16", "2001:db8:${i.toString(16)}::/48"`);
  const map = nets.map((n, i) => `      - { networks: [${n}], sites: [${['eu, us', 'us, ap', 'ap, eu'][i % 3]}] }`).join('\n');
  // The plain failover name exactly as the dns-qps bench serves it, then the topology name beside it.
  return `${failoverBody(port)}  - name: geo.example.test
    type: A
    ttl: 30
    policy: topology
    sites:
      eu: { targets: [{ address: 127.0.0.1, check: web }] }
      us: { targets: [{ address: 127.0.0.2, check: web }] }
      ap: { targets: [{ address: 127.0.0.3, check: web }] }
    map:
      - { networks: [127.0.0.0/8], sites: [us, eu] }
${map}
    default: [eu, us, ap]
`;
}

/** Queries per second answered for `name` over `seconds`, WINDOW in flight. */
function blast(port: number, name: string, seconds: number): Promise<{ qps: number; wrong: number }> {
  return new Promise((resolve, reject) => {
    const sock = createSocket('udp4');
    const q = buildQuery(name, 1, { id: 0 });
    let answered = 0;
    let wrong = 0;
    let id = 0;
    const send = () => {
      id = (id + 1) & 0xffff;
      q.writeUInt16BE(id, 0);
      sock.send(q, port, '127.0.0.1');
    };
    const end = performance.now() + seconds * 1000;
    let done = false;
    // A lost datagram would shrink the window: top it up every 100 ms.
    let sentSinceTick = 0;
    const tick = setInterval(() => {
      if (sentSinceTick === 0) for (let i = 0; i < WINDOW; i++) send();
      sentSinceTick = 0;
    }, 100);
    sock.on('message', (m) => {
      if (done) return;
      answered++;
      if ((m[3]! & 0xf) !== 0 || m.readUInt16BE(6) !== 1) wrong++;
      if (performance.now() >= end) {
        done = true;
        clearInterval(tick);
        sock.close();
        resolve({ qps: answered / seconds, wrong });
        return;
      }
      sentSinceTick++;
      send();
    });
    sock.on('error', reject);
    sock.connect(port, '127.0.0.1', () => {
      for (let i = 0; i < WINDOW; i++) send();
    });
  });
}

export async function run(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'failoverd-bench-topology-'));
  let backends: Backend[] = [];
  const perRound: Array<{ failover: number; topology: number; ratio: number }> = [];
  let wrong = 0;
  try {
    backends = await httpBackendsOnOnePort(['127.0.0.1', '127.0.0.2', '127.0.0.3']);
    const s = await startFailoverd(join(dir, 'fd'), { body: body(backends[0]!.port) }, { pin: 'server' });
    try {
      await blast(s.port, 'www.example.test', 1); // warm-up
      await blast(s.port, 'geo.example.test', 1);
      for (let r = 0; r < ROUNDS; r++) {
        // Alternate which goes first, so a drift in the machine's load hits both.
        const order = r % 2 === 0 ? (['www.example.test', 'geo.example.test'] as const) : (['geo.example.test', 'www.example.test'] as const);
        const got: Record<string, number> = {};
        for (const name of order) {
          const x = await blast(s.port, name, SECONDS);
          got[name] = x.qps;
          wrong += x.wrong;
        }
        const row = { failover: Math.round(got['www.example.test']!), topology: Math.round(got['geo.example.test']!), ratio: round(got['geo.example.test']! / got['www.example.test']!, 3) };
        perRound.push(row);
        process.stdout.write(`# round ${r + 1}: failover name ${row.failover} qps, topology name ${row.topology} qps, ratio ${row.ratio}\n`);
      }
    } finally {
      await s.stop();
    }
  } finally {
    for (const b of backends) await b.kill();
    rmSync(dir, { recursive: true, force: true });
  }
  const ratios = perRound.map((r) => r.ratio).sort((a, b) => a - b);
  const median = ratios[Math.floor(ratios.length / 2)]!;
  printTable(`topology name vs failover name, one daemon, UDP from this process (${SECONDS}s per run, ${ROUNDS} rounds)`, [
    ...perRound.map((r, i) => ({ round: i + 1, 'failover qps': r.failover, 'topology qps': r.topology, ratio: r.ratio })),
    { round: 'median', 'failover qps': '', 'topology qps': '', ratio: median },
  ]);
  printTable('topology target', [{ target: 'topology name ≥ 0.9x failover name', value: median, holds: median >= 0.9 ? 'yes' : 'NO' }]);
  printJson('topology-qps', { seconds: SECONDS, rounds: ROUNDS, window: WINDOW, perRound, ratio: median, wrongReplies: wrong });
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
