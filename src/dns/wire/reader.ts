/**
 * Reads DNS messages from their bytes (RFC 1035 §4): the header, names
 * (with compression pointers), questions and records with their offsets.
 * Zone transfers need this where dns2's parser gives too little: where each
 * record starts and ends (a TSIG MAC covers the exact bytes before it) and
 * the raw RDATA of TSIG and SOA records.
 *
 * Never throws and never loops: anything malformed reads as undefined.
 * - a compression pointer must point before itself (RFC 1035 §4.1.4: "a
 *   prior occurrence"), so pointers alone cannot loop;
 * - a label is at most 63 octets (the 0x40 and 0x80 label types are refused),
 *   a name at most 255 octets on the wire, so a loop through labels (a
 *   pointer back to a label before it) ends there;
 * - the section counts must fit in what is left of the message.
 */
import { FLAG_QR, HEADER_SIZE, MAX_LABEL, MAX_NAME } from './constants.ts';

export interface WireHeader {
  id: number;
  /** The second 16-bit word: QR, opcode, AA, TC, RD, RA, Z, AD, CD, RCODE. */
  flags: number;
  qr: boolean;
  opcode: number;
  rcode: number;
  qdcount: number;
  ancount: number;
  nscount: number;
  arcount: number;
}

export interface WireName {
  /** Lower case, labels joined with ".", no trailing dot ("" is the root). */
  name: string;
  /** The offset just after the name where it starts (after its first pointer, if any). */
  next: number;
}

export interface WireQuestion {
  name: string;
  type: number;
  class: number;
  next: number;
}

export type Section = 'answer' | 'authority' | 'additional';

export interface WireRecord {
  section: Section;
  /** Lower case, no trailing dot. */
  name: string;
  type: number;
  class: number;
  ttl: number;
  /** Offsets into the message: the record, its RDATA, and the end of it. */
  start: number;
  rdata: number;
  end: number;
}

export interface WireMessage {
  buf: Buffer;
  header: WireHeader;
  questions: WireQuestion[];
  /** Every record after the question section, in order. */
  records: WireRecord[];
}

/** The smallest question (root name, type, class) and record (root, type, class, TTL, RDLENGTH). */
const MIN_QUESTION = 5;
const MIN_RECORD = 11;

export function readHeader(buf: Buffer): WireHeader | undefined {
  if (buf.length < HEADER_SIZE) return undefined;
  const flags = buf.readUInt16BE(2);
  return {
    id: buf.readUInt16BE(0),
    flags,
    qr: (flags & FLAG_QR) !== 0,
    opcode: (flags >> 11) & 0xf,
    rcode: flags & 0xf,
    qdcount: buf.readUInt16BE(4),
    ancount: buf.readUInt16BE(6),
    nscount: buf.readUInt16BE(8),
    arcount: buf.readUInt16BE(10),
  };
}

/** The name at `off`. */
export function readName(buf: Buffer, off: number): WireName | undefined {
  const labels: string[] = [];
  let next = -1;
  let pos = off;
  /** Wire octets of the name so far, the root label included. */
  let size = 1;
  // Each step reads a label (size grows, up to MAX_NAME) or a pointer (pos goes back): bounded by both.
  for (;;) {
    if (pos >= buf.length) return undefined;
    const len = buf[pos]!;
    if (len === 0) {
      if (next < 0) next = pos + 1;
      return { name: labels.join('.'), next };
    }
    if ((len & 0xc0) === 0xc0) {
      if (pos + 1 >= buf.length) return undefined;
      if (next < 0) next = pos + 2;
      const target = ((len & 0x3f) << 8) | buf[pos + 1]!;
      if (target >= pos) return undefined;
      pos = target;
      continue;
    }
    if (len > MAX_LABEL || pos + 1 + len > buf.length) return undefined;
    size += 1 + len;
    if (size > MAX_NAME) return undefined;
    labels.push(buf.toString('latin1', pos + 1, pos + 1 + len).toLowerCase());
    pos += 1 + len;
  }
}

export function readQuestion(buf: Buffer, off: number): WireQuestion | undefined {
  const n = readName(buf, off);
  if (!n || n.next + 4 > buf.length) return undefined;
  return { name: n.name, type: buf.readUInt16BE(n.next), class: buf.readUInt16BE(n.next + 2), next: n.next + 4 };
}

/** One record at `off`, in `section`. */
export function readRecord(buf: Buffer, off: number, section: Section): WireRecord | undefined {
  const n = readName(buf, off);
  if (!n || n.next + 10 > buf.length) return undefined;
  const rdlen = buf.readUInt16BE(n.next + 8);
  const rdata = n.next + 10;
  if (rdata + rdlen > buf.length) return undefined;
  return { section, name: n.name, type: buf.readUInt16BE(n.next), class: buf.readUInt16BE(n.next + 2), ttl: buf.readUInt32BE(n.next + 4), start: off, rdata, end: rdata + rdlen };
}

/** The whole message: header, questions and every record with its offsets. */
export function readMessage(buf: Buffer): WireMessage | undefined {
  const header = readHeader(buf);
  if (!header) return undefined;
  const records = header.ancount + header.nscount + header.arcount;
  if (HEADER_SIZE + header.qdcount * MIN_QUESTION + records * MIN_RECORD > buf.length) return undefined;
  let off = HEADER_SIZE;
  const questions: WireQuestion[] = [];
  for (let i = 0; i < header.qdcount; i++) {
    const q = readQuestion(buf, off);
    if (!q) return undefined;
    questions.push(q);
    off = q.next;
  }
  const out: WireRecord[] = [];
  const sections: Array<[Section, number]> = [
    ['answer', header.ancount],
    ['authority', header.nscount],
    ['additional', header.arcount],
  ];
  for (const [section, count] of sections) {
    for (let i = 0; i < count; i++) {
      const r = readRecord(buf, off, section);
      if (!r) return undefined;
      out.push(r);
      off = r.end;
    }
  }
  return { buf, header, questions, records: out };
}
