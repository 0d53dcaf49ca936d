/**
 * Encodes a reply: header flags, the echoed question, the sections of a
 * Resolution, and an OPT when the query had one. Fits the reply into the
 * transport's limit, truncating with TC set and the OPT kept.
 */
import type { QueryInfo } from './query.ts';
import type { AnswerRR, Resolution } from './resolve.ts';
import { WireWriter } from './wire/writer.ts';

interface Sections {
  /** EDNS Client Subnet: the SCOPE PREFIX-LENGTH echoed (0 when not given). */
  scope?: number;
  rcode: number;
  aa: boolean;
  answer: AnswerRR[];
  authority: AnswerRR[];
  additional: AnswerRR[];
}

const EMPTY: AnswerRR[] = [];

/** An error reply (FORMERR, NOTIMP, REFUSED, SERVFAIL, BADVERS), AA clear. */
export function errorSections(rcode: number): Sections {
  return { rcode, aa: false, answer: EMPTY, authority: EMPTY, additional: EMPTY };
}

export function encodeReply(q: QueryInfo, s: Sections | Resolution, limit: number, withQuestion = true): Buffer {
  const full = encode(q, s, withQuestion, false, s.additional);
  if (full.length <= limit) return full;
  // Additional data is optional, except glue for a referral (RFC 9471).
  const referral = !s.aa && s.answer.length === 0 && s.authority.some((r) => r.data.type === 'NS');
  if (s.additional.length > 0 && !referral) {
    const lean = encode(q, s, withQuestion, false, EMPTY);
    if (lean.length <= limit) return lean;
  }
  // So are the apex NS beside a positive answer (the SOA of a negative one is not):
  // NSD and Knot drop them before they truncate.
  if (s.aa && s.answer.length > 0 && s.authority.length > 0 && !s.authority.some((r) => r.data.type === 'SOA')) {
    const bare = encode(q, { ...s, authority: EMPTY }, withQuestion, false, EMPTY);
    if (bare.length <= limit) return bare;
  }
  // Truncated: TC, and the whole RRsets of the answer that fit, in order
  // (RFC 2181 §9: never part of an RRset), as NSD does for a CNAME chain.
  const ends = rrsetEnds(s.answer);
  for (let n = ends.length; n > 0; n--) {
    const reply = encode(q, { ...s, answer: s.answer.slice(0, ends[n - 1]), authority: EMPTY }, withQuestion, true, EMPTY);
    if (reply.length <= limit) return reply;
  }
  return encode(q, { ...s, answer: EMPTY, authority: EMPTY }, withQuestion, true, EMPTY);
}

/** The index just past each RRset (a run of records of one owner and type) of a section. */
function rrsetEnds(rrs: AnswerRR[]): number[] {
  const ends: number[] = [];
  for (let i = 1; i <= rrs.length; i++) {
    const a = rrs[i - 1]!;
    const b = rrs[i];
    if (!b || b.owner !== a.owner || b.data.type !== a.data.type) ends.push(i);
  }
  return ends;
}

function encode(q: QueryInfo, s: Sections, withQuestion: boolean, tc: boolean, additional: AnswerRR[]): Buffer {
  const w = new WireWriter(512);
  const question = withQuestion ? q.question : undefined;
  w.replyHeader(q, { rcode: s.rcode, aa: s.aa, tc }, { qd: question ? 1 : 0, an: s.answer.length, ns: s.authority.length, ar: additional.length + (q.edns ? 1 : 0) });
  if (question) w.question(question);
  for (const r of s.answer) w.rr(r.owner, r.ttl, r.data);
  for (const r of s.authority) w.rr(r.owner, r.ttl, r.data);
  for (const r of additional) w.rr(r.owner, r.ttl, r.data);
  // RFC 7871 §7.2.1: the option is echoed (family, source prefix and address as sent) only when the query had one.
  if (q.edns) w.opt(s.rcode, q.edns.do, q.ecs ? { family: q.ecs.family, sourceBits: q.ecs.sourceBits, scopeBits: s.scope ?? 0, address: q.ecs.address } : undefined);
  return w.toBuffer();
}
