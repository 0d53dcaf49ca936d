/**
 * Decodes the RDATA of a record read by reader.ts into failoverd's record
 * model (dns-model/records.ts), for the types a zone read back by IXFR/AXFR
 * carries that failoverd compares: A, AAAA, CNAME, NS, PTR, MX, TXT, SOA.
 * Other types (and malformed RDATA) read as undefined. Names in RDATA may
 * be compressed (RFC 1035 §4.1.4; RFC 3597 §4 keeps it for these types).
 */
import { canonicalIp } from '../../config/ip-address.ts';
import type { RData } from '../../dns-model/records.ts';
import { RR_TYPE_BY_CODE } from '../../dns-model/records.ts';
import { readName, type WireRecord } from './reader.ts';

export function readRData(buf: Buffer, r: WireRecord): RData | undefined {
  const type = RR_TYPE_BY_CODE.get(r.type);
  const len = r.end - r.rdata;
  const at = r.rdata;
  const name = (off: number): { name: string; next: number } | undefined => {
    const n = readName(buf, off);
    return n && n.next <= r.end ? n : undefined;
  };
  switch (type) {
    case 'A':
      return len === 4 ? { type, address: [...buf.subarray(at, at + 4)].join('.') } : undefined;
    case 'AAAA': {
      if (len !== 16) return undefined;
      const groups: string[] = [];
      for (let i = 0; i < 16; i += 2) groups.push(buf.readUInt16BE(at + i).toString(16));
      return { type, address: canonicalIp(groups.join(':')) };
    }
    case 'CNAME':
    case 'PTR': {
      const n = name(at);
      return n ? { type, target: n.name } : undefined;
    }
    case 'NS': {
      const n = name(at);
      return n ? { type, host: n.name } : undefined;
    }
    case 'MX': {
      if (len < 3) return undefined;
      const n = name(at + 2);
      return n ? { type, preference: buf.readUInt16BE(at), exchange: n.name } : undefined;
    }
    case 'TXT': {
      const strings: Buffer[] = [];
      let p = at;
      while (p < r.end) {
        const l = buf[p]!;
        if (p + 1 + l > r.end) return undefined;
        strings.push(Buffer.from(buf.subarray(p + 1, p + 1 + l)));
        p += 1 + l;
      }
      return { type, strings };
    }
    case 'SOA': {
      const m = name(at);
      const rn = m && name(m.next);
      if (!rn || rn.next + 20 !== r.end) return undefined;
      const u = (i: number) => buf.readUInt32BE(rn.next + 4 * i);
      return { type, mname: m.name, rname: rn.name, serial: u(0), refresh: u(1), retry: u(2), expire: u(3), minimum: u(4) };
    }
    default:
      return undefined;
  }
}
