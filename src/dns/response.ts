/**
 * Encodes a reply: header flags, the echoed question, the sections of a
 * Resolution, and an OPT when the query had one. Fits the reply into the
 * transport's limit, truncating with TC set and the OPT kept.
 */
import type { QueryInfo } from './query.ts';
import { EDNS_UDP_SIZE } from './query.ts';
import type { AnswerRR, Resolution } from './resolve.ts';
import { TYPE_OPT, WireWriter } from './wire-writer.ts';

export const TCP_LIMIT = 65535;

interface Sections {
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
  return encode(q, { ...s, answer: EMPTY, authority: EMPTY }, withQuestion, true, EMPTY);
}

function encode(q: QueryInfo, s: Sections, withQuestion: boolean, tc: boolean, additional: AnswerRR[]): Buffer {
  const w = new WireWriter(512);
  const question = withQuestion ? q.question : undefined;
  w.u16(q.id);
  let flags = 0x8000 | ((q.opcode & 0xf) << 11);
  if (s.aa) flags |= 0x0400;
  if (tc) flags |= 0x0200;
  if (q.rd) flags |= 0x0100;
  flags |= s.rcode & 0xf;
  w.u16(flags);
  w.u16(question ? 1 : 0);
  w.u16(s.answer.length);
  w.u16(s.authority.length);
  w.u16(additional.length + (q.edns ? 1 : 0));
  if (question) {
    w.name(question.name);
    w.u16(question.type);
    w.u16(question.class);
  }
  for (const r of s.answer) w.rr(r.owner, r.ttl, r.data);
  for (const r of s.authority) w.rr(r.owner, r.ttl, r.data);
  for (const r of additional) w.rr(r.owner, r.ttl, r.data);
  if (q.edns) {
    w.u8(0); // root
    w.u16(TYPE_OPT);
    w.u16(EDNS_UDP_SIZE);
    w.u8((s.rcode >> 4) & 0xff); // extended rcode
    w.u8(0); // version
    w.u16(q.edns.do ? 0x8000 : 0);
    w.u16(0);
  }
  return w.toBuffer();
}
