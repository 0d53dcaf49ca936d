/**
 * The resolver without sockets, as CoreDNS tests its file plugin: tables of
 * (qname, qtype) → rcode, AA and the three sections, over the example zone
 * with its dynamic record sets, and over a parent zone served with its child
 * (DS belongs to the parent side of a cut, ANY at a CNAME is the CNAME).
 * test/nsd-compare.test.ts checks the same kinds of answers against NSD.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import dnsPacket from 'dns-packet';
import { describe, test } from 'node:test';
import { parseRequest } from '../src/dns/dns2.ts';
import { resolveQuestion, type AnswerRR } from '../src/dns/resolve.ts';
import { RCODE } from '../src/dns/wire/constants.ts';
import { DnsServer } from '../src/dns/server.ts';
import { silentLogger } from '../src/log.ts';
import { buildSnapshot, type DynamicRRset, type Snapshot } from '../src/records/snapshot.ts';
import { RR_TYPE_CODE, type RData, type RRType } from '../src/dns-model/records.ts';
import { parseZoneText } from '../src/zones/parse.ts';
import { exampleZone } from './helpers/dns-fixture.ts';
import { buildQuery } from './helpers/raw-dns.ts';
import { systemClock } from '../src/clock.ts';

type Rcode = keyof typeof RCODE;

interface Row {
  q: string;
  /** A type name, or a number for types failoverd has no name for (DS 43, ANY 255, 65, 99). */
  t: RRType | number;
  rcode: Rcode;
  aa: boolean;
  an?: readonly string[];
  ns?: readonly string[];
  ar?: readonly string[];
}

const DS = 43;
const ANY = 255;

/** One record in presentation form: owner, TTL, type, RDATA (names as stored, no trailing dot). */
function show(r: AnswerRR): string {
  return `${r.owner} ${r.ttl} ${r.data.type} ${rdataText(r.data)}`;
}

function rdataText(d: RData): string {
  switch (d.type) {
    case 'A':
    case 'AAAA':
      return d.address;
    case 'CNAME':
    case 'PTR':
      return d.target;
    case 'NS':
      return d.host;
    case 'MX':
      return `${d.preference} ${d.exchange}`;
    case 'SRV':
      return `${d.priority} ${d.weight} ${d.port} ${d.target}`;
    case 'TXT':
      return d.strings.map((s) => JSON.stringify(s.toString('latin1'))).join(' ');
    case 'CAA':
      return `${d.flags} ${d.tag} ${JSON.stringify(d.value.toString('latin1'))}`;
    case 'SOA':
      return `${d.mname} ${d.rname} ${d.serial} ${d.refresh} ${d.retry} ${d.expire} ${d.minimum}`;
  }
}

function check(snap: Snapshot, rows: Row[], pick: (w: readonly number[]) => number = () => 0, qclass = 1): void {
  const failures: string[] = [];
  for (const row of rows) {
    const qtype = typeof row.t === 'number' ? row.t : RR_TYPE_CODE[row.t];
    const res = resolveQuestion(snap, row.q, qtype, pick, qclass);
    const got = { rcode: res.rcode, aa: res.aa, an: res.answer.map(show), ns: res.authority.map(show), ar: res.additional.map(show) };
    const want = { rcode: RCODE[row.rcode], aa: row.aa, an: row.an ?? [], ns: row.ns ?? [], ar: row.ar ?? [] };
    try {
      assert.deepEqual(got, want);
    } catch {
      failures.push(`${row.q} ${row.t}\n  want ${JSON.stringify(want)}\n  got  ${JSON.stringify(got)}`);
    }
  }
  assert.equal(failures.length, 0, `${failures.length} of ${rows.length} rows differ:\n${failures.join('\n')}`);
}

// --- the example zone (zones/example.test.zone) and dynamic record sets ---

const EX_NS = ['example.test 3600 NS ns1.example.test', 'example.test 3600 NS ns2.example.test'];
const EX_GLUE = ['ns1.example.test 3600 A 127.0.0.53', 'ns2.example.test 3600 A 127.0.0.54'];
/** Negative answers: TTL = min(SOA TTL 3600, MINIMUM 300). */
const EX_NEG = ['example.test 300 SOA ns1.example.test hostmaster.example.test 2026112901 3600 600 1209600 300'];
const SUB_REFERRAL = { rcode: 'NOERROR', aa: false, ns: ['sub.example.test 3600 NS ns.sub.example.test'], ar: ['ns.sub.example.test 3600 A 127.0.0.60'] } as const;
const LONG = 'This string is longer than 255 characters so the parser must split it into 255-byte character-strings. '.repeat(3).trimEnd();

const DYNAMIC: DynamicRRset[] = [
  { name: 'www.example.test', type: 'A', ttl: 30, kind: 'values', values: ['127.0.0.1'] },
  { name: 'weighted.example.test', type: 'A', ttl: 30, kind: 'values', values: ['127.0.0.1', '127.0.0.2'], weights: [1, 3] },
  { name: 'cn.example.test', type: 'CNAME', ttl: 10, kind: 'values', values: ['static.example.test'] },
  { name: 'down.example.test', type: 'A', ttl: 30, kind: 'servfail', values: [] },
  { name: 'closed.example.test', type: 'A', ttl: 5, kind: 'nodata', values: [] },
];

const EXAMPLE_ROWS: Row[] = [
  // positive answers carry the apex NS and their addresses, as NSD
  { q: 'static.example.test', t: 'A', rcode: 'NOERROR', aa: true, an: ['static.example.test 300 A 127.0.0.10'], ns: EX_NS, ar: EX_GLUE },
  { q: 'StAtIc.ExAmPlE.TeSt', t: 'A', rcode: 'NOERROR', aa: true, an: ['StAtIc.ExAmPlE.TeSt 300 A 127.0.0.10'], ns: EX_NS, ar: EX_GLUE },
  { q: 'v6.example.test', t: 'AAAA', rcode: 'NOERROR', aa: true, an: ['v6.example.test 3600 AAAA ::1'], ns: EX_NS, ar: EX_GLUE },
  { q: 'ptr.example.test', t: 'PTR', rcode: 'NOERROR', aa: true, an: ['ptr.example.test 3600 PTR static.example.test'], ns: EX_NS, ar: EX_GLUE },
  { q: 'mail.example.test', t: 'MX', rcode: 'NOERROR', aa: true, an: ['mail.example.test 3600 MX 10 mx1.example.test'], ns: EX_NS, ar: ['mx1.example.test 3600 A 127.0.0.20', ...EX_GLUE] },
  { q: '_sip._tcp.example.test', t: 'SRV', rcode: 'NOERROR', aa: true, an: ['_sip._tcp.example.test 3600 SRV 10 60 5060 sip.example.test'], ns: EX_NS, ar: ['sip.example.test 3600 A 127.0.0.30', ...EX_GLUE] },
  {
    q: 'txt.example.test',
    t: 'TXT',
    rcode: 'NOERROR',
    aa: true,
    an: [`txt.example.test 3600 TXT "first string" "second; not a comment" ${JSON.stringify(LONG.slice(0, 255))} ${JSON.stringify(LONG.slice(255))}`],
    ns: EX_NS,
    ar: EX_GLUE,
  },
  { q: 'big.example.test', t: 'A', rcode: 'NOERROR', aa: true, an: Array.from({ length: 40 }, (_, i) => `big.example.test 3600 A 127.0.1.${i + 1}`), ns: EX_NS, ar: EX_GLUE },
  // an address of a name server is in the answer: not repeated in additional
  { q: 'ns1.example.test', t: 'A', rcode: 'NOERROR', aa: true, an: ['ns1.example.test 3600 A 127.0.0.53'], ns: EX_NS, ar: ['ns2.example.test 3600 A 127.0.0.54'] },
  // the apex
  { q: 'example.test', t: 'SOA', rcode: 'NOERROR', aa: true, an: ['example.test 3600 SOA ns1.example.test hostmaster.example.test 2026112901 3600 600 1209600 300'], ns: EX_NS, ar: EX_GLUE },
  { q: 'example.test', t: 'NS', rcode: 'NOERROR', aa: true, an: EX_NS, ar: EX_GLUE },
  { q: 'example.test', t: 'CAA', rcode: 'NOERROR', aa: true, an: ['example.test 3600 CAA 0 issue "letsencrypt.org"'], ns: EX_NS, ar: EX_GLUE },
  { q: 'example.test', t: 'A', rcode: 'NOERROR', aa: true, ns: EX_NEG },
  { q: 'example.test', t: 99, rcode: 'NOERROR', aa: true, ns: EX_NEG },
  // DS at the apex of a zone whose parent is not served here: the zone itself answers
  { q: 'example.test', t: DS, rcode: 'NOERROR', aa: true, ns: EX_NEG },
  // RFC 8482: ANY answers one RRset (the SOA at the apex), without authority
  { q: 'example.test', t: ANY, rcode: 'NOERROR', aa: true, an: ['example.test 3600 SOA ns1.example.test hostmaster.example.test 2026112901 3600 600 1209600 300'] },
  { q: 'static.example.test', t: ANY, rcode: 'NOERROR', aa: true, an: ['static.example.test 300 A 127.0.0.10'] },
  // ...with that set's additional data, as a question of its type
  { q: 'mail.example.test', t: ANY, rcode: 'NOERROR', aa: true, an: ['mail.example.test 3600 MX 10 mx1.example.test'], ar: ['mx1.example.test 3600 A 127.0.0.20'] },
  { q: '_sip._tcp.example.test', t: ANY, rcode: 'NOERROR', aa: true, an: ['_sip._tcp.example.test 3600 SRV 10 60 5060 sip.example.test'], ar: ['sip.example.test 3600 A 127.0.0.30'] },
  // NODATA and NXDOMAIN
  { q: 'static.example.test', t: 'MX', rcode: 'NOERROR', aa: true, ns: EX_NEG },
  { q: 'static.example.test', t: 65, rcode: 'NOERROR', aa: true, ns: EX_NEG },
  { q: 'static.example.test', t: DS, rcode: 'NOERROR', aa: true, ns: EX_NEG },
  { q: 'nope.example.test', t: 'A', rcode: 'NXDOMAIN', aa: true, ns: EX_NEG },
  { q: 'nope.example.test', t: DS, rcode: 'NXDOMAIN', aa: true, ns: EX_NEG },
  { q: 'nope.example.test', t: ANY, rcode: 'NXDOMAIN', aa: true, ns: EX_NEG },
  { q: 'x.static.example.test', t: 'A', rcode: 'NXDOMAIN', aa: true, ns: EX_NEG },
  // empty non-terminals exist: NODATA, not NXDOMAIN
  { q: 'b.ent.example.test', t: 'A', rcode: 'NOERROR', aa: true, ns: EX_NEG },
  { q: 'ent.example.test', t: 'TXT', rcode: 'NOERROR', aa: true, ns: EX_NEG },
  { q: 'ent.example.test', t: ANY, rcode: 'NOERROR', aa: true, ns: EX_NEG },
  { q: 'a.b.ent.example.test', t: 'A', rcode: 'NOERROR', aa: true, an: ['a.b.ent.example.test 3600 A 127.0.0.50'], ns: EX_NS, ar: EX_GLUE },
  // CNAMEs: followed inside the zone, the target's answer after it
  { q: 'alias.example.test', t: 'A', rcode: 'NOERROR', aa: true, an: ['alias.example.test 3600 CNAME static.example.test', 'static.example.test 300 A 127.0.0.10'], ns: EX_NS, ar: EX_GLUE },
  { q: 'alias.example.test', t: 'CNAME', rcode: 'NOERROR', aa: true, an: ['alias.example.test 3600 CNAME static.example.test'], ns: EX_NS, ar: EX_GLUE },
  { q: 'alias.example.test', t: 'MX', rcode: 'NOERROR', aa: true, an: ['alias.example.test 3600 CNAME static.example.test'], ns: EX_NEG },
  { q: 'alias.example.test', t: DS, rcode: 'NOERROR', aa: true, an: ['alias.example.test 3600 CNAME static.example.test'], ns: EX_NEG },
  // ANY at a CNAME: the CNAME itself (RFC 1034 §4.3.2), not followed
  { q: 'alias.example.test', t: ANY, rcode: 'NOERROR', aa: true, an: ['alias.example.test 3600 CNAME static.example.test'] },
  { q: 'ext.example.test', t: ANY, rcode: 'NOERROR', aa: true, an: ['ext.example.test 3600 CNAME www.elsewhere.invalid'] },
  // a CNAME out of every served zone: the CNAME alone
  { q: 'ext.example.test', t: 'A', rcode: 'NOERROR', aa: true, an: ['ext.example.test 3600 CNAME www.elsewhere.invalid'] },
  // wildcards (RFC 4592): synthesised at the closest encloser, owned by the question
  { q: 'foo.wild.example.test', t: 'A', rcode: 'NOERROR', aa: true, an: ['foo.wild.example.test 3600 A 127.0.0.40'], ns: EX_NS, ar: EX_GLUE },
  { q: 'a.b.wild.example.test', t: 'A', rcode: 'NOERROR', aa: true, an: ['a.b.wild.example.test 3600 A 127.0.0.40'], ns: EX_NS, ar: EX_GLUE },
  { q: 'Foo.Wild.example.test', t: ANY, rcode: 'NOERROR', aa: true, an: ['Foo.Wild.example.test 3600 A 127.0.0.40'] },
  { q: 'foo.wild.example.test', t: 'MX', rcode: 'NOERROR', aa: true, ns: EX_NEG },
  { q: 'wild.example.test', t: 'A', rcode: 'NOERROR', aa: true, ns: EX_NEG },
  // a delegation: a referral (AA clear, NS and glue) at and below the cut...
  { q: 'sub.example.test', t: 'A', ...SUB_REFERRAL },
  { q: 'sub.example.test', t: 'NS', ...SUB_REFERRAL },
  { q: 'sub.example.test', t: ANY, ...SUB_REFERRAL },
  { q: 'deep.sub.example.test', t: 'AAAA', ...SUB_REFERRAL },
  { q: 'ns.sub.example.test', t: 'A', ...SUB_REFERRAL },
  { q: 'deep.sub.example.test', t: DS, ...SUB_REFERRAL },
  // ...except DS at the cut: the parent's data (RFC 4035 §3.1.4.1), here NODATA with the parent's SOA
  { q: 'sub.example.test', t: DS, rcode: 'NOERROR', aa: true, ns: EX_NEG },
  { q: 'SuB.example.test', t: DS, rcode: 'NOERROR', aa: true, ns: EX_NEG },
  // outside every zone
  { q: 'www.example.org', t: 'A', rcode: 'REFUSED', aa: false },
  { q: 'test', t: 'SOA', rcode: 'REFUSED', aa: false },
  { q: '', t: 'NS', rcode: 'REFUSED', aa: false },
  // dynamic record sets
  { q: 'www.example.test', t: 'A', rcode: 'NOERROR', aa: true, an: ['www.example.test 30 A 127.0.0.1'], ns: EX_NS, ar: EX_GLUE },
  { q: 'www.example.test', t: 'AAAA', rcode: 'NOERROR', aa: true, ns: EX_NEG },
  { q: 'cn.example.test', t: 'A', rcode: 'NOERROR', aa: true, an: ['cn.example.test 10 CNAME static.example.test', 'static.example.test 300 A 127.0.0.10'], ns: EX_NS, ar: EX_GLUE },
  { q: 'cn.example.test', t: ANY, rcode: 'NOERROR', aa: true, an: ['cn.example.test 10 CNAME static.example.test'] },
  { q: 'down.example.test', t: 'A', rcode: 'SERVFAIL', aa: false },
  { q: 'down.example.test', t: ANY, rcode: 'SERVFAIL', aa: false },
  { q: 'down.example.test', t: 'AAAA', rcode: 'NOERROR', aa: true, ns: EX_NEG },
  { q: 'closed.example.test', t: 'A', rcode: 'NOERROR', aa: true, ns: EX_NEG },
];

describe('resolveQuestion over the example zone', () => {
  const snap = buildSnapshot([exampleZone()], DYNAMIC);

  test('every row: rcode, AA, answer, authority, additional', () => check(snap, EXAMPLE_ROWS));

  test('a weighted set answers the one record the picker chooses', () => {
    check(snap, [{ q: 'weighted.example.test', t: 'A', rcode: 'NOERROR', aa: true, an: ['weighted.example.test 30 A 127.0.0.2'], ns: EX_NS, ar: EX_GLUE }], () => 1);
  });
});

// --- a parent zone served with its child ---

const FAMILY = ['parent.test', 'kid.parent.test'].map((origin) =>
  parseZoneText(readFileSync(new URL(`./fixtures/zones/parent-child/${origin}.zone`, import.meta.url), 'utf8'), { file: `${origin}.zone` }),
);
const P_NS = ['parent.test 3600 NS ns1.parent.test'];
const P_GLUE = ['ns1.parent.test 3600 A 127.0.0.53'];
const P_NEG = ['parent.test 300 SOA ns1.parent.test hostmaster.parent.test 1 3600 600 1209600 300'];
const K_NS = ['kid.parent.test 3600 NS ns1.kid.parent.test'];
const K_GLUE = ['ns1.kid.parent.test 3600 A 127.0.0.61', 'ns1.kid.parent.test 3600 AAAA ::1'];
/** The child's MINIMUM is 60. */
const K_NEG = ['kid.parent.test 60 SOA ns1.kid.parent.test hostmaster.kid.parent.test 7 3600 600 1209600 60'];
const D_REFERRAL = { rcode: 'NOERROR', aa: false, ns: ['d.parent.test 3600 NS ns.d.parent.test'], ar: ['ns.d.parent.test 3600 A 127.0.0.62'] } as const;

const FAMILY_ROWS: Row[] = [
  // DS at a delegation point: authoritative NODATA from the parent, not a referral
  { q: 'd.parent.test', t: DS, rcode: 'NOERROR', aa: true, ns: P_NEG },
  { q: 'd.parent.test', t: 'A', ...D_REFERRAL },
  { q: 'ns.d.parent.test', t: DS, ...D_REFERRAL },
  // ...also below an empty non-terminal, and with an out-of-zone name server (no glue)
  { q: 'x.ent.parent.test', t: DS, rcode: 'NOERROR', aa: true, ns: P_NEG },
  { q: 'x.ent.parent.test', t: 'A', rcode: 'NOERROR', aa: false, ns: ['x.ent.parent.test 3600 NS ns.elsewhere.invalid'] },
  { q: 'ent.parent.test', t: DS, rcode: 'NOERROR', aa: true, ns: P_NEG },
  // ...and reached through a CNAME: the CNAME, then the parent's NODATA
  { q: 'to-d.parent.test', t: DS, rcode: 'NOERROR', aa: true, an: ['to-d.parent.test 3600 CNAME d.parent.test'], ns: P_NEG },
  { q: 'to-d.parent.test', t: 'A', rcode: 'NOERROR', aa: true, an: ['to-d.parent.test 3600 CNAME d.parent.test'], ns: D_REFERRAL.ns, ar: D_REFERRAL.ar },
  // DS at the apex of the child served here: from the parent zone (its SOA)
  { q: 'kid.parent.test', t: DS, rcode: 'NOERROR', aa: true, ns: P_NEG },
  { q: 'KID.Parent.Test', t: DS, rcode: 'NOERROR', aa: true, ns: P_NEG },
  { q: 'to-kid.parent.test', t: DS, rcode: 'NOERROR', aa: true, an: ['to-kid.parent.test 3600 CNAME kid.parent.test'], ns: P_NEG },
  // every other type at the child's apex, and below it, from the child
  { q: 'kid.parent.test', t: 'SOA', rcode: 'NOERROR', aa: true, an: ['kid.parent.test 3600 SOA ns1.kid.parent.test hostmaster.kid.parent.test 7 3600 600 1209600 60'], ns: K_NS, ar: K_GLUE },
  { q: 'kid.parent.test', t: 'NS', rcode: 'NOERROR', aa: true, an: K_NS, ar: K_GLUE },
  { q: 'kid.parent.test', t: 'A', rcode: 'NOERROR', aa: true, ns: K_NEG },
  { q: 'www.kid.parent.test', t: 'A', rcode: 'NOERROR', aa: true, an: ['www.kid.parent.test 3600 A 127.0.0.70'], ns: K_NS, ar: K_GLUE },
  { q: 'www.kid.parent.test', t: DS, rcode: 'NOERROR', aa: true, ns: K_NEG },
  // a name server's A in the answer: its AAAA is still additional data (as NSD)
  { q: 'ns1.kid.parent.test', t: 'A', rcode: 'NOERROR', aa: true, an: ['ns1.kid.parent.test 3600 A 127.0.0.61'], ns: K_NS, ar: ['ns1.kid.parent.test 3600 AAAA ::1'] },
  { q: 'nx.kid.parent.test', t: DS, rcode: 'NXDOMAIN', aa: true, ns: K_NEG },
  // a CNAME into the child is followed there (RFC 1034 §4.3.2 step 3a), as NSD does
  { q: 'to-kid.parent.test', t: 'A', rcode: 'NOERROR', aa: true, an: ['to-kid.parent.test 3600 CNAME kid.parent.test'], ns: K_NEG },
  { q: 'to-kid.parent.test', t: 'NS', rcode: 'NOERROR', aa: true, an: ['to-kid.parent.test 3600 CNAME kid.parent.test', ...K_NS], ar: K_GLUE },
  // the parent's apex: no zone above it is served
  { q: 'parent.test', t: DS, rcode: 'NOERROR', aa: true, ns: P_NEG },
  { q: 'nx.parent.test', t: DS, rcode: 'NXDOMAIN', aa: true, ns: P_NEG },
  // ANY at a CNAME: the CNAME alone, whether the chain ends, dangles or loops
  { q: 'alias.parent.test', t: ANY, rcode: 'NOERROR', aa: true, an: ['alias.parent.test 3600 CNAME static.parent.test'] },
  { q: 'dangling.parent.test', t: ANY, rcode: 'NOERROR', aa: true, an: ['dangling.parent.test 3600 CNAME nowhere.parent.test'] },
  { q: 'loop1.parent.test', t: ANY, rcode: 'NOERROR', aa: true, an: ['loop1.parent.test 3600 CNAME loop2.parent.test'] },
  // other types follow the chain: to NXDOMAIN when it dangles, and stop at a loop
  { q: 'dangling.parent.test', t: 'A', rcode: 'NXDOMAIN', aa: true, an: ['dangling.parent.test 3600 CNAME nowhere.parent.test'], ns: P_NEG },
  { q: 'loop1.parent.test', t: 'A', rcode: 'NOERROR', aa: true, an: ['loop1.parent.test 3600 CNAME loop2.parent.test', 'loop2.parent.test 3600 CNAME loop1.parent.test'] },
  { q: 'alias.parent.test', t: 'A', rcode: 'NOERROR', aa: true, an: ['alias.parent.test 3600 CNAME static.parent.test', 'static.parent.test 3600 A 127.0.0.10'], ns: P_NS, ar: P_GLUE },
  // additional data through a wildcard, owned by the name asked for
  { q: 'wmx.parent.test', t: 'MX', rcode: 'NOERROR', aa: true, an: ['wmx.parent.test 3600 MX 10 mail.wa.parent.test'], ns: P_NS, ar: ['mail.wa.parent.test 3600 A 127.0.0.80', ...P_GLUE] },
  // glue below a delegation is no answer data: an MX pointing there gets no additional addresses
  { q: 'mxd.parent.test', t: 'MX', rcode: 'NOERROR', aa: true, an: ['mxd.parent.test 3600 MX 10 ns.d.parent.test'], ns: P_NS, ar: P_GLUE },
  // a loop ends where the same CNAME would come twice: a CNAME to itself once...
  { q: 'self.parent.test', t: 'A', rcode: 'NOERROR', aa: true, an: ['self.parent.test 3600 CNAME self.parent.test'] },
  // ...a wildcard CNAME matching its own target: once for the question, once for the target (as NSD and Knot)
  { q: 'q.wl.parent.test', t: 'A', rcode: 'NOERROR', aa: true, an: ['q.wl.parent.test 3600 CNAME x.wl.parent.test', 'x.wl.parent.test 3600 CNAME x.wl.parent.test'] },
  { q: 'x.wl.parent.test', t: 'A', rcode: 'NOERROR', aa: true, an: ['x.wl.parent.test 3600 CNAME x.wl.parent.test', 'x.wl.parent.test 3600 CNAME x.wl.parent.test'] },
];

describe('resolveQuestion over a parent zone served with its child', () => {
  test('every row: rcode, AA, answer, authority, additional', () => check(buildSnapshot(FAMILY, []), FAMILY_ROWS));

  test('without the child zone, DS at its apex is the same NODATA, and other types get the referral', () => {
    const parentOnly = buildSnapshot([FAMILY[0]!], []);
    check(parentOnly, [
      { q: 'kid.parent.test', t: DS, rcode: 'NOERROR', aa: true, ns: P_NEG },
      { q: 'kid.parent.test', t: 'SOA', rcode: 'NOERROR', aa: false, ns: K_NS, ar: [K_GLUE[0]!] },
      { q: 'to-kid.parent.test', t: 'A', rcode: 'NOERROR', aa: true, an: ['to-kid.parent.test 3600 CNAME kid.parent.test'], ns: K_NS, ar: [K_GLUE[0]!] },
    ]);
  });

  test('class ANY: the IN data with AA clear, no apex NS, no SOA (as NSD); a referral through a CNAME keeps AA', () => {
    check(
      buildSnapshot(FAMILY, []),
      [
        { q: 'static.parent.test', t: 'A', rcode: 'NOERROR', aa: false, an: ['static.parent.test 3600 A 127.0.0.10'] },
        { q: 'static.parent.test', t: 'MX', rcode: 'NOERROR', aa: false },
        { q: 'nx.parent.test', t: 'A', rcode: 'NXDOMAIN', aa: false },
        { q: 'd.parent.test', t: 'A', ...D_REFERRAL },
        { q: 'to-d.parent.test', t: 'A', rcode: 'NOERROR', aa: true, an: ['to-d.parent.test 3600 CNAME d.parent.test'], ns: D_REFERRAL.ns, ar: D_REFERRAL.ar },
        { q: 'wmx.parent.test', t: 'MX', rcode: 'NOERROR', aa: false, an: ['wmx.parent.test 3600 MX 10 mail.wa.parent.test'], ar: ['mail.wa.parent.test 3600 A 127.0.0.80'] },
      ],
      () => 0,
      255,
    );
  });

  test('with the child zone alone, DS at its apex comes from the child', () => {
    check(buildSnapshot([FAMILY[1]!], []), [{ q: 'kid.parent.test', t: DS, rcode: 'NOERROR', aa: true, ns: K_NEG }]);
  });
});

// --- replies over the client's size: the server's encoding, still without sockets ---

describe('replies too big for UDP', () => {
  const server = new DnsServer({ clock: systemClock, listen: [], logger: silentLogger });
  server.setSnapshot(buildSnapshot(FAMILY, []));
  const ask = (name: string, qtype: number, transport: 'udp' | 'tcp') => {
    const [reply] = server.answer(parseRequest(buildQuery(name, qtype)), transport);
    assert.ok(reply);
    assert.ok(reply.length <= (transport === 'udp' ? 512 : 65535), `${reply.length} bytes`);
    const p = dnsPacket.decode(reply);
    return { tc: !!p.flag_tc, an: (p.answers ?? []).map((r) => `${r.name} ${r.type}`), ns: (p.authorities ?? []).map((r) => `${r.name} ${r.type}`), ar: (p.additionals ?? []).length };
  };

  test('the apex NS and their addresses go before the answer is truncated (as NSD and Knot)', () => {
    assert.deepEqual(ask('longtxt.parent.test', 16, 'udp'), { tc: false, an: ['longtxt.parent.test TXT'], ns: [], ar: 0 });
    assert.deepEqual(ask('longtxt.parent.test', 16, 'tcp'), { tc: false, an: ['longtxt.parent.test TXT'], ns: ['parent.test NS'], ar: 1 });
  });

  test('truncated: TC with the whole RRsets of the answer that fit, never part of one', () => {
    assert.deepEqual(ask('tobig.parent.test', 1, 'udp'), { tc: true, an: ['tobig.parent.test CNAME'], ns: [], ar: 0 });
    const full = ask('tobig.parent.test', 1, 'tcp');
    assert.equal(full.tc, false);
    assert.equal(full.an.length, 41);
    assert.deepEqual(ask('big.parent.test', 1, 'udp'), { tc: true, an: [], ns: [], ar: 0 });
  });
});

// --- zone transfers without a transfer handler: the server's answer, still without sockets ---

describe('zone transfers asked of a server without transfers configured', () => {
  const server = new DnsServer({ clock: systemClock, listen: [], logger: silentLogger });
  server.setSnapshot(buildSnapshot(FAMILY, []));
  const rcodeOf = (name: string, qtype: number, transport: 'udp' | 'tcp'): string => {
    const [reply] = server.answer(parseRequest(buildQuery(name, qtype)), transport);
    assert.ok(reply);
    assert.equal(reply[2]! & 0x04, 0, 'AA clear');
    return Object.entries(RCODE).find(([, v]) => v === (reply[3]! & 0xf))![0];
  };
  const rows: Array<[string, number, 'udp' | 'tcp', Rcode]> = [
    // AXFR is TCP only (RFC 5936 §4.2): NOTIMP over UDP whatever the name, as NSD and Knot
    ['parent.test', 252, 'udp', 'NOTIMP'],
    ['static.parent.test', 252, 'udp', 'NOTIMP'],
    ['elsewhere.invalid', 252, 'udp', 'NOTIMP'],
    // over TCP: a zone's apex REFUSED (no ACL allows it), any other name NOTAUTH, as NSD
    ['parent.test', 252, 'tcp', 'REFUSED'],
    ['kid.parent.test', 252, 'tcp', 'REFUSED'],
    ['static.parent.test', 252, 'tcp', 'NOTAUTH'],
    ['elsewhere.invalid', 252, 'tcp', 'NOTAUTH'],
    ['parent.test', 251, 'udp', 'REFUSED'],
    ['parent.test', 251, 'tcp', 'REFUSED'],
    ['static.parent.test', 251, 'tcp', 'NOTAUTH'],
  ];
  for (const [name, qtype, transport, rcode] of rows) {
    test(`${qtype === 252 ? 'AXFR' : 'IXFR'} ${name} over ${transport} → ${rcode}`, () => assert.equal(rcodeOf(name, qtype, transport), rcode));
  }
});
