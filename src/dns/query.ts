/**
 * Reads what failoverd needs from a query that dns2 has parsed, and decides
 * the protocol-level outcome (FORMERR, NOTIMP, BADVERS, REFUSED) before any
 * zone data is looked at.
 */
import type { DnsRequest } from './dns2.ts';
import { readEcs, type EcsOption } from './ecs.ts';
import { CLASS_ANY, CLASS_IN, EDNS_UDP_SIZE, MAX_LABEL, OPCODE_QUERY, RCODE, TYPE_OPT, UDP_PLAIN_LIMIT } from './wire/constants.ts';

export interface EdnsInfo {
  udpSize: number;
  version: number;
  do: boolean;
}

export interface QueryInfo {
  id: number;
  opcode: number;
  rd: boolean;
  /** The single question, when one could be read. */
  question?: { name: string; type: number; class: number };
  edns?: EdnsInfo;
  /** A well-formed EDNS Client Subnet option of the query (ecs.ts): echoed in the reply. */
  ecs?: EcsOption;
}

/** The verdict on a query: answer it from zone data, or reply with this rcode. */
export type QueryVerdict = { kind: 'answer' } | { kind: 'error'; rcode: number; withQuestion: boolean } | { kind: 'drop' };

export function readQuery(req: DnsRequest): { info: QueryInfo; verdict: QueryVerdict } {
  const h = req.header;
  const info: QueryInfo = { id: h.id, opcode: h.opcode, rd: !!h.rd };
  // Never answer a response: that is how reflection loops start.
  if (h.qr) return { info, verdict: { kind: 'drop' } };
  const opts = req.additionals.filter((r) => r && r.type === TYPE_OPT);
  const opt = opts[0] as { name?: string; class: number; version?: number; doFlag?: boolean } | undefined;
  if (opt) info.edns = { udpSize: opt.class, version: opt.version ?? 0, do: !!opt.doFlag };
  if (req.questions.length === 1) {
    const q = req.questions[0]!;
    info.question = { name: stripDot(q.name), type: q.type, class: q.class };
  }
  const malformed =
    req.errors.length > 0 ||
    opts.length > 1 ||
    (opt !== undefined && opt.name !== '' && opt.name !== undefined) ||
    // dns2 joins labels with ".", so a label holding a "." byte cannot be
    // echoed faithfully: refuse to guess (FORMERR without the question).
    (info.question !== undefined && !encodable(info.question.name));
  if (malformed || h.qdcount !== 1 || req.questions.length !== 1) {
    return { info, verdict: { kind: 'error', rcode: RCODE.FORMERR, withQuestion: false } };
  }
  if (opt) {
    const ecs = readEcs(req.raw);
    // A malformed client subnet option: FORMERR (RFC 7871 §7.1.1), the question echoed, no option in the reply.
    if (ecs.kind === 'malformed') return { info, verdict: { kind: 'error', rcode: RCODE.FORMERR, withQuestion: true } };
    if (ecs.kind === 'ecs') info.ecs = ecs.ecs;
  }
  if (h.opcode !== OPCODE_QUERY) return { info, verdict: { kind: 'error', rcode: RCODE.NOTIMP, withQuestion: true } };
  if (info.edns && info.edns.version > 0) return { info, verdict: { kind: 'error', rcode: RCODE.BADVERS, withQuestion: true } };
  // Class IN, and ANY (answered with the IN data); CHAOS, NONE and the rest are refused.
  const qclass = info.question!.class;
  if (qclass !== CLASS_IN && qclass !== CLASS_ANY) return { info, verdict: { kind: 'error', rcode: RCODE.REFUSED, withQuestion: true } };
  return { info, verdict: { kind: 'answer' } };
}

/** The largest UDP reply the client accepts, within what we offer. */
export function udpLimit(info: QueryInfo): number {
  if (!info.edns) return UDP_PLAIN_LIMIT;
  return Math.min(Math.max(info.edns.udpSize, UDP_PLAIN_LIMIT), EDNS_UDP_SIZE);
}

function stripDot(name: string): string {
  return name.endsWith('.') ? name.slice(0, -1) : name;
}

function encodable(name: string): boolean {
  if (name === '') return true;
  // 253 characters: 255 octets on the wire (the first length octet and the root label).
  if (name.length > 253) return false;
  for (const label of name.split('.')) if (label.length === 0 || label.length > MAX_LABEL) return false;
  return true;
}
