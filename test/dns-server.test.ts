/**
 * The embedded authoritative server, one test per rule, queried by real
 * clients on a loopback port: dig for flags and sections, Node's
 * dns.promises.Resolver for what applications see, raw packets for the rest.
 */
import assert from 'node:assert/strict';
import { Resolver } from 'node:dns/promises';
import { after, before, describe, test } from 'node:test';
import { Packet } from '../src/dns/dns2.ts';
import { randomWeightedPick } from '../src/dns/server.ts';
import { dig } from './helpers/dig.ts';
import { startDns, type RunningDns } from './helpers/dns-fixture.ts';
import { buildQuery, flagsOf, rcodeOf, tcpExchange, udpExchange } from './helpers/raw-dns.ts';
import { needTool } from './helpers/tools.ts';

let dns: RunningDns;
let resolver: Resolver;

before(async () => {
  dns = await startDns(undefined, [
    { name: 'www.example.test', type: 'A', ttl: 30, kind: 'values', values: ['127.0.0.1'] },
    { name: 'down.example.test', type: 'A', ttl: 30, kind: 'servfail', values: [] },
    { name: 'closed.example.test', type: 'A', ttl: 5, kind: 'nodata', values: [] },
  ]);
  resolver = new Resolver({ timeout: 2000, tries: 1 });
  resolver.setServers([`127.0.0.1:${dns.port}`]);
});
after(() => dns.stop());

const SOA_NEG = 'example.test. 300 IN SOA ns1.example.test. hostmaster.example.test.';

describe('with dig', () => {
  test('AA set on an answer, RD copied, RA clear', async (t) => {
    if (!needTool(t, 'dig', 'bind9-dnsutils')) return;
    const r = await dig(dns.port, 'static.example.test', 'A');
    assert.equal(r.status, 'NOERROR');
    assert.deepEqual(r.flags, ['aa', 'qr']);
    assert.deepEqual(r.answer, ['static.example.test. 300 IN A 127.0.0.10']);
    const rd = await dig(dns.port, 'static.example.test', 'A', ['+rec']);
    assert.deepEqual(rd.flags, ['aa', 'qr', 'rd']);
  });

  test('positive answers carry the apex NS and their addresses, as NSD does', async (t) => {
    if (!needTool(t, 'dig', 'bind9-dnsutils')) return;
    const r = await dig(dns.port, 'mail.example.test', 'MX');
    assert.deepEqual(r.answer, ['mail.example.test. 3600 IN MX 10 mx1.example.test.']);
    assert.deepEqual(r.authority, ['example.test. 3600 IN NS ns1.example.test.', 'example.test. 3600 IN NS ns2.example.test.']);
    assert.deepEqual(r.additional, ['mx1.example.test. 3600 IN A 127.0.0.20', 'ns1.example.test. 3600 IN A 127.0.0.53', 'ns2.example.test. 3600 IN A 127.0.0.54']);
  });

  test('NODATA: name exists, type does not → NOERROR, no answer, SOA with TTL min(SOA TTL, MINIMUM)', async (t) => {
    if (!needTool(t, 'dig', 'bind9-dnsutils')) return;
    const r = await dig(dns.port, 'static.example.test', 'MX');
    assert.equal(r.status, 'NOERROR');
    assert.deepEqual(r.flags, ['aa', 'qr']);
    assert.equal(r.answer.length, 0);
    assert.equal(r.authority.length, 1);
    assert.ok(r.authority[0]!.startsWith(SOA_NEG), r.authority[0]);
  });

  test('empty non-terminal → NODATA, not NXDOMAIN', async (t) => {
    if (!needTool(t, 'dig', 'bind9-dnsutils')) return;
    for (const name of ['b.ent.example.test', 'ent.example.test']) {
      const r = await dig(dns.port, name, 'A');
      assert.equal(r.status, 'NOERROR', name);
      assert.equal(r.answer.length, 0);
      assert.ok(r.authority[0]!.startsWith(SOA_NEG));
    }
  });

  test('name does not exist → NXDOMAIN with the SOA', async (t) => {
    if (!needTool(t, 'dig', 'bind9-dnsutils')) return;
    const r = await dig(dns.port, 'nope.example.test', 'A');
    assert.equal(r.status, 'NXDOMAIN');
    assert.deepEqual(r.flags, ['aa', 'qr']);
    assert.ok(r.authority[0]!.startsWith(SOA_NEG));
  });

  test('CNAME is followed inside the zone; one to elsewhere stops', async (t) => {
    if (!needTool(t, 'dig', 'bind9-dnsutils')) return;
    const r = await dig(dns.port, 'alias.example.test', 'A');
    assert.deepEqual(r.answer, ['alias.example.test. 3600 IN CNAME static.example.test.', 'static.example.test. 300 IN A 127.0.0.10']);
    const ext = await dig(dns.port, 'ext.example.test', 'A');
    assert.equal(ext.status, 'NOERROR');
    assert.deepEqual(ext.answer, ['ext.example.test. 3600 IN CNAME www.elsewhere.invalid.']);
    const c = await dig(dns.port, 'alias.example.test', 'CNAME');
    assert.deepEqual(c.answer, ['alias.example.test. 3600 IN CNAME static.example.test.']);
  });

  test('NS below the apex → referral: AA clear, NS in authority, glue in additional', async (t) => {
    if (!needTool(t, 'dig', 'bind9-dnsutils')) return;
    for (const name of ['sub.example.test', 'deep.name.sub.example.test', 'ns.sub.example.test']) {
      const r = await dig(dns.port, name, 'A');
      assert.equal(r.status, 'NOERROR', name);
      assert.deepEqual(r.flags, ['qr'], name);
      assert.equal(r.answer.length, 0);
      assert.deepEqual(r.authority, ['sub.example.test. 3600 IN NS ns.sub.example.test.']);
      assert.deepEqual(r.additional, ['ns.sub.example.test. 3600 IN A 127.0.0.60']);
    }
  });

  test('wildcards per RFC 4592: synthesized at the query name, NODATA for other types, not over existing names', async (t) => {
    if (!needTool(t, 'dig', 'bind9-dnsutils')) return;
    const r = await dig(dns.port, 'foo.wild.example.test', 'A');
    assert.deepEqual(r.answer, ['foo.wild.example.test. 3600 IN A 127.0.0.40']);
    const deep = await dig(dns.port, 'a.b.wild.example.test', 'A');
    assert.deepEqual(deep.answer, ['a.b.wild.example.test. 3600 IN A 127.0.0.40']);
    const mx = await dig(dns.port, 'foo.wild.example.test', 'MX');
    assert.equal(mx.status, 'NOERROR');
    assert.equal(mx.answer.length, 0);
    // "wild" itself is an empty non-terminal: the wildcard does not cover it.
    const wild = await dig(dns.port, 'wild.example.test', 'A');
    assert.equal(wild.status, 'NOERROR');
    assert.equal(wild.answer.length, 0);
    // A wildcard is matched only at the closest encloser: below an existing name it does not apply.
    const below = await dig(dns.port, 'x.static.example.test', 'A');
    assert.equal(below.status, 'NXDOMAIN');
  });

  test('a name in no served zone → REFUSED, AA clear', async (t) => {
    if (!needTool(t, 'dig', 'bind9-dnsutils')) return;
    const r = await dig(dns.port, 'www.example.org', 'A');
    assert.equal(r.status, 'REFUSED');
    assert.deepEqual(r.flags, ['qr']);
  });

  test('class other than IN → REFUSED (CHAOS version.bind included)', async (t) => {
    if (!needTool(t, 'dig', 'bind9-dnsutils')) return;
    const r = await dig(dns.port, 'version.bind', 'TXT', ['-c', 'CH']);
    assert.equal(r.status, 'REFUSED');
    const hs = await dig(dns.port, 'static.example.test', 'A', ['-c', 'HS']);
    assert.equal(hs.status, 'REFUSED');
  });

  test('names match case-insensitively and the question case is echoed', async (t) => {
    if (!needTool(t, 'dig', 'bind9-dnsutils')) return;
    const r = await dig(dns.port, 'StAtIc.ExAmPlE.tEsT', 'A', ['+question']);
    assert.match(r.raw, /;StAtIc\.ExAmPlE\.tEsT\.\s+IN\s+A/);
    assert.deepEqual(r.answer, ['StAtIc.ExAmPlE.tEsT. 300 IN A 127.0.0.10']);
  });

  test('EDNS0: OPT with UDP size 1232 when asked, none otherwise; DO copied', async (t) => {
    if (!needTool(t, 'dig', 'bind9-dnsutils')) return;
    const r = await dig(dns.port, 'static.example.test', 'A');
    assert.deepEqual(r.edns, { version: 0, flags: [], udp: 1232 });
    const plain = await dig(dns.port, 'static.example.test', 'A', ['+noedns']);
    assert.equal(plain.edns, undefined);
    assert.equal(plain.counts.additional, 2);
    const d = await dig(dns.port, 'static.example.test', 'A', ['+dnssec']);
    assert.deepEqual(d.edns?.flags, ['do']);
  });

  test('EDNS version above 0 → BADVERS with AA clear', async (t) => {
    if (!needTool(t, 'dig', 'bind9-dnsutils')) return;
    const r = await dig(dns.port, 'static.example.test', 'A', ['+edns=1', '+noednsnegotiation']);
    assert.equal(r.status, 'BADVERS');
    assert.deepEqual(r.flags, ['qr']);
    assert.equal(r.edns?.version, 0);
    assert.equal(r.answer.length, 0);
  });

  test('over 512 bytes on UDP → TC set, OPT kept; TCP returns the whole answer', async (t) => {
    if (!needTool(t, 'dig', 'bind9-dnsutils')) return;
    const udp = await dig(dns.port, 'big.example.test', 'A', ['+noedns', '+ignore']);
    assert.ok(udp.flags.includes('tc'), udp.flags.join(' '));
    assert.equal(udp.counts.answer, 0);
    const small = await dig(dns.port, 'big.example.test', 'A', ['+bufsize=512', '+ignore']);
    assert.ok(small.flags.includes('tc'));
    assert.equal(small.edns?.udp, 1232, 'the OPT survives truncation');
    const tcp = await dig(dns.port, 'big.example.test', 'A', ['+tcp']);
    assert.deepEqual(tcp.flags, ['aa', 'qr']);
    assert.equal(tcp.answer.length, 40);
    const roomy = await dig(dns.port, 'big.example.test', 'A', ['+bufsize=1232', '+ignore']);
    assert.equal(roomy.answer.length, 40, 'fits in the EDNS size');
    assert.ok(!roomy.flags.includes('tc'));
  });

  test('ANY → one RRset (RFC 8482), never a dump', async (t) => {
    if (!needTool(t, 'dig', 'bind9-dnsutils')) return;
    const apex = await dig(dns.port, 'example.test', 'ANY');
    assert.equal(apex.answer.length, 1);
    assert.match(apex.answer[0]!, /IN SOA ns1\.example\.test\./);
    const big = await dig(dns.port, 'big.example.test', 'ANY', ['+tcp']);
    assert.equal(big.answer.length, 40, 'one RRset: all of its records');
    const txt = await dig(dns.port, 'txt.example.test', 'ANY');
    assert.equal(txt.answer.length, 1);
  });

  test('TXT strings over 255 bytes go out as several character-strings', async (t) => {
    if (!needTool(t, 'dig', 'bind9-dnsutils')) return;
    const r = await dig(dns.port, 'txt.example.test', 'TXT');
    assert.equal(r.answer.length, 1);
    const strings = r.answer[0]!.match(/"(?:[^"\\]|\\.)*"/g)!;
    assert.equal(strings.length, 4);
    assert.ok(strings.every((s) => s.length - 2 <= 255));
  });

  test('dynamic record set: answers, NODATA when closed, SERVFAIL when asked to', async (t) => {
    if (!needTool(t, 'dig', 'bind9-dnsutils')) return;
    assert.deepEqual((await dig(dns.port, 'www.example.test', 'A')).answer, ['www.example.test. 30 IN A 127.0.0.1']);
    const sf = await dig(dns.port, 'down.example.test', 'A');
    assert.equal(sf.status, 'SERVFAIL');
    const nd = await dig(dns.port, 'closed.example.test', 'A');
    assert.equal(nd.status, 'NOERROR');
    assert.equal(nd.answer.length, 0);
  });
});

describe('with dns.Resolver', () => {
  test('what an application sees', async () => {
    assert.deepEqual(await resolver.resolve4('static.example.test'), ['127.0.0.10']);
    assert.deepEqual(await resolver.resolve6('v6.example.test'), ['::1']);
    assert.deepEqual(await resolver.resolveCname('alias.example.test'), ['static.example.test']);
    // Only the fields failoverd answers: Node 24 adds its own (`type`) to these objects.
    const mx = (await resolver.resolveMx('mail.example.test')).map(({ exchange, priority }) => ({ exchange, priority }));
    assert.deepEqual(mx, [{ exchange: 'mx1.example.test', priority: 10 }]);
    const srv = (await resolver.resolveSrv('_sip._tcp.example.test')).map(({ name, port, priority, weight }) => ({ name, port, priority, weight }));
    assert.deepEqual(srv, [{ name: 'sip.example.test', port: 5060, priority: 10, weight: 60 }]);
    assert.deepEqual((await resolver.resolveNs('example.test')).sort(), ['ns1.example.test', 'ns2.example.test']);
    const caa = (await resolver.resolveCaa('example.test')).map(({ critical, issue }) => ({ critical, issue }));
    assert.deepEqual(caa, [{ critical: 0, issue: 'letsencrypt.org' }]);
    assert.deepEqual(await resolver.resolvePtr('ptr.example.test'), ['static.example.test']);
    const txt = await resolver.resolveTxt('txt.example.test');
    assert.equal(txt.length, 1);
    assert.equal(txt[0]![0], 'first string');
    assert.equal(txt[0]!.slice(2).join('').length, 308);
    const soa = await resolver.resolveSoa('example.test');
    assert.equal(soa.nsname, 'ns1.example.test');
    assert.equal(soa.minttl, 300);
    assert.deepEqual((await resolver.resolve4('big.example.test')).length, 40, 'TC over UDP, then TCP');
  });

  test('negative answers map to the right errors', async () => {
    await assert.rejects(resolver.resolve4('nope.example.test'), { code: 'ENOTFOUND' });
    await assert.rejects(resolver.resolve4('static.example.test'.replace('static', 'mail')), { code: 'ENODATA' });
    await assert.rejects(resolver.resolve4('www.example.org'), { code: 'EREFUSED' });
    await assert.rejects(resolver.resolve4('down.example.test'), { code: 'ESERVFAIL' });
  });
});

describe('with raw packets', () => {
  test('more than one question → FORMERR', async () => {
    const q = buildQuery('static.example.test', 1, { qdcount: 2 });
    const reply = await udpExchange(dns.port, q);
    assert.ok(reply);
    assert.equal(rcodeOf(reply), 1);
    assert.equal(reply.readUInt16BE(0), 0x1234);
  });

  test('no question → FORMERR', async () => {
    const reply = await udpExchange(dns.port, buildQuery('static.example.test', 1, { qdcount: 0 }).subarray(0, 12));
    assert.ok(reply);
    assert.equal(rcodeOf(reply), 1);
  });

  test('a header and garbage → FORMERR; under 12 bytes → dropped', async () => {
    const junk = Buffer.concat([Buffer.from([0xab, 0xcd, 0x00, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0]), Buffer.from([0xc0, 0xff, 0x3f])]);
    const reply = await udpExchange(dns.port, junk);
    assert.ok(reply);
    assert.equal(reply.readUInt16BE(0), 0xabcd);
    assert.equal(rcodeOf(reply), 1);
    assert.equal(await udpExchange(dns.port, Buffer.from([1, 2, 3]), 300), undefined);
  });

  test('opcodes other than QUERY → NOTIMP', async () => {
    for (const opcode of [1, 2, 4, 5]) {
      const reply = await udpExchange(dns.port, buildQuery('example.test', 6, { flags: opcode << 11 }));
      assert.ok(reply, `opcode ${opcode}`);
      assert.equal(rcodeOf(reply), 4, `opcode ${opcode}`);
      assert.equal(flagsOf(reply).opcode, opcode);
    }
  });

  test('responses are never answered (no reflection loops)', async () => {
    assert.equal(await udpExchange(dns.port, buildQuery('static.example.test', 1, { flags: 0x8000 }), 300), undefined);
  });

  test('zone transfers are refused until secondaries are configured', async () => {
    const [reply] = await tcpExchange(dns.port, [buildQuery('example.test', 252)], 1);
    assert.ok(reply);
    assert.equal(rcodeOf(reply), 5);
  });

  test('TCP: pipelined queries on one connection are all answered', async () => {
    const qs = [1, 2, 3].map((id) => buildQuery('static.example.test', 1, { id }));
    const replies = await tcpExchange(dns.port, qs, 3);
    assert.deepEqual(replies.map((r) => r.readUInt16BE(0)).sort(), [1, 2, 3]);
    assert.ok(replies.every((r) => flagsOf(r).aa && rcodeOf(r) === 0));
  });
});

describe('snapshots', () => {
  test('the SOA serial moves when served data changes, and only then', async () => {
    const serial = async () => (await resolver.resolveSoa('example.test')).serial;
    const s0 = await serial();
    dns.publish([{ name: 'www.example.test', type: 'A', ttl: 30, kind: 'values', values: ['127.0.0.2'] }]);
    const s1 = await serial();
    assert.equal(s1, s0 + 1);
    assert.deepEqual(await resolver.resolve4('www.example.test'), ['127.0.0.2']);
    dns.publish([{ name: 'www.example.test', type: 'A', ttl: 30, kind: 'values', values: ['127.0.0.2'] }]);
    assert.equal(await serial(), s1, 'same data, same serial');
  });
});

test('a label holding a "." byte cannot be echoed faithfully → FORMERR, not SERVFAIL', async () => {
  const q = buildQuery('static.example.test', 1);
  q[13] = 0x2e; // the "s" of "static" becomes "."
  const reply = await udpExchange(dns.port, q);
  assert.ok(reply);
  assert.equal(rcodeOf(reply), 1);
});

test('a weighted record set answers one target per query, in proportion to the weights', async () => {
  const weighted = await startDns(undefined, [{ name: 'w.example.test', type: 'A', ttl: 30, kind: 'values', values: ['127.0.0.1', '127.0.0.2'], weights: [3, 1] }], randomWeightedPick);
  try {
    const counts = new Map<string, number>();
    const N = 1200;
    for (let i = 0; i < N; i += 50) {
      const replies = await Promise.all(Array.from({ length: 50 }, (_, k) => udpExchange(weighted.port, buildQuery('w.example.test', 1, { id: i + k }))));
      for (const r of replies) {
        assert.ok(r);
        const parsed = Packet.parse(r) as unknown as { answers: Array<{ address: string }> };
        assert.equal(parsed.answers.length, 1, 'exactly one answer');
        const a = parsed.answers[0]!.address;
        counts.set(a, (counts.get(a) ?? 0) + 1);
      }
    }
    assert.deepEqual([...counts.keys()].sort(), ['127.0.0.1', '127.0.0.2']);
    const share = counts.get('127.0.0.1')! / N;
    assert.ok(share > 0.7 && share < 0.8, `127.0.0.1 answered ${(share * 100).toFixed(1)}% of queries, weight says 75%`);
  } finally {
    await weighted.stop();
  }
});
