/**
 * The fast answer path for UDP: a query is matched on its raw bytes and,
 * when it has the plain shape almost every resolver sends, answered from a
 * ready-encoded reply of the current snapshot (reply-templates.ts) by
 * copying it and patching the ID, the RD bit, the question's case and the
 * DO bit. dns2's parser never sees such a query.
 *
 * The plain shape (anything else → undefined, and the full path answers):
 * - QR 0, opcode QUERY; QDCOUNT 1, ANCOUNT 0, NSCOUNT 0, ARCOUNT 0 or 1;
 *   the other header bits (AA, TC, Z, AD, CD, RCODE) are ignored, as the
 *   full path ignores them.
 * - one question: uncompressed labels of printable ASCII without "." (so
 *   the name reads the same to dns2 and here), class IN, type not AXFR/IXFR.
 * - with ARCOUNT 1, a plain OPT: root owner, type 41, version 0, no options
 *   (RDLENGTH 0); only the DO flag is read.
 * - nothing after that.
 * The reply must also fit the client's UDP limit (512 without EDNS, its
 * EDNS size within [512, 1232] with it), else the full path truncates it.
 *
 * It reads the bytes itself rather than with wire/reader.ts: it accepts a
 * narrower shape (no compression, printable labels) in one pass without
 * allocating, on the path every plain query takes.
 */
import { lookupClientMap } from '../config/client-map.ts';
import { clientAddressBytes } from '../config/client-networks.ts';
import type { ReplyTemplates, TopologyTemplate } from './reply-templates.ts';
import { CLASS_IN, EDNS_UDP_SIZE, HEADER_SIZE, MAX_LABEL, MAX_NAME, QTYPE_AXFR, QTYPE_IXFR, TYPE_OPT, UDP_PLAIN_LIMIT } from './wire/constants.ts';

/** A plain query as read from its bytes (reused: one per server, not per query). */
export interface PlainQuery {
  /** Offset just past the question name's root label. */
  nameEnd: number;
  qtype: number;
  edns: boolean;
  /** The client's UDP limit for the reply. */
  limit: number;
  /** Set when the query asked DO (OPT flags bit 15). */
  do: boolean;
  /** The question name, lower-cased ASCII, labels joined with "." (no trailing dot). */
  name: string;
}

/** Reads `msg` into `out` when it is a plain query; false otherwise. */
export function readPlainQuery(msg: Buffer, out: PlainQuery): boolean {
  const len = msg.length;
  // Header, root name, type and class.
  if (len < HEADER_SIZE + 5) return false;
  // QR 0 and opcode 0.
  if ((msg[2]! & 0xf8) !== 0) return false;
  // QDCOUNT 1, ANCOUNT 0, NSCOUNT 0, ARCOUNT 0|1.
  if (msg[4] !== 0 || msg[5] !== 1 || msg[6] !== 0 || msg[7] !== 0 || msg[8] !== 0 || msg[9] !== 0 || msg[10] !== 0) return false;
  const arcount = msg[11]!;
  if (arcount > 1) return false;
  let i = HEADER_SIZE;
  let upper = false;
  for (;;) {
    if (i >= len) return false;
    const l = msg[i]!;
    if (l === 0) break;
    if (l > MAX_LABEL) return false; // compression pointers and extended labels
    const end = i + 1 + l;
    if (end > len || end - HEADER_SIZE >= MAX_NAME) return false;
    for (let j = i + 1; j < end; j++) {
      const c = msg[j]!;
      if (c < 0x21 || c > 0x7e || c === 0x2e) return false;
      if (c >= 0x41 && c <= 0x5a) upper = true;
    }
    i = end;
  }
  const nameEnd = i + 1;
  if (nameEnd + 4 > len) return false;
  const qtype = (msg[nameEnd]! << 8) | msg[nameEnd + 1]!;
  if (qtype === QTYPE_AXFR || qtype === QTYPE_IXFR || qtype === TYPE_OPT) return false;
  if (msg[nameEnd + 2] !== 0 || msg[nameEnd + 3] !== CLASS_IN) return false;
  let at = nameEnd + 4;
  out.edns = false;
  out.do = false;
  out.limit = UDP_PLAIN_LIMIT;
  if (arcount === 1) {
    // root, TYPE 41, CLASS = size, TTL = ext-rcode, version, flags, RDLENGTH 0
    if (at + 11 !== len) return false;
    if (msg[at] !== 0 || msg[at + 1] !== 0 || msg[at + 2] !== TYPE_OPT) return false;
    // at+5: extended rcode (ignored by the full path as well); at+6: version.
    if (msg[at + 6] !== 0 || msg[at + 9] !== 0 || msg[at + 10] !== 0) return false;
    const size = (msg[at + 3]! << 8) | msg[at + 4]!;
    out.edns = true;
    out.do = (msg[at + 7]! & 0x80) !== 0;
    out.limit = size < UDP_PLAIN_LIMIT ? UDP_PLAIN_LIMIT : size > EDNS_UDP_SIZE ? EDNS_UDP_SIZE : size;
    at += 11;
  }
  if (at !== len) return false;
  out.nameEnd = nameEnd;
  out.qtype = qtype;
  if (nameEnd === HEADER_SIZE + 1) out.name = '';
  else {
    // Labels to a dotted name: length octets become ".", the first dropped.
    let name = '';
    let p = HEADER_SIZE;
    while (msg[p] !== 0) {
      const l = msg[p]!;
      if (p > HEADER_SIZE) name += '.';
      name += msg.toString('latin1', p + 1, p + 1 + l);
      p += 1 + l;
    }
    out.name = upper ? name.toLowerCase() : name;
  }
  return true;
}

export function newPlainQuery(): PlainQuery {
  return { nameEnd: 0, qtype: 0, edns: false, limit: UDP_PLAIN_LIMIT, do: false, name: '' };
}

/**
 * The reply to a plain query from the templates, or undefined when the full
 * path must answer (not plain, not cacheable, or too big for the client).
 */
export function fastAnswer(msg: Buffer, templates: ReplyTemplates, scratch: PlainQuery, client?: string): Buffer | undefined {
  if (!readPlainQuery(msg, scratch)) return undefined;
  const found = templates.get(scratch.name, scratch.qtype, scratch.edns);
  // Policy topology: the client's source address picks the reply (a plain query carries no client subnet).
  const t = found === undefined || Buffer.isBuffer(found) ? found : topologyReply(found, client);
  if (t === undefined || t.length > scratch.limit) return undefined;
  const out = Buffer.allocUnsafe(t.length);
  t.copy(out, 0, 0, t.length);
  // ID, RD (byte 2 bit 0: the template has RD clear), question name bytes.
  out[0] = msg[0]!;
  out[1] = msg[1]!;
  out[2] = out[2]! | (msg[2]! & 0x01);
  msg.copy(out, HEADER_SIZE, HEADER_SIZE, scratch.nameEnd);
  // DO lives in the OPT's flags, 4 bytes from the end (flags, RDLENGTH 0).
  if (scratch.do) out[t.length - 4] = out[t.length - 4]! | 0x80;
  return out;
}

function topologyReply(t: TopologyTemplate, client: string | undefined): Buffer | undefined {
  const addr = client === undefined ? undefined : clientAddressBytes(client);
  if (!addr) return undefined;
  const index = lookupClientMap(t.topology, addr.family, addr.bytes).value;
  return t.replies[index] ?? undefined;
}
