/**
 * The RFC 2136 UPDATE builder (src/dns/wire/update.ts, signed by
 * dns/wire/tsig.ts) against the reference clients: for each change, what
 * `nsupdate` (BIND) and `knsupdate` (Knot) send for it is captured on a UDP
 * socket of the test. failoverd's message, built with the same ID, must be
 * the same message with names written out; the tool's MAC must verify with
 * failoverd's TSIG code; and signed at the same second, failoverd's message
 * is the same bytes as nsupdate's, MAC included (one key, one time, one
 * message: one MAC), and as knsupdate's where it compresses names alike.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TsigSecret, type TsigAlgorithm } from '../src/config/transfer.ts';
import { OPCODE_UPDATE } from '../src/dns/wire/constants.ts';
import { readMessage, readName } from '../src/dns/wire/reader.ts';
import { WireWriter } from '../src/dns/wire/writer.ts';
import { RR_TYPE_CODE } from '../src/dns-model/records.ts';
import { readTsig, signRequest, TsigKeyring } from '../src/dns/wire/tsig.ts';
import { addRecord, deleteRecord, deleteRRset, encodeUpdate, rrsetAbsent, rrsetEquals, type UpdateRecord } from '../src/dns/wire/update.ts';
import { captureUpdate, type UpdateTool } from './helpers/update-capture.ts';
import { needTool } from './helpers/tools.ts';

/** The bytes before the TSIG record, ARCOUNT one less. */
function withoutTsig(buf: Buffer, start: number): Buffer {
  const b = Buffer.from(buf.subarray(0, start));
  b.writeUInt16BE(b.readUInt16BE(10) - 1, 10);
  return b;
}

/** The message with every name (owners and names in CNAME RDATA) written without compression. */
function uncompressed(buf: Buffer): Buffer {
  const msg = readMessage(buf)!;
  const w = new WireWriter();
  w.bytes(buf.subarray(0, 12));
  for (const q of msg.questions) w.question({ name: q.name, type: q.type, class: q.class }, false);
  for (const r of msg.records) {
    w.name(r.name, false);
    const fixed = readName(buf, r.start)!.next;
    w.bytes(buf.subarray(fixed, fixed + 8));
    const rdata = r.type === RR_TYPE_CODE.CNAME && r.end > r.rdata ? nameBytes(readName(buf, r.rdata)!.name) : buf.subarray(r.rdata, r.end);
    w.u16(rdata.length);
    w.bytes(rdata);
  }
  return w.toBuffer();
}

function nameBytes(name: string): Buffer {
  const w = new WireWriter();
  w.name(name, false);
  return w.toBuffer();
}

const SECRET = Buffer.from('failoverd-rfc2136-wire-test-key!').toString('base64');
const txt = (s: string) => ({ type: 'TXT' as const, strings: [Buffer.from(s)] });

interface Case {
  title: string;
  algorithm: TsigAlgorithm;
  /** nsupdate/knsupdate lines after `server`. */
  script: string[];
  prerequisites: UpdateRecord[];
  updates: UpdateRecord[];
}

const CASES: Case[] = [
  {
    title: 'replace an A RRset that still holds what was written (value-dependent prerequisite)',
    algorithm: 'hmac-sha256',
    script: ['zone example.test.', 'prereq yxrrset www.example.test. A 192.0.2.1', 'update delete www.example.test. A', 'update add www.example.test. 60 A 192.0.2.2'],
    prerequisites: rrsetEquals('www.example.test', [{ type: 'A', address: '192.0.2.1' }]),
    updates: [deleteRRset('www.example.test', 'A'), addRecord('www.example.test', 60, { type: 'A', address: '192.0.2.2' })],
  },
  {
    title: 'create a new RRset and its ownership marker (RRset does not exist)',
    algorithm: 'hmac-sha512',
    script: [
      'zone example.test.',
      'prereq nxrrset www.example.test. A',
      'prereq nxrrset _failoverd.www.example.test. TXT',
      'update add www.example.test. 30 A 192.0.2.1',
      'update add www.example.test. 30 A 192.0.2.3',
      'update add _failoverd.www.example.test. 300 TXT "heritage=failoverd,owner=dc1,type=A"',
    ],
    prerequisites: [rrsetAbsent('www.example.test', 'A'), rrsetAbsent('_failoverd.www.example.test', 'TXT')],
    updates: [
      addRecord('www.example.test', 30, { type: 'A', address: '192.0.2.1' }),
      addRecord('www.example.test', 30, { type: 'A', address: '192.0.2.3' }),
      addRecord('_failoverd.www.example.test', 300, txt('heritage=failoverd,owner=dc1,type=A')),
    ],
  },
  {
    title: 'AAAA: delete one record, add another',
    algorithm: 'hmac-sha1',
    script: ['zone example.test.', 'prereq yxrrset v6.example.test. AAAA 2001:db8::1', 'update delete v6.example.test. AAAA 2001:db8::1', 'update add v6.example.test. 60 AAAA 2001:db8::2'],
    prerequisites: rrsetEquals('v6.example.test', [{ type: 'AAAA', address: '2001:db8::1' }]),
    updates: [deleteRecord('v6.example.test', { type: 'AAAA', address: '2001:db8::1' }), addRecord('v6.example.test', 60, { type: 'AAAA', address: '2001:db8::2' })],
  },
  {
    title: 'CNAME in a sub-zone, hmac-sha224',
    algorithm: 'hmac-sha224',
    script: ['zone sub.example.test.', 'prereq yxrrset alias.sub.example.test. CNAME a.example.test.', 'update delete alias.sub.example.test. CNAME', 'update add alias.sub.example.test. 120 CNAME b.example.test.'],
    prerequisites: rrsetEquals('alias.sub.example.test', [{ type: 'CNAME', target: 'a.example.test' }]),
    updates: [deleteRRset('alias.sub.example.test', 'CNAME'), addRecord('alias.sub.example.test', 120, { type: 'CNAME', target: 'b.example.test' })],
  },
  {
    title: 'release a name: delete the RRset and the marker, hmac-sha384',
    algorithm: 'hmac-sha384',
    script: [
      'zone example.test.',
      'prereq yxrrset old.example.test. A 192.0.2.9',
      'prereq yxrrset _failoverd.old.example.test. TXT "heritage=failoverd,owner=dc1,type=A"',
      'update delete old.example.test. A',
      'update delete _failoverd.old.example.test. TXT',
    ],
    prerequisites: [...rrsetEquals('old.example.test', [{ type: 'A', address: '192.0.2.9' }]), ...rrsetEquals('_failoverd.old.example.test', [txt('heritage=failoverd,owner=dc1,type=A')])],
    updates: [deleteRRset('old.example.test', 'A'), deleteRRset('_failoverd.old.example.test', 'TXT')],
  },
];

const TOOLS: Array<{ tool: UpdateTool; pkg: string }> = [
  { tool: 'nsupdate', pkg: 'bind9-dnsutils' },
  { tool: 'knsupdate', pkg: 'knot-dnsutils' },
];

for (const { tool, pkg } of TOOLS) {
  for (const c of CASES) {
    test(`${tool}: ${c.title}: failoverd's UPDATE is the same message`, async (t) => {
      if (!needTool(t, tool, pkg)) return;
      const key = { name: 'upd-key', algorithm: c.algorithm, secret: new TsigSecret(Buffer.from(SECRET, 'base64')) };
      const theirs = await captureUpdate(tool, { algorithm: c.algorithm, name: key.name, secret: SECRET }, c.script);
      const msg = readMessage(theirs);
      assert.ok(msg, `${tool} sent a readable message`);
      assert.equal(msg.header.opcode, OPCODE_UPDATE);
      const tsig = readTsig(msg);
      assert.equal(tsig.kind, 'tsig', `${tool} signed its UPDATE`);
      if (tsig.kind !== 'tsig') return;
      assert.equal(tsig.tsig.algorithm, c.algorithm);
      const zone = c.script[0]!.replace(/^zone (.*)\.$/, '$1');
      const unsigned = encodeUpdate({ id: tsig.tsig.originalId, zone, prerequisites: c.prerequisites, updates: c.updates });
      // The same message before signing, names written out in full (knsupdate compresses names
      // against the zone's name only, nsupdate and failoverd against every name before).
      assert.equal(uncompressed(unsigned).toString('hex'), uncompressed(withoutTsig(theirs, tsig.tsig.start)).toString('hex'));
      // Their MAC verifies with failoverd's TSIG code, at their time.
      const verdict = new TsigKeyring([key], () => tsig.tsig.timeSigned * 1000).verify(msg, tsig.tsig);
      assert.equal(verdict.kind, 'ok');
      const { signed } = signRequest(unsigned, key, tsig.tsig.timeSigned * 1000);
      // Where the tool compresses as failoverd does (always for nsupdate), the signed bytes are equal, MAC included.
      if (tool === "nsupdate" || theirs.length === signed.length) assert.equal(signed.toString('hex'), theirs.toString('hex'));
    });
  }
}
