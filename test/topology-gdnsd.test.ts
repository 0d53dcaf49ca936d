/**
 * Policy topology and EDNS Client Subnet against gdnsd: the same client map
 * (gdnsd's geoip plugin with a `nets` map, no GeoIP database) and the same
 * sites, asked the same grid of client subnets (IPv4 and IPv6, prefixes
 * /0 to /128, inside, between and outside the mapped networks) as ECS
 * options. The answer (as a set of addresses) and the echoed option
 * (family, source prefix, SCOPE, address) must equal gdnsd's with every
 * site up and with each site down: gdnsd's admin_state file forces the
 * datacenter down, failoverd's targets of that site are DOWN. gdnsd is
 * started once; a new admin_state is waited for in its log.
 *
 * failoverd's side is the real chain from a config file: loadConfig → the
 * Decider (failover machines per site) → decisions → snapshot → the
 * embedded server on a loopback port, its ECS allow list 127.0.0.0/8.
 * Malformed ECS options get FORMERR without an option echoed, and a query
 * without ECS never gets one.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import dnsPacket from 'dns-packet';
import { systemClock } from '../src/clock.ts';
import { addressBytes } from '../src/config/client-networks.ts';
import { loadConfig } from '../src/config/load.ts';
import type { Config, Target } from '../src/config/types.ts';
import { DnsServer } from '../src/dns/server.ts';
import { Decider } from '../src/failover/decider.ts';
import { silentLogger } from '../src/log.ts';
import { toDynamicRRset } from '../src/published-answers.ts';
import { buildSnapshot } from '../src/records/snapshot.ts';
import type { ZoneFile } from '../src/dns-model/records.ts';
import { eventually, scaled } from './helpers/eventually.ts';
import { printedOnStderr } from './helpers/child-output.ts';
import { stopChild } from './helpers/nsd.ts';
import { freePort } from './helpers/ports.ts';
import { buildQuery, udpExchange, waitUntilAnswering } from './helpers/raw-dns.ts';
import { hasTool, needTool } from './helpers/tools.ts';

/** Site → addresses (us is a pool: multivalue in failoverd, multifo in gdnsd). */
const SITES: Record<string, string[]> = { eu: ['192.0.2.1'], us: ['192.0.2.2', '192.0.2.4'], ap: ['192.0.2.3'] };
/** The map; the default list is every site in the order of gdnsd's `datacenters`. */
const MAP: Array<[string[], string[]]> = [
  [['10.0.0.0/8'], ['eu', 'us']],
  [['10.1.0.0/16'], ['us', 'ap']],
  [['10.1.128.0/17', '172.16.0.0/12'], ['eu', 'us']],
  [['192.0.2.0/24', '198.51.100.0/25'], ['ap', 'eu']],
  [['2001:db8:1::/48', '2001:db8:2::/48', '2001:db8:3::/48'], ['us', 'eu']],
  [['2001:db8:ff00::/40', '203.0.113.64/26'], ['ap']],
];
const DEFAULT = ['eu', 'us', 'ap'];

/** Client subnets asked: each address with each prefix length (masked), v4 and v6. */
const V4 = ['10.2.3.4', '10.1.5.6', '10.1.200.7', '10.255.0.1', '11.0.0.1', '8.8.8.8', '172.20.1.1', '172.32.0.1', '192.0.2.200', '192.0.3.1', '198.51.100.130', '198.51.100.5', '203.0.113.70', '203.0.113.1', '127.0.0.1'];
const V4_PREFIXES = [0, 7, 8, 12, 16, 17, 20, 24, 25, 26, 32];
const V6 = ['2001:db8:1::1', '2001:db8:2:ff::1', '2001:db8:4::1', '2001:db8:ff12::5', '2001:db8:fe00::1', '2400:cb00::1', '2001:db9::1', 'fe80::1'];
const V6_PREFIXES = [0, 16, 32, 40, 46, 47, 48, 56, 64, 128];

function gdnsdConfig(dir: string, port: number): string {
  const nets = MAP.flatMap(([networks, sites]) => networks.map((n) => `          ${n} => [${sites.join(', ')}]`)).join('\n');
  const dcmap = Object.entries(SITES)
    .map(([site, addrs]) => (addrs.length === 1 ? `${site} => ${addrs[0]}` : `${site} => { ${addrs.map((a, i) => `lb${i} => ${a}`).join(', ')} }`))
    .join(', ');
  return `options => {
  listen => [ 127.0.0.1:${port} ]
  run_dir => ${dir}/run
  state_dir => ${dir}/state
}
plugins => {
  geoip => {
    maps => {
      m1 => {
        datacenters => [${DEFAULT.join(', ')}]
        nets => {
${nets}
        }
      }
    }
    resources => {
      www => { map => m1, dcmap => { ${dcmap} } }
    }
  }
}
`;
}

const ZONE = `$ORIGIN example.test.
@ 300 SOA ns1 hostmaster 1 3600 600 1209600 300
@ 300 NS ns1
@ 300 NS ns2
ns1 300 A 127.0.0.53
ns2 300 A 127.0.0.54
`;

function failoverdConfig(port: number): string {
  const sites = Object.entries(SITES)
    .map(([site, addrs]) => `      ${site}:\n        policy: ${addrs.length > 1 ? 'multivalue' : 'failover'}\n        targets: [${addrs.map((a) => `{ address: ${a}, check: web }`).join(', ')}]`)
    .join('\n');
  const map = MAP.map(([networks, s]) => `      - { networks: [${networks.map((n) => `"${n}"`).join(', ')}], sites: [${s.join(', ')}] }`).join('\n');
  return `dns:
  listen: ["127.0.0.1:${port}"]
  ecs: { allow: [127.0.0.0/8] }
zones: zones
checks:
  web: { type: tcp, port: 9 }
records:
  - name: www.example.test
    type: A
    ttl: 30
    policy: topology
    whenAllDown: all
    sites:
${sites}
    map:
${map}
    default: [${DEFAULT.join(', ')}]
  - name: plain.example.test
    type: A
    targets: [{ address: 192.0.2.9, check: web }]
`;
}

let dir = '';
let gdnsd: { child: ChildProcess; port: number; stderr: () => string } | undefined;
let ours: { server: DnsServer; port: number; config: Config; zones: ZoneFile[] } | undefined;
const skip = !hasTool('gdnsd') && process.env.CI !== 'true';

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'failoverd-topology-'));
  mkdirSync(join(dir, 'zones'));
  writeFileSync(join(dir, 'zones', 'example.test.zone'), ZONE);
  const port = await freePort();
  writeFileSync(join(dir, 'failoverd.yaml'), failoverdConfig(port));
  const { config, zones } = await loadConfig(join(dir, 'failoverd.yaml'));
  const server = new DnsServer({ clock: systemClock, listen: config.dns.listen, logger: silentLogger, ecs: config.dns.ecs });
  ours = { server, port, config, zones };
  serveWithDown(undefined);
  await server.start();
  if (skip) return;
  mkdirSync(join(dir, 'gd', 'zones'), { recursive: true });
  mkdirSync(join(dir, 'gd', 'state'));
  mkdirSync(join(dir, 'gd', 'run'));
  const gport = await freePort();
  writeFileSync(join(dir, 'gd', 'config'), gdnsdConfig(join(dir, 'gd'), gport));
  writeFileSync(join(dir, 'gd', 'zones', 'example.test'), ZONE.replace('$ORIGIN example.test.\n', '') + 'www 30 DYNA geoip!www\nplain 30 A 192.0.2.9\n');
  const child = spawn('gdnsd', ['-c', join(dir, 'gd'), 'start'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  gdnsd = { child, port: gport, stderr: () => stderr };
  await waitUntilAnswering({ name: 'gdnsd', port: gport, child, stderr: () => stderr, stop: () => stopChild(child) }, ['example.test'], { authoritative: true });
});

after(async () => {
  await ours?.server.stop();
  if (gdnsd) await stopChild(gdnsd.child);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** failoverd decides with every target of `down` DOWN (a cold start of the machines), and serves that. */
function serveWithDown(down: string | undefined): void {
  const o = ours!;
  const view = (t: Target) => {
    const health = t.site === down ? ('DOWN' as const) : ('UP' as const);
    return { health, realHealth: health, since: 0, overridden: false, ...(health === 'DOWN' ? { reason: 'test: site down' } : {}) };
  };
  const decider = new Decider(o.config, { clock: systemClock, logger: silentLogger, health: { view } });
  decider.activate();
  o.server.setSnapshot(buildSnapshot(o.zones, decider.decisions().map(toDynamicRRset)));
}

let stateLoads = 0;
/** failoverd's answer to each grid query in the scenario before. */
const previous = new Map<string, string>();
/** Forces `down` down in gdnsd (admin_state) and waits for its log to say the file was loaded. */
async function gdnsdWithDown(down: string | undefined): Promise<void> {
  const g = gdnsd!;
  const before = (g.stderr().match(/admin_state: load complete/g) ?? []).length;
  writeFileSync(join(dir, 'gd', 'state', 'admin_state'), down ? `geoip/www/${down} => DOWN\n` : '\n');
  stateLoads = before + 1;
  const needle = () => (g.stderr().match(/admin_state: load complete/g) ?? []).length >= stateLoads;
  const deadline = performance.now() + scaled(10_000);
  while (!needle() && performance.now() < deadline) {
    const outcome = await printedOnStderr(g.child, g.stderr, 'admin_state: load complete', Math.max(1, deadline - performance.now()));
    if (outcome !== 'printed') break;
    if (!needle()) await new Promise((r) => setTimeout(r, 20));
  }
  assert.ok(needle(), `gdnsd did not load admin_state for ${down ?? 'no site'} down; stderr: ${g.stderr().slice(-2000)}`);
}

/** The ECS option bytes (RFC 7871 §6): family, source, scope, address octets. */
function ecsOption(family: 1 | 2, source: number, scope: number, address: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from([0, family, source, scope]), address]);
  const head = Buffer.alloc(4);
  head.writeUInt16BE(8, 0);
  head.writeUInt16BE(body.length, 2);
  return Buffer.concat([head, body]);
}

function maskedBytes(address: string, bits: number): Buffer {
  const bytes = addressBytes(address)!.bytes;
  const out = Buffer.alloc(Math.ceil(bits / 8));
  for (let i = 0; i < out.length; i++) {
    const keep = Math.min(8, bits - i * 8);
    out[i] = bytes[i]! & ((0xff << (8 - keep)) & 0xff);
  }
  return out;
}

/**
 * gdnsd looks IPv6 clients in ::/96, ::ffff:0:0/96, 2001::/32 (Teredo) and
 * 2002::/16 (6to4) up by the IPv4 address they embed (and reports the scope
 * plus 96); failoverd treats them as the IPv6 addresses they are. Subnets
 * that land there are left out of the comparison.
 */
function inV4Tunnel(prefix: Buffer): boolean {
  const b = Buffer.alloc(16);
  prefix.copy(b);
  if (b.subarray(0, 10).every((x) => x === 0)) return true;
  return (b[0] === 0x20 && b[1] === 0x02) || (b[0] === 0x20 && b[1] === 0x01 && b[2] === 0 && b[3] === 0);
}

interface Seen {
  rcode: string;
  answers: string;
  ecs: string;
}

async function ask(port: number, packet: Buffer): Promise<Seen> {
  const reply = await udpExchange(port, packet, scaled(2000));
  assert.ok(reply, `no reply from port ${port}`);
  const m = dnsPacket.decode(reply);
  const opt = (m.additionals ?? []).find((r) => r.type === 'OPT') as { options?: Array<{ code: number; data: Buffer }> } | undefined;
  const ecs = (opt?.options ?? []).filter((o) => o.code === 8).map((o) => o.data.toString('hex'));
  return {
    rcode: (m as { rcode?: string }).rcode ?? '',
    answers: (m.answers ?? []).map((a) => `${a.type} ${String((a as { data?: unknown }).data)}`).sort().join(','),
    ecs: ecs.length ? ecs.join(';') : 'none',
  };
}

function grid(): Array<{ label: string; packet: Buffer }> {
  const out: Array<{ label: string; packet: Buffer }> = [];
  let id = 1;
  for (const [addrs, prefixes, family] of [
    [V4, V4_PREFIXES, 1],
    [V6, V6_PREFIXES, 2],
  ] as const) {
    for (const a of addrs) {
      for (const p of prefixes) {
        const addr = maskedBytes(a, p);
        if (family === 2 && p > 0 && inV4Tunnel(addr)) continue;
        out.push({ label: `${a}/${p}`, packet: buildQuery('www.example.test', 1, { id: id++ & 0xffff, opt: { options: ecsOption(family, p, 0, addr) } }) });
      }
    }
  }
  return out;
}

for (const down of [undefined, 'eu', 'us', 'ap'] as const) {
  test(`the answer and the ECS scope equal gdnsd's over the grid of client subnets, ${down ? `site ${down} down` : 'every site up'}`, { skip: skip && 'gdnsd is not installed (Debian package gdnsd)' }, async (t) => {
    if (!needTool(t, 'gdnsd')) return;
    serveWithDown(down);
    await gdnsdWithDown(down);
    const queries = grid();
    // gdnsd applies a loaded admin_state on its next state update (about a second later): wait until it
    // answers a query whose answer this change moves as failoverd does.
    const moved = [];
    for (const q of queries) {
      const mine = await ask(ours!.port, q.packet);
      if (previous.has(q.label) && previous.get(q.label) !== mine.answers) moved.push({ q, mine });
      previous.set(q.label, mine.answers);
    }
    if (moved.length > 0) {
      const { q, mine } = moved[0]!;
      await eventually(`gdnsd applies ${down ?? 'no site'} down (${q.label} answers ${mine.answers})`, async () => (await ask(gdnsd!.port, q.packet)).answers === mine.answers, 15_000, 100);
    }
    const differences: string[] = [];
    const scopes = new Set<string>();
    const answers = new Set<string>();
    for (const q of queries) {
      const [theirs, mine] = await Promise.all([ask(gdnsd!.port, q.packet), ask(ours!.port, q.packet)]);
      if (JSON.stringify(theirs) !== JSON.stringify(mine)) differences.push(`${q.label}: gdnsd ${JSON.stringify(theirs)} failoverd ${JSON.stringify(mine)}`);
      scopes.add(mine.ecs.slice(6, 8));
      answers.add(mine.answers);
    }
    assert.deepEqual(differences, [], `${differences.length} of ${queries.length} differ:\n${differences.slice(0, 20).join('\n')}`);
    // The grid exercises the map: several answers and several scopes, not one.
    assert.ok(answers.size >= 2 && scopes.size >= 5, `answers ${[...answers].join(' | ')} scopes ${[...scopes].join(',')}`);
  });
}

test('a query without ECS gets no ECS back; a name that does not depend on the client echoes SCOPE 0', async () => {
  serveWithDown(undefined);
  const plain = await ask(ours!.port, buildQuery('www.example.test', 1, { opt: {} }));
  assert.equal(plain.ecs, 'none');
  // The source (127.0.0.1) is in no mapped network: the default list, eu first.
  assert.equal(plain.answers, 'A 192.0.2.1');
  const other = await ask(ours!.port, buildQuery('plain.example.test', 1, { opt: { options: ecsOption(1, 24, 0, Buffer.from([10, 1, 5])) } }));
  assert.equal(other.answers, 'A 192.0.2.9');
  assert.equal(other.ecs, '000118000a0105', 'family 1, source 24, scope 0, address 10.1.5 as sent');
  const topo = await ask(ours!.port, buildQuery('www.example.test', 1, { opt: { options: ecsOption(1, 24, 0, Buffer.from([10, 1, 5])) } }));
  assert.equal(topo.answers, 'A 192.0.2.2,A 192.0.2.4', '10.1.0.0/16 maps to [us, ap]');
  // 10.1.0.0/16 → [us, ap] holds 10.1.128.0/17 → [eu, us]: the answer holds for 10.1.0.0/17, not the whole /16.
  assert.equal(topo.ecs, '000118110a0105', 'scope 17');
});

test('malformed client subnet options get FORMERR, no option echoed, and the server keeps answering', async () => {
  serveWithDown(undefined);
  const raw = (family: number, source: number, scope: number, address: number[]) => {
    const body = Buffer.from([family >> 8, family & 0xff, source, scope, ...address]);
    const head = Buffer.alloc(4);
    head.writeUInt16BE(8, 0);
    head.writeUInt16BE(body.length, 2);
    return Buffer.concat([head, body]);
  };
  const bad: Array<[string, Buffer]> = [
    ['family 3', raw(3, 8, 0, [10])],
    ['family 0', raw(0, 0, 0, [])],
    ['IPv4 source prefix /33', raw(1, 33, 0, [10, 0, 0, 0, 0])],
    ['IPv6 source prefix /129', raw(2, 129, 0, [...Array(17).fill(0)])],
    ['address bits beyond the prefix', raw(1, 7, 0, [11])],
    ['address longer than the prefix needs', raw(1, 8, 0, [10, 0])],
    ['address shorter than the prefix needs', raw(1, 24, 0, [10, 1])],
    ['option shorter than 4 octets', Buffer.from([0, 8, 0, 2, 0, 1])],
    ['nonzero scope in a query', raw(1, 24, 24, [10, 1, 5])],
    ['two ECS options', Buffer.concat([raw(1, 24, 0, [10, 1, 5]), raw(1, 24, 0, [10, 2, 5])])],
    ['option length past the OPT record', Buffer.from([0, 8, 0, 40, 0, 1, 24, 0, 10, 1, 5])],
  ];
  for (const [what, options] of bad) {
    const reply = await udpExchange(ours!.port, buildQuery('www.example.test', 1, { opt: { options } }), scaled(2000));
    if (what === 'option length past the OPT record') {
      // The OPT record itself is cut short: the message is unreadable as sent; whatever comes back, no ECS.
      if (reply) assert.doesNotMatch(reply.toString('hex'), /0008000[0-9a-f]0001/, what);
      continue;
    }
    assert.ok(reply, `${what}: no reply`);
    const m = dnsPacket.decode(reply);
    assert.equal((m as { rcode?: string }).rcode, 'FORMERR', what);
    const opt = (m.additionals ?? []).find((r) => r.type === 'OPT') as { options?: Array<{ code: number }> } | undefined;
    assert.equal((opt?.options ?? []).filter((o) => o.code === 8).length, 0, `${what}: no ECS echoed`);
  }
  const still = await ask(ours!.port, buildQuery('www.example.test', 1, { opt: { options: ecsOption(1, 24, 0, Buffer.from([10, 1, 5])) } }));
  assert.equal(still.rcode, 'NOERROR');
});
