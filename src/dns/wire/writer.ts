/**
 * Encodes DNS messages to wire format (RFC 1035 §4), with name compression.
 * dns2's encoder writes one array element per bit and has gaps (no OPT on
 * truncated replies, TXT strings over 255 bytes); failoverd encodes its own
 * answers here so the full path and the fast path produce the same bytes.
 */
import type { RData } from '../../dns-model/records.ts';
import { RR_TYPE_CODE } from '../../dns-model/records.ts';
import { CLASS_IN, EDNS_UDP_SIZE, FLAG_AA, FLAG_QR, FLAG_RD, FLAG_TC, TYPE_OPT } from './constants.ts';

/** What a reply's header says beyond the query's ID, opcode and RD. */
export interface ReplyFlags {
  rcode: number;
  aa: boolean;
  tc?: boolean;
}

/** Section counts of a header. */
export interface Counts {
  qd: number;
  an: number;
  ns: number;
  ar: number;
}

export class WireWriter {
  private buf: Buffer;
  length = 0;
  /** lower-case suffix → offset, for compression pointers (offsets < 0x4000). */
  private names = new Map<string, number>();

  constructor(initial = 512) {
    this.buf = Buffer.allocUnsafe(initial);
  }

  private ensure(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.length++] = v & 0xff;
  }
  u16(v: number): void {
    this.ensure(2);
    this.buf.writeUInt16BE(v & 0xffff, this.length);
    this.length += 2;
  }
  u32(v: number): void {
    this.ensure(4);
    this.buf.writeUInt32BE(v >>> 0, this.length);
    this.length += 4;
  }
  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }
  patchU16(offset: number, v: number): void {
    this.buf.writeUInt16BE(v & 0xffff, offset);
  }

  /** A reply's header: QR set, the query's ID, opcode and RD echoed, the low 4 bits of the rcode. */
  replyHeader(query: { id: number; opcode: number; rd: boolean }, f: ReplyFlags, c: Counts): void {
    this.u16(query.id);
    let flags = FLAG_QR | ((query.opcode & 0xf) << 11);
    if (f.aa) flags |= FLAG_AA;
    if (f.tc) flags |= FLAG_TC;
    if (query.rd) flags |= FLAG_RD;
    flags |= f.rcode & 0xf;
    this.u16(flags);
    this.u16(c.qd);
    this.u16(c.an);
    this.u16(c.ns);
    this.u16(c.ar);
  }

  question(q: { name: string; type: number; class: number }, compress = true): void {
    this.name(q.name, compress);
    this.u16(q.type);
    this.u16(q.class);
  }

  /** The OPT record of a reply (RFC 6891 §6.1.2): our UDP size, the rcode's high bits, version 0, DO echoed. */
  opt(rcode: number, dnssecOk: boolean, clientSubnet?: { family: number; sourceBits: number; scopeBits: number; address: Uint8Array }): void {
    this.u8(0); // root
    this.u16(TYPE_OPT);
    this.u16(EDNS_UDP_SIZE);
    this.u8((rcode >> 4) & 0xff); // extended rcode
    this.u8(0); // version
    this.u16(dnssecOk ? 0x8000 : 0);
    if (!clientSubnet) {
      this.u16(0);
      return;
    }
    // RFC 7871 §6: OPTION-CODE 8, FAMILY, SOURCE and SCOPE PREFIX-LENGTH, ADDRESS (as the query sent it).
    const len = 4 + clientSubnet.address.length;
    this.u16(4 + len);
    this.u16(8);
    this.u16(len);
    this.u16(clientSubnet.family);
    this.u8(clientSubnet.sourceBits);
    this.u8(clientSubnet.scopeBits);
    this.bytes(clientSubnet.address);
  }

  /**
   * A domain name, absolute, without the trailing dot ("" is the root).
   * Labels are latin1 strings (one char per octet, as dns2 decodes them).
   */
  name(name: string, compress = true): void {
    const parts = name === '' ? [] : name.split('.');
    for (let i = 0; i < parts.length; i++) {
      const suffix = (i === 0 ? name : parts.slice(i).join('.')).toLowerCase();
      if (compress) {
        const at = this.names.get(suffix);
        if (at !== undefined) {
          this.u16(0xc000 | at);
          return;
        }
        if (this.length < 0x4000) this.names.set(suffix, this.length);
      }
      const label = Buffer.from(parts[i]!, 'latin1');
      if (label.length === 0 || label.length > 63) throw new Error(`bad label in name "${name}"`);
      this.u8(label.length);
      this.bytes(label);
    }
    this.u8(0);
  }

  /** Registers the name written at `offset` (the question) for compression. */
  rememberName(name: string, offset: number): void {
    const parts = name === '' ? [] : name.split('.');
    let at = offset;
    for (let i = 0; i < parts.length; i++) {
      const suffix = parts.slice(i).join('.').toLowerCase();
      if (at < 0x4000 && !this.names.has(suffix)) this.names.set(suffix, at);
      at += 1 + Buffer.byteLength(parts[i]!, 'latin1');
    }
  }

  rr(owner: string, ttl: number, data: RData): void {
    this.record(owner, RR_TYPE_CODE[data.type], CLASS_IN, ttl, data);
  }

  /** A record of any class; without data its RDLENGTH is 0 (the deletes and prerequisites of RFC 2136). */
  record(owner: string, type: number, cls: number, ttl: number, data?: RData): void {
    this.name(owner);
    this.u16(type);
    this.u16(cls);
    this.u32(Math.min(ttl >>> 0, 0x7fffffff));
    const rdlenAt = this.length;
    this.u16(0);
    const start = this.length;
    if (data) this.rdata(data);
    this.patchU16(rdlenAt, this.length - start);
  }

  private rdata(d: RData): void {
    switch (d.type) {
      case 'A':
        for (const o of d.address.split('.')) this.u8(Number(o));
        return;
      case 'AAAA':
        this.bytes(ipv6Bytes(d.address));
        return;
      case 'CNAME':
      case 'PTR':
        this.name(d.target);
        return;
      case 'NS':
        this.name(d.host);
        return;
      case 'MX':
        this.u16(d.preference);
        this.name(d.exchange);
        return;
      case 'TXT':
        for (const s of d.strings) {
          this.u8(s.length);
          this.bytes(s);
        }
        return;
      case 'SRV':
        // RFC 2782: the target is not compressed.
        this.u16(d.priority);
        this.u16(d.weight);
        this.u16(d.port);
        this.name(d.target, false);
        return;
      case 'CAA': {
        const tag = Buffer.from(d.tag, 'latin1');
        this.u8(d.flags);
        this.u8(tag.length);
        this.bytes(tag);
        this.bytes(d.value);
        return;
      }
      case 'SOA':
        this.name(d.mname);
        this.name(d.rname);
        this.u32(d.serial);
        this.u32(d.refresh);
        this.u32(d.retry);
        this.u32(d.expire);
        this.u32(d.minimum);
        return;
    }
  }

  toBuffer(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.length));
  }
}

export function ipv6Bytes(address: string): Buffer {
  let text = address;
  const out = Buffer.alloc(16);
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two groups.
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    text = text.slice(0, v4.index) + ((a << 8) | b).toString(16) + ':' + ((c << 8) | d).toString(16);
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16) || 0, i * 2));
  return out;
}
