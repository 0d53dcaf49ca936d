import { test } from 'node:test';
import assert from 'node:assert/strict';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ProblemsError, type Problem } from '../src/errors.ts';
import type { RData, ZoneFile } from '../src/dns-model/records.ts';
import { parseZoneText } from '../src/zones/parse.ts';
import { loadZoneFile } from '../src/zones/load.ts';

const FILE = 'test.zone';
const HEAD = '$ORIGIN example.test.\n$TTL 300\n@ SOA ns1 hostmaster 1 3600 600 1209600 300\n';

/** Records of HEAD + body, without the SOA, as [name, ttl, data]. */
function body(text: string, opts: { origin?: string; defaultTtl?: number } = {}): [string, number, RData][] {
  const zone = parseZoneText(HEAD + text, { file: FILE, ...opts });
  return zone.records.filter((r) => r.data.type !== 'SOA').map((r) => [r.name, r.ttl, r.data]);
}

/** The problems parseZoneText throws for `text`, as "line: message". */
function problemsOf(text: string, opts: { origin?: string; defaultTtl?: number } = {}): string[] {
  try {
    parseZoneText(text, { file: FILE, ...opts });
  } catch (err) {
    assert.ok(err instanceof ProblemsError, `expected a ProblemsError, got ${String(err)}`);
    assert.equal(err.code, 'ZONE_INVALID');
    for (const p of err.problems) assert.equal(p.file, FILE);
    return err.problems.map((p: Problem) => `${p.line}: ${p.message}`);
  }
  assert.fail('expected a ProblemsError');
}

const A = (address: string): RData => ({ type: 'A', address });
const txt = (...s: (string | Buffer)[]): RData => ({ type: 'TXT', strings: s.map((x) => (typeof x === 'string' ? Buffer.from(x) : x)) });

const good: [string, string, [string, number, RData][]][] = [
  ['relative owner', 'www A 127.0.0.1', [['www.example.test', 300, A('127.0.0.1')]]],
  ['absolute owner, lower-cased', 'WWW.Example.Test. A 127.0.0.1', [['www.example.test', 300, A('127.0.0.1')]]],
  ['@ is the origin', '@ NS ns1', [['example.test', 300, { type: 'NS', host: 'ns1.example.test' }]]],
  ['omitted owner repeats the previous one', 'a A 127.0.0.1\n  A 127.0.0.2\n\tTXT x', [
    ['a.example.test', 300, A('127.0.0.1')],
    ['a.example.test', 300, A('127.0.0.2')],
    ['a.example.test', 300, txt('x')],
  ]],
  ['TTL then class, class then TTL, class only, lower-case class', 'a 60 IN A 127.0.0.1\nb IN 70 A 127.0.0.2\nc IN A 127.0.0.3\nd in 80 a 127.0.0.4', [
    ['a.example.test', 60, A('127.0.0.1')],
    ['b.example.test', 70, A('127.0.0.2')],
    ['c.example.test', 300, A('127.0.0.3')],
    ['d.example.test', 80, A('127.0.0.4')],
  ]],
  ['TTL units', 'a 1w A 127.0.0.1\nb 1d A 127.0.0.1\nc 30m A 127.0.0.1\nd 1h30m A 127.0.0.1\ne 2H A 127.0.0.1\nf 45s A 127.0.0.1', [
    ['a.example.test', 604800, A('127.0.0.1')],
    ['b.example.test', 86400, A('127.0.0.1')],
    ['c.example.test', 1800, A('127.0.0.1')],
    ['d.example.test', 5400, A('127.0.0.1')],
    ['e.example.test', 7200, A('127.0.0.1')],
    ['f.example.test', 45, A('127.0.0.1')],
  ]],
  ['$TTL with a unit', '$TTL 1d\na A 127.0.0.1', [['a.example.test', 86400, A('127.0.0.1')]]],
  ['parentheses span lines, comments inside', 'a ( A ; the type\n   127.0.0.1 ) ; done', [['a.example.test', 300, A('127.0.0.1')]]],
  ['comment lines and blank lines', '; a comment\n\n   ; indented comment\na A 127.0.0.1 ; trailing', [['a.example.test', 300, A('127.0.0.1')]]],
  ['CRLF line endings', 'a A 127.0.0.1\r\n  A 127.0.0.2\r\n', [
    ['a.example.test', 300, A('127.0.0.1')],
    ['a.example.test', 300, A('127.0.0.2')],
  ]],
  ['AAAA, lower-cased', 'v6 AAAA 2001:DB8::1\nlo AAAA ::1', [
    ['v6.example.test', 300, { type: 'AAAA', address: '2001:db8::1' }],
    ['lo.example.test', 300, { type: 'AAAA', address: '::1' }],
  ]],
  ['CNAME keeps the case of its target', 'c CNAME Target.Example.TEST.\nd CNAME Rel', [
    ['c.example.test', 300, { type: 'CNAME', target: 'Target.Example.TEST' }],
    ['d.example.test', 300, { type: 'CNAME', target: 'Rel.example.test' }],
  ]],
  ['PTR', 'p PTR host.example.test.', [['p.example.test', 300, { type: 'PTR', target: 'host.example.test' }]]],
  ['MX, relative and root exchange', 'm MX 10 mx1\nn MX 0 .', [
    ['m.example.test', 300, { type: 'MX', preference: 10, exchange: 'mx1.example.test' }],
    ['n.example.test', 300, { type: 'MX', preference: 0, exchange: '' }],
  ]],
  ['SRV', '_sip._tcp SRV 10 60 5060 sip.example.test.', [
    ['_sip._tcp.example.test', 300, { type: 'SRV', priority: 10, weight: 60, port: 5060, target: 'sip.example.test' }],
  ]],
  ['CAA, quoted value with ; and escapes', '@ CAA 0 issue "letsencrypt.org"\n@ CAA 128 iodef "mailto:a@b; \\"x\\""', [
    ['example.test', 300, { type: 'CAA', flags: 0, tag: 'issue', value: Buffer.from('letsencrypt.org') }],
    ['example.test', 300, { type: 'CAA', flags: 128, tag: 'iodef', value: Buffer.from('mailto:a@b; "x"') }],
  ]],
  ['TXT: several quoted and unquoted strings, ; inside quotes', 't TXT "a b" plain "c;d" ; comment', [
    ['t.example.test', 300, txt('a b', 'plain', 'c;d')],
  ]],
  ['TXT escapes: \\" \\\\ \\DDD', 't TXT "q\\"q" "b\\\\s" "\\065\\255" "\\;"', [
    ['t.example.test', 300, txt('q"q', 'b\\s', Buffer.from([65, 255]), ';')],
  ]],
  ['TXT empty string', 't TXT ""', [['t.example.test', 300, txt('')]]],
  ['TXT over 255 bytes is split into 255-byte chunks', `t TXT "${'x'.repeat(300)}"\nu TXT "${'y'.repeat(510)}" z`, [
    ['t.example.test', 300, txt('x'.repeat(255), 'x'.repeat(45))],
    ['u.example.test', 300, txt('y'.repeat(255), 'y'.repeat(255), 'z')],
  ]],
  ['TXT with UTF-8 text', 't TXT "héllo"', [['t.example.test', 300, txt(Buffer.from('héllo', 'utf8'))]]],
  ['$ORIGIN changes the base, absolute and relative', '$ORIGIN sub.example.test.\nx A 127.0.0.1\n$ORIGIN deeper\ny A 127.0.0.2\n@ NS ns', [
    ['x.sub.example.test', 300, A('127.0.0.1')],
    ['y.deeper.sub.example.test', 300, A('127.0.0.2')],
    ['deeper.sub.example.test', 300, { type: 'NS', host: 'ns.deeper.sub.example.test' }],
  ]],
  ['wildcard and underscore owners', '*.wild A 127.0.0.1\n_dmarc TXT v=DMARC1', [
    ['*.wild.example.test', 300, A('127.0.0.1')],
    ['_dmarc.example.test', 300, txt('v=DMARC1')],
  ]],
  ['escapes in names: \\DDD and \\X', 'a\\066c A 127.0.0.1\nx CNAME \\065\\@b', [
    ['abc.example.test', 300, A('127.0.0.1')],
    ['x.example.test', 300, { type: 'CNAME', target: 'A@b.example.test' }],
  ]],
  ['label of 63 octets is fine', `${'l'.repeat(63)} A 127.0.0.1`, [[`${'l'.repeat(63)}.example.test`, 300, A('127.0.0.1')]]],
];

for (const [title, text, expected] of good) {
  test(`zone parser: ${title}`, () => {
    assert.deepEqual(body(text), expected);
  });
}

test('zone parser: records carry file and the line they start on', () => {
  const zone = parseZoneText(HEAD + 'a A 127.0.0.1\n\nb ( A\n 127.0.0.2 )\n  A 127.0.0.3', { file: 'zones/x.zone' });
  assert.deepEqual(zone.records.map((r) => [r.file, r.line, r.name]), [
    ['zones/x.zone', 3, 'example.test'],
    ['zones/x.zone', 4, 'a.example.test'],
    ['zones/x.zone', 6, 'b.example.test'],
    ['zones/x.zone', 8, 'b.example.test'],
  ]);
  assert.equal(zone.origin, 'example.test');
  assert.equal(zone.file, 'zones/x.zone');
});

test('zone parser: SOA with parentheses, comments and TTL units in its fields', () => {
  const zone = parseZoneText(
    '$ORIGIN Example.Test.\n$TTL 300\n@ IN SOA NS1 hostmaster.example.test. (\n  2026112901 ; serial\n  1h ; refresh\n  10M 2w\n  5m )\n',
    { file: FILE },
  );
  assert.equal(zone.origin, 'example.test');
  assert.deepEqual(zone.records[0]!.data, {
    type: 'SOA', mname: 'NS1.Example.Test', rname: 'hostmaster.example.test',
    serial: 2026112901, refresh: 3600, retry: 600, expire: 1209600, minimum: 300,
  });
});

test('zone parser: origin from opts, without $ORIGIN', () => {
  const zone = parseZoneText('$TTL 60\n@ SOA ns1 h 1 2 3 4 5\nwww A 127.0.0.1', { file: FILE, origin: 'Example.TEST.' });
  assert.equal(zone.origin, 'example.test');
  assert.deepEqual(zone.records.map((r) => r.name), ['example.test', 'www.example.test']);
  assert.equal((zone.records[0]!.data as { mname: string }).mname, 'ns1.example.test');
});

test('zone parser: default TTL follows BIND: $TTL, else previous TTL, else SOA minimum', () => {
  // opts.defaultTtl acts as a $TTL before line 1
  let zone = parseZoneText('$ORIGIN example.test.\n@ SOA ns1 h 1 2 3 4 5\nwww A 127.0.0.1', { file: FILE, defaultTtl: 42 });
  assert.deepEqual(zone.records.map((r) => r.ttl), [42, 42]);
  // $TTL wins over the previous record's explicit TTL
  zone = parseZoneText('$ORIGIN example.test.\n$TTL 50\n@ 100 SOA ns1 h 1 2 3 4 5\n  NS ns1', { file: FILE });
  assert.deepEqual(zone.records.map((r) => r.ttl), [100, 50]);
  // no $TTL: the previous record's TTL (RFC 1035)
  zone = parseZoneText('$ORIGIN example.test.\n@ 100 SOA ns1 h 1 2 3 4 5\n  NS ns1\nwww 20 A 127.0.0.1\nx A 127.0.0.2', { file: FILE });
  assert.deepEqual(zone.records.map((r) => r.ttl), [100, 100, 20, 20]);
  // no $TTL and no TTL on the SOA: its minimum, which becomes the default
  zone = parseZoneText('$ORIGIN example.test.\n@ SOA ns1 h 1 2 3 4 1h\nwww 20 A 127.0.0.1\nx A 127.0.0.2', { file: FILE });
  assert.deepEqual(zone.records.map((r) => r.ttl), [3600, 20, 3600]);
});

test('zone parser: example.test.zone in the repo parses', async () => {
  const path = relative(process.cwd(), fileURLToPath(new URL('../zones/example.test.zone', import.meta.url)));
  const zone: ZoneFile = await loadZoneFile(path);
  assert.equal(zone.origin, 'example.test');
  const at = (name: string, type?: string) => zone.records.filter((r) => r.name === name && (!type || r.data.type === type));
  const soa = at('example.test', 'SOA');
  assert.equal(soa.length, 1);
  assert.deepEqual(soa[0]!.data, {
    type: 'SOA', mname: 'ns1.example.test', rname: 'hostmaster.example.test',
    serial: 2026112901, refresh: 3600, retry: 600, expire: 1209600, minimum: 300,
  });
  assert.deepEqual(at('example.test', 'NS').map((r) => r.data), [
    { type: 'NS', host: 'ns1.example.test' },
    { type: 'NS', host: 'ns2.example.test' },
  ]);
  assert.deepEqual(at('ns1.example.test').map((r) => r.data), [A('127.0.0.53')]);
  assert.deepEqual(at('ns2.example.test').map((r) => r.data), [A('127.0.0.54')]);
  assert.deepEqual(at('www.example.test'), [], 'www is served by the failover config, not the zone file');
  assert.deepEqual(at('static.example.test').map((r) => r.data), [A('127.0.0.10')]);
  assert.deepEqual(at('v6.example.test').map((r) => r.data), [{ type: 'AAAA', address: '::1' }]);
  assert.deepEqual(at('alias.example.test').map((r) => r.data), [{ type: 'CNAME', target: 'static.example.test' }]);
  assert.deepEqual(at('ext.example.test').map((r) => r.data), [{ type: 'CNAME', target: 'www.elsewhere.invalid' }]);
  assert.deepEqual(at('mail.example.test').map((r) => r.data), [{ type: 'MX', preference: 10, exchange: 'mx1.example.test' }]);
  assert.deepEqual(at('mx1.example.test').map((r) => r.data), [A('127.0.0.20')]);
  const t = at('txt.example.test');
  assert.equal(t.length, 1);
  const strings = (t[0]!.data as { strings: Buffer[] }).strings;
  assert.equal(strings[0]!.toString(), 'first string');
  assert.equal(strings[1]!.toString(), 'second; not a comment');
  assert.ok(strings.length >= 4, 'the long string is split');
  assert.ok(strings.every((s) => s.length <= 255));
  assert.equal(strings[2]!.length, 255);
  assert.deepEqual(at('_sip._tcp.example.test').map((r) => r.data), [{ type: 'SRV', priority: 10, weight: 60, port: 5060, target: 'sip.example.test' }]);
  assert.deepEqual(at('sip.example.test').map((r) => r.data), [A('127.0.0.30')]);
  assert.deepEqual(at('example.test', 'CAA').map((r) => r.data), [{ type: 'CAA', flags: 0, tag: 'issue', value: Buffer.from('letsencrypt.org') }]);
  assert.deepEqual(at('ptr.example.test').map((r) => r.data), [{ type: 'PTR', target: 'static.example.test' }]);
  assert.deepEqual(at('*.wild.example.test').map((r) => r.data), [A('127.0.0.40')]);
  assert.deepEqual(at('a.b.ent.example.test').map((r) => r.data), [A('127.0.0.50')]);
  assert.deepEqual(at('b.ent.example.test'), []);
  assert.deepEqual(at('ent.example.test'), []);
  assert.deepEqual(at('sub.example.test').map((r) => r.data), [{ type: 'NS', host: 'ns.sub.example.test' }]);
  assert.deepEqual(at('ns.sub.example.test').map((r) => r.data), [A('127.0.0.60')]);
  const big = at('big.example.test');
  assert.deepEqual(big.map((r) => r.data), Array.from({ length: 40 }, (_, i) => A(`127.0.1.${i + 1}`)));
  assert.ok(big.every((r) => r.ttl === big[0]!.ttl));
  for (const r of zone.records) {
    if (r.data.type === 'A') assert.match(r.data.address, /^127\./);
    assert.equal(r.file, path);
  }
});

const ZONE = (text: string) => HEAD + '@ NS ns1\n' + text; // problems of `text` are on line 5 and after

const bad: [string, string, string[], { origin?: string; defaultTtl?: number }?][] = [
  ['bad IPv4', ZONE('a A 10.0.0.300'), ['5: bad IPv4 address "10.0.0.300"']],
  ['bad IPv6', ZONE('a AAAA 2001:db8::g'), ['5: bad IPv6 address "2001:db8::g"']],
  ['IPv6 with a zone index', ZONE('a AAAA fe80::1%eth0'), ['5: bad IPv6 address "fe80::1%eth0"']],
  ['unknown type', ZONE('a AAA ::1'), ['5: unknown type "AAA"']],
  ['real but unsupported type', ZONE('a DS 1 2 3 abcd'), ['5: type "DS" not supported']],
  ['missing type', ZONE('a 300 IN'), ['5: record has no type']],
  ['TTL not a number', ZONE('a 1x A 127.0.0.1'), ['5: TTL "1x" is not a number']],
  ['TTL out of range', ZONE('a 2147483648 A 127.0.0.1'), ['5: TTL 2147483648 is out of range 0..2147483647']],
  ['$TTL not a number', ZONE('$TTL 5y\na A 127.0.0.1'), ['5: $TTL "5y" is not a number']],
  ['class other than IN', ZONE('a CH A 127.0.0.1'), ['5: class "CH" is not supported (only IN)']],
  ['MX preference out of range', ZONE('m MX 65536 mx1'), ['5: MX preference 65536 is out of range 0..65535']],
  ['MX preference not a number', ZONE('m MX ten mx1'), ['5: MX preference "ten" is not a number']],
  ['SRV port out of range', ZONE('_s._tcp SRV 1 2 70000 t'), ['5: SRV port 70000 is out of range 0..65535']],
  ['CAA flags out of range', ZONE('@ CAA 256 issue "x"'), ['5: CAA flags 256 is out of range 0..255']],
  ['CAA tag not alphanumeric', ZONE('@ CAA 0 is-sue "x"'), ['5: CAA tag "is-sue" must be 1 to 15 letters or digits']],
  ['missing fields', ZONE('m MX 10'), ['5: MX record is missing exchange (needs preference exchange)']],
  ['too many fields', ZONE('a A 127.0.0.1 127.0.0.2'), ['5: too many fields for A record: unexpected "127.0.0.2"']],
  ['TXT without strings', ZONE('t TXT'), ['5: TXT record needs at least one string']],
  ['TXT bad \\DDD', ZONE('t TXT "\\999"'), ['5: TXT: bad escape "\\999" in "\\999": more than 255']],
  ['label too long', ZONE(`${'l'.repeat(64)} A 127.0.0.1`), [`5: label "${'l'.repeat(64)}" in name "${'l'.repeat(64)}.example.test" is longer than 63 octets (64)`]],
  ['label too long in RDATA', ZONE(`c CNAME ${'l'.repeat(64)}.example.test.`), [`5: CNAME target: label "${'l'.repeat(64)}" in name "${'l'.repeat(64)}.example.test" is longer than 63 octets (64)`]],
  ['label too long in $ORIGIN', ZONE(`$ORIGIN ${'l'.repeat(64)}.example.test.`), [`5: $ORIGIN: label "${'l'.repeat(64)}" in name "${'l'.repeat(64)}.example.test" is longer than 63 octets (64)`]],
  ['name too long', ZONE(`${Array(5).fill('l'.repeat(60)).join('.')} A 127.0.0.1`), [`5: name "${Array(5).fill('l'.repeat(60)).join('.').slice(0, 80)}"…(317 bytes) is longer than 255 octets (319 in wire form)`]],
  ['name too long only with the origin appended', ZONE(`${Array(4).fill('l'.repeat(60)).join('.')} A 127.0.0.1`), [`5: name "${Array(4).fill('l'.repeat(60)).join('.').slice(0, 80)}"…(256 bytes) is longer than 255 octets (258 in wire form)`]],
  ['empty label', ZONE('a..b A 127.0.0.1'), ['5: empty label in name "a..b"']],
  ['empty first label', ZONE('.a A 127.0.0.1'), ['5: empty label in name ".a"']],
  ['a 1 MB label is not echoed whole', ZONE(`${'l'.repeat(1 << 20)} A 127.0.0.1`), [`5: label "${'l'.repeat(80)}"…(1048576 bytes) in name "${'l'.repeat(80)}"…(1048589 bytes) is longer than 63 octets (1048576)`]],
  ['a 1 MB type is not echoed whole', ZONE(`a ${'T'.repeat(1 << 20)} 127.0.0.1`), [`5: unknown type "${'T'.repeat(80)}"…(1048576 bytes)`]],
  ['a 1 MB address is not echoed whole', ZONE(`a A 1${'0'.repeat(1 << 20)}`), [`5: bad IPv4 address "1${'0'.repeat(79)}"…(1048577 bytes)`]],
  ['escaped dot in a label', ZONE('a\\.b A 127.0.0.1'), ['5: escaped dot inside a label of name "a\\.b" is not supported']],
  ['unbalanced parenthesis (never closed)', ZONE('a A (\n  127.0.0.1\nb A 127.0.0.2'), ['5: unbalanced parenthesis opened at line 5']],
  ['unbalanced parenthesis (never opened)', ZONE('a A 127.0.0.1 )'), ['5: unbalanced parenthesis: ")" without "("']],
  ['unterminated quote', ZONE('t TXT "abc\nu A 127.0.0.1'), ['5: unterminated quoted string "abc']],
  ['$INCLUDE', ZONE('$INCLUDE other.zone'), ['5: $INCLUDE is not supported: put the records in this file']],
  ['unknown directive', ZONE('$GENERATE 1-10 h$ A 127.0.0.$'), ['5: unknown directive "$GENERATE"']],
  ['CNAME with other data', ZONE('c CNAME x\nc A 127.0.0.1'), ['5: CNAME at "c.example.test" cannot coexist with other data (A at line 6)']],
  ['two CNAMEs', ZONE('c CNAME x\nc CNAME y'), ['6: more than one CNAME at "c.example.test" (the first is at line 5)']],
  ['CNAME at the apex', ZONE('@ CNAME x'), ['5: CNAME at "example.test" cannot coexist with other data (SOA at line 3)']],
  ['two SOAs', ZONE('@ SOA ns1 h 2 3 4 5 6'), ['5: more than one SOA record (the first is at line 3)']],
  ['SOA not at the origin', '$ORIGIN example.test.\n$TTL 1\nsub SOA ns1 h 1 2 3 4 5', ['3: SOA record at "sub.example.test" is not at the zone origin "example.test"']],
  ['no SOA', '$ORIGIN example.test.\n$TTL 1\n\n@ NS ns1', ['4: no SOA record: the zone "example.test" needs exactly one, at its origin']],
  ['out-of-zone data', ZONE('www.other.test. A 127.0.0.1'), ['5: "www.other.test" is outside the zone "example.test" (out-of-zone data)']],
  ['out-of-zone via a later $ORIGIN', ZONE('$ORIGIN other.test.\nwww A 127.0.0.1'), ['6: "www.other.test" is outside the zone "example.test" (out-of-zone data)']],
  ['relative name without origin', '$TTL 1\n@ SOA ns1. h. 1 2 3 4 5\nwww A 127.0.0.1', [
    '1: no origin: the file has no $ORIGIN and none was given',
    '2: no $ORIGIN or origin for "@"',
    '3: no $ORIGIN or origin for relative name "www"',
  ]],
  ['no TTL anywhere', '$ORIGIN example.test.\nwww A 127.0.0.1\n@ 60 SOA ns1 h 1 2 3 4 5', ['2: no TTL specified and no $TTL before this record']],
  ['omitted owner on the first record', '$ORIGIN example.test.\n$TTL 1\n  A 127.0.0.1\n@ SOA ns1 h 1 2 3 4 5', ['3: no previous owner for a line starting with whitespace']],
  ['quoted name in RDATA', ZONE('c CNAME "x"'), ['5: CNAME target: expected a domain name, got the quoted string "x"']],
];

for (const [title, text, expected, opts] of bad) {
  test(`zone parser rejects: ${title}`, () => {
    assert.deepEqual(problemsOf(text, opts), expected);
  });
}

test('zone parser: every problem of a file is reported, with its line', () => {
  const text = [
    '$ORIGIN example.test.', //               1
    '$TTL 1h', //                              2
    '@ SOA ns1 hostmaster ( 1 3600', //        3
    '   600 1209600 300 )', //                 4
    '  NS ns1', //                             5
    'a A 10.0.0.300', //                       6
    'b AAA ::1', //                            7
    'c 1x A 127.0.0.1', //                     8
    'ok A 127.0.0.1', //                       9
    'd MX 70000 mx', //                        10
    'e TXT "fine" ; but the next is not', //   11
    '$INCLUDE x.zone', //                      12
    'f CNAME ok', //                           13
    'f A 127.0.0.2', //                        14
    'g A ( 127.0.0.3', //                      15
  ].join('\n');
  assert.deepEqual(problemsOf(text), [
    '6: bad IPv4 address "10.0.0.300"',
    '7: unknown type "AAA"',
    '8: TTL "1x" is not a number',
    '10: MX preference 70000 is out of range 0..65535',
    '12: $INCLUDE is not supported: put the records in this file',
    '13: CNAME at "f.example.test" cannot coexist with other data (A at line 14)',
    '15: unbalanced parenthesis opened at line 15',
  ]);
});

test('zone parser: an unclosed parenthesis does not hide the records after it', () => {
  const text = HEAD + '@ NS ns1\nt TXT ( "a"\n   "b"\nx A 1.2.3\ny A 127.0.0.1';
  assert.deepEqual(problemsOf(text), ['5: unbalanced parenthesis opened at line 5', '7: bad IPv4 address "1.2.3"']);
});

test('loadZoneFile: origin from the file name when there is no $ORIGIN', async () => {
  const path = relative(process.cwd(), fileURLToPath(new URL('./fixtures/zones/noorigin.test.zone', import.meta.url)));
  const zone = await loadZoneFile(path);
  assert.equal(zone.origin, 'noorigin.test');
  assert.equal(zone.file, path);
  assert.deepEqual(zone.records.map((r) => [r.name, r.data.type]), [
    ['noorigin.test', 'SOA'],
    ['noorigin.test', 'NS'],
    ['ns1.noorigin.test', 'A'],
  ]);
  const other = await loadZoneFile(path, { origin: 'noorigin.test' });
  assert.equal(other.origin, 'noorigin.test');
});

test('loadZoneFile: problems name the path as given', async () => {
  const path = relative(process.cwd(), fileURLToPath(new URL('./fixtures/zones/broken.test.zone', import.meta.url)));
  await assert.rejects(loadZoneFile(path), (err: unknown) => {
    assert.ok(err instanceof ProblemsError);
    assert.deepEqual(err.problems, [{ file: path, line: 5, message: 'bad IPv4 address "127.0.0.256"' }]);
    assert.match(err.message, new RegExp(`${path.replace(/[.]/g, '\\.')}:5: bad IPv4`));
    return true;
  });
});

test('loadZoneFile: a missing file is a ZONE_INVALID problem', async () => {
  await assert.rejects(loadZoneFile('test/fixtures/zones/does-not-exist.zone'), (err: unknown) => {
    assert.ok(err instanceof ProblemsError);
    assert.equal(err.code, 'ZONE_INVALID');
    assert.deepEqual(err.problems, [{ file: 'test/fixtures/zones/does-not-exist.zone', message: 'cannot read zone file: ENOENT' }]);
    return true;
  });
});
