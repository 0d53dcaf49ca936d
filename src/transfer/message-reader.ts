/**
 * Reads what transfers need from a message's raw bytes, which dns2 does not
 * give: where each record starts and ends (TSIG covers the exact bytes before
 * it), the TSIG record's fields, and the SOA serial an IXFR client sends in
 * its authority section. Never throws: a malformed message reads as undefined.
 */

export const TYPE_SOA = 6;
export const TYPE_TSIG = 250;
export const CLASS_ANY = 255;

export interface RawRecord {
  section: 'answer' | 'authority' | 'additional';
  /** Lower-case, no trailing dot. */
  name: string;
  type: number;
  class: number;
  ttl: number;
  /** Offsets into the message: the record, and its RDATA. */
  start: number;
  rdata: number;
  end: number;
}

export interface RawMessage {
  buf: Buffer;
  id: number;
  flags: number;
  records: RawRecord[];
}

/** A name at `off`: its text (lower case, no trailing dot) and the offset after it. */
export function readName(buf: Buffer, off: number): { name: string; next: number } | undefined {
  const labels: string[] = [];
  let next = -1;
  let pos = off;
  for (let hops = 0; hops < 128; hops++) {
    if (pos >= buf.length) return undefined;
    const len = buf[pos]!;
    if (len === 0) {
      if (next < 0) next = pos + 1;
      const name = labels.join('.');
      return name.length > 253 ? undefined : { name, next };
    }
    if ((len & 0xc0) === 0xc0) {
      if (pos + 1 >= buf.length) return undefined;
      if (next < 0) next = pos + 2;
      pos = ((len & 0x3f) << 8) | buf[pos + 1]!;
      continue;
    }
    if (len & 0xc0 || pos + 1 + len > buf.length) return undefined;
    labels.push(buf.toString('latin1', pos + 1, pos + 1 + len).toLowerCase());
    pos += 1 + len;
  }
  return undefined;
}

/** Every record of a message after the question section, with offsets. */
export function readMessage(buf: Buffer): RawMessage | undefined {
  if (buf.length < 12) return undefined;
  const qd = buf.readUInt16BE(4);
  const counts: Array<[RawRecord['section'], number]> = [
    ['answer', buf.readUInt16BE(6)],
    ['authority', buf.readUInt16BE(8)],
    ['additional', buf.readUInt16BE(10)],
  ];
  let off = 12;
  for (let i = 0; i < qd; i++) {
    const n = readName(buf, off);
    if (!n || n.next + 4 > buf.length) return undefined;
    off = n.next + 4;
  }
  const records: RawRecord[] = [];
  for (const [section, count] of counts) {
    for (let i = 0; i < count; i++) {
      const start = off;
      const n = readName(buf, off);
      if (!n || n.next + 10 > buf.length) return undefined;
      const type = buf.readUInt16BE(n.next);
      const klass = buf.readUInt16BE(n.next + 2);
      const ttl = buf.readUInt32BE(n.next + 4);
      const rdlen = buf.readUInt16BE(n.next + 8);
      const rdata = n.next + 10;
      if (rdata + rdlen > buf.length) return undefined;
      off = rdata + rdlen;
      records.push({ section, name: n.name, type, class: klass, ttl, start, rdata, end: off });
    }
  }
  return { buf, id: buf.readUInt16BE(0), flags: buf.readUInt16BE(2), records };
}

export interface TsigRecord {
  /** Key name, lower case, no trailing dot. */
  keyName: string;
  algorithm: string;
  /** Seconds since the epoch (48 bits). */
  timeSigned: number;
  fudge: number;
  mac: Buffer;
  originalId: number;
  error: number;
  other: Buffer;
  /** Where the TSIG record starts: the signed part of the message is before it. */
  start: number;
}

export type TsigRead = { kind: 'none' } | { kind: 'tsig'; tsig: TsigRecord } | { kind: 'malformed' };

/** The TSIG record of a message: it must be the last additional record, class ANY, TTL 0. */
export function readTsig(msg: RawMessage): TsigRead {
  const idx = msg.records.findIndex((r) => r.type === TYPE_TSIG);
  if (idx < 0) return { kind: 'none' };
  const r = msg.records[idx]!;
  if (idx !== msg.records.length - 1 || r.section !== 'additional' || r.class !== CLASS_ANY || r.ttl !== 0 || r.end !== msg.buf.length) return { kind: 'malformed' };
  const buf = msg.buf;
  const alg = readName(buf, r.rdata);
  if (!alg || alg.next + 10 > r.end) return { kind: 'malformed' };
  let p = alg.next;
  const timeSigned = buf.readUInt16BE(p) * 2 ** 32 + buf.readUInt32BE(p + 2);
  const fudge = buf.readUInt16BE(p + 6);
  const macSize = buf.readUInt16BE(p + 8);
  p += 10;
  if (p + macSize + 6 > r.end) return { kind: 'malformed' };
  const mac = Buffer.from(buf.subarray(p, p + macSize));
  p += macSize;
  const originalId = buf.readUInt16BE(p);
  const error = buf.readUInt16BE(p + 2);
  const otherLen = buf.readUInt16BE(p + 4);
  p += 6;
  if (p + otherLen !== r.end) return { kind: 'malformed' };
  const other = Buffer.from(buf.subarray(p, p + otherLen));
  return { kind: 'tsig', tsig: { keyName: r.name, algorithm: alg.name, timeSigned, fudge, mac, originalId, error, other, start: r.start } };
}

/** The serial of the SOA an IXFR client sends in its authority section (RFC 1995 §3). */
export function readIxfrSerial(msg: RawMessage, zone: string): number | undefined {
  const soa = msg.records.find((r) => r.section === 'authority' && r.type === TYPE_SOA);
  if (!soa || soa.name !== zone) return undefined;
  const mname = readName(msg.buf, soa.rdata);
  const rname = mname && readName(msg.buf, mname.next);
  if (!rname || rname.next + 20 > soa.end) return undefined;
  return msg.buf.readUInt32BE(rname.next);
}
