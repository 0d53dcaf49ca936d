/**
 * The DNS wire reader (src/dns/wire/reader.ts) on well-formed and malformed
 * messages: whatever the bytes, it returns undefined rather than throwing or
 * looping, and reads good messages with the right offsets.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TYPE_OPT } from '../src/dns/wire/constants.ts';
import { readHeader, readMessage, readName, readQuestion } from '../src/dns/wire/reader.ts';
import { WireWriter } from '../src/dns/wire/writer.ts';

/** Header with the given counts. */
function header(counts: { qd?: number; an?: number; ns?: number; ar?: number } = {}, id = 0xbeef, flags = 0x8400): Buffer {
  const h = Buffer.alloc(12);
  h.writeUInt16BE(id, 0);
  h.writeUInt16BE(flags, 2);
  h.writeUInt16BE(counts.qd ?? 0, 4);
  h.writeUInt16BE(counts.an ?? 0, 6);
  h.writeUInt16BE(counts.ns ?? 0, 8);
  h.writeUInt16BE(counts.ar ?? 0, 10);
  return h;
}

function labels(...ls: string[]): Buffer {
  return Buffer.concat([...ls.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'latin1')])), Buffer.from([0])]);
}

test('a header shorter than 12 octets reads as undefined', () => {
  for (let n = 0; n < 12; n++) assert.equal(readHeader(Buffer.alloc(n)), undefined, `${n} octets`);
  assert.equal(readMessage(Buffer.alloc(11)), undefined);
  const h = readHeader(header({ qd: 1, an: 2, ns: 3, ar: 4 }, 7, 0xa405))!;
  assert.deepEqual(h, { id: 7, flags: 0xa405, qr: true, opcode: 4, rcode: 5, qdcount: 1, ancount: 2, nscount: 3, arcount: 4 });
});

test('names: labels lower-cased, a backward pointer followed, `next` after the first pointer', () => {
  // "Www.Example.Test" at 12, then "mail" + pointer to "example.test" (offset 16).
  const first = labels('Www', 'Example', 'Test');
  const second = Buffer.concat([Buffer.from([4]), Buffer.from('mail'), Buffer.from([0xc0, 16])]);
  const buf = Buffer.concat([header(), first, second]);
  assert.deepEqual(readName(buf, 12), { name: 'www.example.test', next: 12 + first.length });
  const at = 12 + first.length;
  assert.deepEqual(readName(buf, at), { name: 'mail.example.test', next: at + second.length });
  assert.deepEqual(readName(Buffer.concat([header(), Buffer.from([0])]), 12), { name: '', next: 13 });
});

test('pointer loops and forward pointers read as undefined', () => {
  // A pointer to itself.
  assert.equal(readName(Buffer.concat([header(), Buffer.from([0xc0, 12])]), 12), undefined);
  // A label, then a pointer back to it: the name grows until it passes 255 octets.
  const loop = Buffer.concat([header(), Buffer.from([1, 0x61, 0xc0, 12])]);
  assert.equal(readName(loop, 12), undefined);
  // A forward pointer (to a valid name after it) is refused: pointers only go back.
  const forward = Buffer.concat([header(), Buffer.from([0xc0, 14]), labels('a')]);
  assert.equal(readName(forward, 12), undefined);
  // A pointer cut short by the end of the message.
  assert.equal(readName(Buffer.concat([header(), Buffer.from([0xc0])]), 12), undefined);
});

test('a label over 63 octets (the 0x40 and 0x80 label types) reads as undefined', () => {
  for (const len of [64, 0x7f, 0x80, 0xbf]) {
    const buf = Buffer.concat([header(), Buffer.from([len]), Buffer.alloc(len, 0x61), Buffer.from([0])]);
    assert.equal(readName(buf, 12), undefined, `length octet ${len}`);
  }
  assert.equal(readName(Buffer.concat([header(), labels('a'.repeat(63))]), 12)?.name, 'a'.repeat(63));
});

test('a name over 255 octets reads as undefined, also when pointers build it', () => {
  // 4 labels of 63 = 256 octets with the root: one too many.
  const long = labels('a'.repeat(63), 'b'.repeat(63), 'c'.repeat(63), 'd'.repeat(63));
  assert.equal(long.length, 257);
  assert.equal(readName(Buffer.concat([header(), long]), 12), undefined);
  // 255 exactly: 3 × 63 + one of 61 + root = 3·64 + 62 + 1 = 255.
  const max = labels('a'.repeat(63), 'b'.repeat(63), 'c'.repeat(63), 'd'.repeat(61));
  assert.equal(max.length, 255);
  assert.equal(readName(Buffer.concat([header(), max]), 12)?.name.length, 253);
  // Through a pointer: a 3-label name of 193 octets, then two labels of 63 and a pointer to it.
  const base = labels('a'.repeat(63), 'b'.repeat(63), 'c'.repeat(63));
  const tail = Buffer.concat([Buffer.from([63]), Buffer.alloc(63, 0x78), Buffer.from([0xc0, 12])]);
  assert.equal(readName(Buffer.concat([header(), base, tail]), 12 + base.length), undefined);
});

test('a label or name running past the end of the message reads as undefined', () => {
  assert.equal(readName(Buffer.concat([header(), Buffer.from([5, 0x61, 0x62])]), 12), undefined);
  assert.equal(readName(Buffer.concat([header(), Buffer.from([1, 0x61])]), 12), undefined);
  assert.equal(readName(header(), 12), undefined);
  assert.equal(readQuestion(Buffer.concat([header(), labels('a'), Buffer.from([0, 1, 0])]), 12), undefined);
});

test('section counts beyond the message read as undefined', () => {
  const q = Buffer.concat([labels('example', 'test'), Buffer.from([0, 6, 0, 1])]);
  assert.ok(readMessage(Buffer.concat([header({ qd: 1 }), q])));
  assert.equal(readMessage(Buffer.concat([header({ qd: 2 }), q])), undefined);
  assert.equal(readMessage(Buffer.concat([header({ qd: 1, an: 1 }), q])), undefined);
  assert.equal(readMessage(Buffer.concat([header({ qd: 1, ar: 0xffff }), q])), undefined);
  assert.equal(readMessage(Buffer.concat([header({ qd: 0xffff, an: 0xffff, ns: 0xffff, ar: 0xffff }), q])), undefined);
  // A record whose RDLENGTH runs past the end.
  const rr = Buffer.concat([Buffer.from([0xc0, 12]), Buffer.from([0, 1, 0, 1, 0, 0, 0, 30, 0, 9, 1, 2, 3, 4])]);
  assert.equal(readMessage(Buffer.concat([header({ qd: 1, an: 1 }), q, rr])), undefined);
});

test('a message written by WireWriter reads back with each record\'s offsets', () => {
  const w = new WireWriter();
  w.replyHeader({ id: 42, opcode: 0, rd: true }, { rcode: 0, aa: true }, { qd: 1, an: 2, ns: 0, ar: 1 });
  w.question({ name: 'www.example.test', type: 1, class: 1 });
  const firstAt = w.length;
  w.rr('www.example.test', 30, { type: 'A', address: '127.0.0.1' });
  const secondAt = w.length;
  w.rr('www.example.test', 30, { type: 'A', address: '127.0.0.2' });
  const optAt = w.length;
  w.opt(0, true);
  const buf = w.toBuffer();
  const m = readMessage(buf)!;
  assert.equal(m.header.id, 42);
  assert.deepEqual(m.questions, [{ name: 'www.example.test', type: 1, class: 1, next: firstAt }]);
  assert.deepEqual(
    m.records.map((r) => [r.section, r.name, r.type, r.ttl, r.start, r.end]),
    [
      ['answer', 'www.example.test', 1, 30, firstAt, secondAt],
      ['answer', 'www.example.test', 1, 30, secondAt, optAt],
      ['additional', '', TYPE_OPT, 0x8000, optAt, buf.length],
    ],
  );
  assert.deepEqual([...buf.subarray(m.records[0]!.rdata, m.records[0]!.end)], [127, 0, 0, 1]);
});

test('every truncation of a good message reads as undefined, never throws', () => {
  const w = new WireWriter();
  w.replyHeader({ id: 1, opcode: 0, rd: false }, { rcode: 0, aa: true }, { qd: 1, an: 1, ns: 0, ar: 0 });
  w.question({ name: 'example.test', type: 6, class: 1 });
  w.rr('example.test', 300, { type: 'SOA', mname: 'ns1.example.test', rname: 'hostmaster.example.test', serial: 1, refresh: 2, retry: 3, expire: 4, minimum: 5 });
  const buf = w.toBuffer();
  assert.ok(readMessage(buf));
  for (let n = 0; n < buf.length; n++) assert.equal(readMessage(buf.subarray(0, n)), undefined, `${n} of ${buf.length} octets`);
});
