/**
 * For the same zone files, failoverd's flags, rcode and sections match what
 * NSD answers, case by case (Debian's nsd, started by the test): the example
 * zone, and a parent zone served together with its child (DS at delegation
 * points and at the child's apex, ANY at CNAMEs, zone transfers refused).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { parseZoneText } from '../src/zones/parse.ts';
import { dig, type DigResult } from './helpers/dig.ts';
import { EXAMPLE_ZONE_FILE, startDns, type RunningDns } from './helpers/dns-fixture.ts';
import { startNsd, startNsdZones, type RunningNsd } from './helpers/nsd.ts';
import { buildQuery, flagsOf, rcodeOf, tcpExchange, udpExchange } from './helpers/raw-dns.ts';
import { hasTool, needTool } from './helpers/tools.ts';

/** NSD refuses TXT strings over 255 characters; split them the way our parser does. */
function nsdCompatible(text: string): string {
  return text.replace(/"([^"\n]{256,})"/g, (_, s: string) => {
    const parts: string[] = [];
    for (let i = 0; i < s.length; i += 255) parts.push(`"${s.slice(i, i + 255)}"`);
    return parts.join(' ');
  });
}

const zoneText = nsdCompatible(readFileSync(EXAMPLE_ZONE_FILE, 'utf8'));
const FAMILY = ['parent.test', 'kid.parent.test'].map((origin) => ({
  origin,
  text: readFileSync(new URL(`./fixtures/zones/parent-child/${origin}.zone`, import.meta.url), 'utf8'),
}));
let ours: RunningDns | undefined;
let nsd: RunningNsd | undefined;
let oursFamily: RunningDns | undefined;
let nsdFamily: RunningNsd | undefined;
const ready = hasTool('nsd') && hasTool('dig');

before(async () => {
  if (!ready) return;
  ours = await startDns([parseZoneText(zoneText, { file: 'example.test.zone' })]);
  nsd = await startNsd('example.test', zoneText);
  oursFamily = await startDns(FAMILY.map((z) => parseZoneText(z.text, { file: `${z.origin}.zone` })));
  nsdFamily = await startNsdZones(FAMILY);
});
after(async () => {
  await ours?.stop();
  await nsd?.stop();
  await oursFamily?.stop();
  await nsdFamily?.stop();
});

const CASES: Array<[string, string, string[]?]> = [
  ['static.example.test', 'A'],
  ['StAtIc.ExAmPlE.TeSt', 'A'],
  ['static.example.test', 'MX'],
  ['static.example.test', 'TYPE65'],
  ['v6.example.test', 'AAAA'],
  ['nope.example.test', 'A'],
  ['nope.example.test', 'AAAA', ['+noedns']],
  ['b.ent.example.test', 'A'],
  ['ent.example.test', 'TXT'],
  ['alias.example.test', 'A'],
  ['alias.example.test', 'CNAME'],
  ['alias.example.test', 'MX'],
  ['ext.example.test', 'A'],
  ['ptr.example.test', 'PTR'],
  ['mail.example.test', 'MX'],
  ['_sip._tcp.example.test', 'SRV'],
  ['txt.example.test', 'TXT'],
  ['example.test', 'SOA'],
  ['example.test', 'NS'],
  ['example.test', 'CAA'],
  ['example.test', 'ANY'],
  ['example.test', 'A'],
  ['static.example.test', 'ANY'],
  ['foo.wild.example.test', 'A'],
  ['a.b.wild.example.test', 'A'],
  ['foo.wild.example.test', 'MX'],
  ['wild.example.test', 'A'],
  ['x.static.example.test', 'A'],
  ['sub.example.test', 'A'],
  ['sub.example.test', 'NS'],
  ['sub.example.test', 'DS'],
  ['SuB.example.test', 'DS', ['+dnssec']],
  ['deep.sub.example.test', 'DS'],
  ['alias.example.test', 'ANY'],
  ['ext.example.test', 'ANY'],
  ['deep.sub.example.test', 'AAAA'],
  ['ns.sub.example.test', 'A'],
  ['ns1.example.test', 'A'],
  ['big.example.test', 'A', ['+noedns', '+ignore']],
  ['big.example.test', 'A', ['+bufsize=512', '+ignore']],
  ['big.example.test', 'A', ['+bufsize=1232', '+ignore']],
  ['big.example.test', 'A', ['+tcp']],
  ['static.example.test', 'A', ['+rec']],
  ['static.example.test', 'A', ['+dnssec']],
  ['static.example.test', 'A', ['+cd']],
  ['static.example.test', 'A', ['+tcp']],
  ['www.example.org', 'A'],
  ['static.example.test', 'A', ['-c', 'CH']],
];

/** The parent/child pair: DS is the parent's data, ANY matches a CNAME itself. */
const FAMILY_CASES: Array<[string, string, string[]?]> = [
  ['d.parent.test', 'DS'],
  ['d.parent.test', 'A'],
  ['d.parent.test', 'NS'],
  ['ns.d.parent.test', 'DS'],
  ['to-d.parent.test', 'DS'],
  ['to-d.parent.test', 'A'],
  ['kid.parent.test', 'DS'],
  ['KID.parent.test', 'DS', ['+tcp']],
  ['kid.parent.test', 'SOA'],
  ['kid.parent.test', 'NS'],
  ['kid.parent.test', 'A'],
  ['www.kid.parent.test', 'DS'],
  ['to-kid.parent.test', 'DS'],
  ['to-kid.parent.test', 'A'],
  ['parent.test', 'DS'],
  ['x.ent.parent.test', 'DS'],
  ['ent.parent.test', 'DS'],
  ['nx.parent.test', 'DS'],
  ['alias.parent.test', 'ANY'],
  ['dangling.parent.test', 'ANY'],
  ['dangling.parent.test', 'A'],
  ['loop1.parent.test', 'ANY'],
  ['loop1.parent.test', 'A'],
  ['alias.parent.test', 'DS'],
  ['ns1.kid.parent.test', 'A'],
  ['self.parent.test', 'A'],
  ['wmx.parent.test', 'MX'],
  ['mxd.parent.test', 'MX'],
  ['static.parent.test', 'A', ['-c', 'ANY']],
  ['static.parent.test', 'MX', ['-c', 'ANY']],
  ['nx.parent.test', 'A', ['-c', 'ANY']],
  ['d.parent.test', 'A', ['-c', 'ANY']],
  ['to-d.parent.test', 'A', ['-c', 'ANY']],
  ['wmx.parent.test', 'MX', ['-c', 'ANY']],
  ['WMX.parent.test', 'ANY'],
  ['q.wl.parent.test', 'A'],
  ['x.wl.parent.test', 'AAAA'],
  ['longtxt.parent.test', 'TXT', ['+noedns']],
  ['longtxt.parent.test', 'TXT', ['+tcp']],
  ['tobig.parent.test', 'A', ['+noedns', '+ignore']],
  ['tobig.parent.test', 'A', ['+bufsize=512', '+ignore']],
  ['tobig.parent.test', 'A', ['+tcp']],
];

function comparable(r: DigResult) {
  return { status: r.status, flags: r.flags, answer: r.answer, authority: r.authority, additional: r.additional, edns: r.edns && { version: r.edns.version, udp: r.edns.udp, flags: r.edns.flags } };
}

test('failoverd answers like NSD 4.6 for the example zone, case by case', async (t) => {
  if (!needTool(t, 'nsd') || !needTool(t, 'dig', 'bind9-dnsutils')) return;
  const mismatches: string[] = [];
  for (const [name, type, extra] of CASES) {
    const [a, b] = await Promise.all([dig(nsd!.port, name, type, extra), dig(ours!.port, name, type, extra)]);
    try {
      assert.deepEqual(comparable(b), comparable(a));
    } catch {
      mismatches.push(`${name} ${type} ${(extra ?? []).join(' ')}\n  nsd:       ${JSON.stringify(comparable(a))}\n  failoverd: ${JSON.stringify(comparable(b))}`);
    }
  }
  assert.equal(mismatches.length, 0, `differences from NSD:\n${mismatches.join('\n')}`);
});

test('failoverd answers like NSD 4.6 for a parent zone served with its child', async (t) => {
  if (!needTool(t, 'nsd') || !needTool(t, 'dig', 'bind9-dnsutils')) return;
  const mismatches: string[] = [];
  for (const [name, type, extra] of FAMILY_CASES) {
    const [a, b] = await Promise.all([dig(nsdFamily!.port, name, type, extra), dig(oursFamily!.port, name, type, extra)]);
    try {
      assert.deepEqual(comparable(b), comparable(a));
    } catch {
      mismatches.push(`${name} ${type} ${(extra ?? []).join(' ')}\n  nsd:       ${JSON.stringify(comparable(a))}\n  failoverd: ${JSON.stringify(comparable(b))}`);
    }
  }
  assert.equal(mismatches.length, 0, `differences from NSD:\n${mismatches.join('\n')}`);
});

test('zone transfers without an ACL: rcode and flags as NSD (AXFR over UDP NOTIMP; a name that is no apex NOTAUTH)', async (t) => {
  if (!needTool(t, 'nsd')) return;
  const cases: Array<[string, number, 'udp' | 'tcp']> = [
    ['parent.test', 252, 'udp'],
    ['static.parent.test', 252, 'udp'],
    ['nowhere.invalid', 252, 'udp'],
    ['parent.test', 252, 'tcp'],
    ['static.parent.test', 252, 'tcp'],
    ['kid.parent.test', 251, 'tcp'],
    ['parent.test', 251, 'udp'],
    ['static.parent.test', 251, 'tcp'],
  ];
  const ask = async (port: number, name: string, type: number, transport: 'udp' | 'tcp') => {
    const q = buildQuery(name, type, { id: 4321 });
    const reply = transport === 'udp' ? await udpExchange(port, q) : (await tcpExchange(port, [q], 1))[0];
    assert.ok(reply, `${name} ${type} over ${transport}: no reply`);
    return { rcode: rcodeOf(reply), flags: flagsOf(reply), bytes: reply.toString('hex') };
  };
  for (const [name, type, transport] of cases) {
    const [a, b] = await Promise.all([ask(nsdFamily!.port, name, type, transport), ask(oursFamily!.port, name, type, transport)]);
    assert.deepEqual(b, a, `${name} type ${type} over ${transport}`);
  }
});
