/**
 * The fast answer path gives the same bytes as the full path (dns2 parser →
 * readQuery → resolveQuestion → encodeReply) wherever it answers: every name
 * of the example zone plus the dynamic record sets, every type of interest,
 * with and without EDNS (and DO), RD on and off, in mixed case. Unusual
 * queries go to the full path; a swapped snapshot is seen at once.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Packet, parseRequest } from '../src/dns/dns2.ts';
import { DnsServer } from '../src/dns/server.ts';
import { ReplyTemplates } from '../src/dns/reply-templates.ts';
import { fastAnswer, newPlainQuery, readPlainQuery } from '../src/dns/fast-path.ts';
import { silentLogger } from '../src/log.ts';
import { buildSnapshot, type DynamicRRset } from '../src/records/snapshot.ts';
import { parentName } from '../src/dns-model/names.ts';
import { exampleZone, startDns, type RunningDns } from './helpers/dns-fixture.ts';
import { buildQuery, udpExchange } from './helpers/raw-dns.ts';
import { systemClock } from '../src/clock.ts';

const DYNAMIC: DynamicRRset[] = [
  { name: 'www.example.test', type: 'A', ttl: 30, kind: 'values', values: ['127.0.0.1'] },
  { name: 'multi.example.test', type: 'A', ttl: 30, kind: 'values', values: ['127.0.0.1', '127.0.0.2', '127.0.0.3'] },
  { name: 'weighted.example.test', type: 'A', ttl: 30, kind: 'values', values: ['127.0.0.1', '127.0.0.2'], weights: [1, 3] },
  { name: 'v6dyn.example.test', type: 'AAAA', ttl: 20, kind: 'values', values: ['::1'] },
  { name: 'cn.example.test', type: 'CNAME', ttl: 10, kind: 'values', values: ['static.example.test'] },
  { name: 'down.example.test', type: 'A', ttl: 30, kind: 'servfail', values: [] },
  { name: 'closed.example.test', type: 'A', ttl: 5, kind: 'nodata', values: [] },
];

// A, NS, CNAME, SOA, PTR, MX, TXT, AAAA, SRV, CAA, ANY, an unknown type, and
// 65 / 97 (0x41 / 0x61: "A" / "a" as latin1, so a case-folding slip would mix them up).
const TYPES = [1, 2, 5, 6, 12, 15, 16, 28, 33, 257, 255, 99, 65, 97];

interface Shape {
  label: string;
  opt?: { size?: number; do?: boolean };
  rd: boolean;
}
const SHAPES: Shape[] = [
  { label: 'no EDNS', rd: false },
  { label: 'no EDNS, RD', rd: true },
  { label: 'EDNS 1232', opt: { size: 1232 }, rd: false },
  { label: 'EDNS 1232 DO RD', opt: { size: 1232, do: true }, rd: true },
  { label: 'EDNS 512', opt: { size: 512 }, rd: false },
  { label: 'EDNS 4096 DO', opt: { size: 4096, do: true }, rd: false },
  { label: 'EDNS 100 (below 512)', opt: { size: 100 }, rd: true },
  { label: 'EDNS 700', opt: { size: 700 }, rd: false },
];

function allNames(): string[] {
  const zone = exampleZone();
  const names = new Set<string>();
  for (const r of zone.records) {
    // Owner and every ancestor up to the apex (empty non-terminals).
    for (let n = r.name; n !== '' && n.endsWith(zone.origin); n = parentName(n)) names.add(n);
  }
  for (const d of DYNAMIC) names.add(d.name);
  // NXDOMAIN, wildcard synthesis, below a delegation, outside every zone, the root.
  for (const n of ['nx.example.test', 'deep.nx.example.test', 'foo.wild.example.test', 'a.b.wild.example.test', 'x.sub.example.test', 'sub.example.test', 'elsewhere.invalid', 'test', '']) names.add(n);
  return [...names];
}

function casings(name: string, seed: number): string[] {
  if (name === '') return [''];
  let mixed = '';
  for (let i = 0; i < name.length; i++) mixed += (i + seed) % 3 === 0 ? name[i]!.toUpperCase() : name[i];
  return [name, name.toUpperCase(), mixed];
}

/** The full path's reply: dns2 parses the bytes, DnsServer.answer encodes. */
function fullPath(server: DnsServer, raw: Buffer): Buffer {
  const req = parseRequest(raw);
  const replies = server.answer(req, 'udp');
  assert.equal(replies.length, 1);
  return replies[0]!;
}

describe('fast path vs full path, byte for byte', () => {
  const server = new DnsServer({ clock: systemClock, listen: [], logger: silentLogger, pick: () => 0 });
  const snapshot = buildSnapshot([exampleZone()], DYNAMIC);
  server.setSnapshot(snapshot);

  test('over the whole example zone: every name, type, EDNS shape, RD and case', () => {
    let compared = 0;
    let fast = 0;
    const fastByName = new Map<string, number>();
    let id = 1;
    for (const name of allNames()) {
      for (const qtype of TYPES) {
        for (const shape of SHAPES) {
          for (const asked of casings(name, qtype)) {
            const raw = buildQuery(asked, qtype, { id: id++ & 0xffff, flags: shape.rd ? 0x0100 : 0, opt: shape.opt });
            const full = fullPath(server, raw);
            const quick = server.fastAnswer(raw);
            compared++;
            if (quick === undefined) continue;
            fast++;
            fastByName.set(name, (fastByName.get(name) ?? 0) + 1);
            assert.deepEqual(quick, full, `${asked} type ${qtype} ${shape.label}: fast path differs from full path\nfast ${quick.toString('hex')}\nfull ${full.toString('hex')}`);
          }
        }
      }
    }
    // The fast path must answer most of these, or the comparison proves little.
    assert.ok(fast > compared * 0.6, `fast path answered only ${fast} of ${compared}`);
    for (const n of ['www.example.test', 'static.example.test', 'nx.example.test', 'example.test', 'foo.wild.example.test', 'alias.example.test', 'closed.example.test', 'cn.example.test', 'multi.example.test']) {
      assert.ok((fastByName.get(n) ?? 0) > 0, `fast path never answered ${n}`);
    }
  });

  test('weighted answers, SERVFAIL, REFUSED and truncation go to the full path', () => {
    const scratch = newPlainQuery();
    const templates = new ReplyTemplates(snapshot);
    const none = (name: string, type: number, opt?: { size?: number }) => assert.equal(fastAnswer(buildQuery(name, type, { opt }), templates, scratch), undefined, `${name}/${type} must use the full path`);
    none('weighted.example.test', 1);
    none('weighted.example.test', 1, { size: 1232 });
    none('down.example.test', 1);
    none('elsewhere.invalid', 1);
    none('big.example.test', 1); // over 512 without EDNS
    none('big.example.test', 1, { size: 512 });
    // ... but fits in 1232 with EDNS: templated, and still bounded by the client's size.
    assert.ok(fastAnswer(buildQuery('big.example.test', 1, { opt: { size: 1232 } }), templates, scratch));
    assert.equal(fastAnswer(buildQuery('big.example.test', 1, { opt: { size: 600 } }), templates, scratch), undefined);
  });

  test('unusual queries are not plain: other opcodes, several questions, options, versions, pointers, classes, transfers', () => {
    const q = newPlainQuery();
    const plain = (b: Buffer) => readPlainQuery(b, q);
    assert.ok(plain(buildQuery('www.example.test', 1)));
    assert.ok(plain(buildQuery('www.example.test', 1, { opt: { size: 1232, do: true } })));
    assert.ok(plain(buildQuery('www.example.test', 1, { flags: 0x0130 })), 'RD, AD and CD are fine');
    assert.ok(!plain(buildQuery('www.example.test', 1, { flags: 0x8000 })), 'a response');
    assert.ok(!plain(buildQuery('www.example.test', 1, { flags: 4 << 11 })), 'NOTIFY');
    assert.ok(!plain(buildQuery('www.example.test', 1, { flags: 2 << 11 })), 'STATUS');
    assert.ok(!plain(buildQuery('www.example.test', 1, { qdcount: 2 })), 'QDCOUNT 2');
    assert.ok(!plain(buildQuery('www.example.test', 1, { opt: { options: Buffer.from([0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8]) } })), 'EDNS cookie option');
    assert.ok(!plain(buildQuery('www.example.test', 1, { opt: { version: 1 } })), 'EDNS version 1');
    assert.ok(!plain(buildQuery('www.example.test', 1, { qclass: 3 })), 'class CH');
    assert.ok(!plain(buildQuery('example.test', 252)), 'AXFR');
    assert.ok(!plain(buildQuery('example.test', 251)), 'IXFR');
    assert.ok(!plain(Buffer.concat([buildQuery('www.example.test', 1), Buffer.from([0])])), 'trailing byte');
    assert.ok(!plain(buildQuery('www.example.test', 1).subarray(0, 20)), 'cut short');
    const pointer = Buffer.from(buildQuery('www.example.test', 1));
    pointer[12] = 0xc0;
    pointer[13] = 12;
    assert.ok(!plain(pointer), 'compression pointer in the question');
    assert.ok(!plain(buildQuery('a\u00e9b.example.test', 1)), 'non-ASCII label');
    const dotted = buildQuery('axb.example.test', 1);
    dotted[14] = 0x2e;
    assert.ok(!plain(dotted), 'a "." inside a label');
    const ancount = Buffer.from(buildQuery('www.example.test', 1));
    ancount[7] = 1;
    assert.ok(!plain(ancount), 'ANCOUNT 1');
  });
});

describe('fast path on the UDP socket', () => {
  let dns: RunningDns;
  before(async () => {
    dns = await startDns(undefined, DYNAMIC);
  });
  after(() => dns.stop());

  test('answers plain queries itself, the same bytes as the full path', async () => {
    const before = dns.server.fastReplies;
    for (const [name, type] of [['WwW.Example.TEST', 1], ['static.example.test', 1], ['nope.example.test', 1], ['static.example.test', 15]] as const) {
      for (const opt of [undefined, { size: 1232, do: true }]) {
        const raw = buildQuery(name, type, { id: 0xbeef, flags: 0x0100, opt });
        const reply = await udpExchange(dns.port, raw);
        assert.ok(reply, `no reply for ${name}`);
        assert.deepEqual(reply, fullPath(dns.server, raw));
      }
    }
    assert.equal(dns.server.fastReplies - before, 8);
  });

  test('a swapped snapshot is answered at once (no stale template)', async () => {
    const ask = async () => {
      const reply = await udpExchange(dns.port, buildQuery('www.example.test', 1));
      return (Packet.parse(reply!) as unknown as { answers: Array<{ address: string }> }).answers[0]!.address;
    };
    assert.equal(await ask(), '127.0.0.1');
    dns.publish(DYNAMIC.map((d) => (d.name === 'www.example.test' ? { ...d, values: ['127.0.0.2'] } : d)));
    assert.equal(await ask(), '127.0.0.2');
  });

  test('unusual queries still get the full path over the socket', async () => {
    const before = dns.server.fastReplies;
    const notify = await udpExchange(dns.port, buildQuery('example.test', 6, { flags: 4 << 11 }));
    assert.ok(notify);
    const withCookie = buildQuery('static.example.test', 1, { opt: { options: Buffer.from([0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8]) } });
    const reply = await udpExchange(dns.port, withCookie);
    assert.deepEqual(reply, fullPath(dns.server, withCookie));
    assert.equal(dns.server.fastReplies, before);
  });
});
