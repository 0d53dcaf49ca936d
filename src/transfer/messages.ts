/**
 * Encodes the response messages of a transfer with the shared WireWriter:
 * a stream of records split into messages that fit a size budget (64 KiB
 * for TCP, less room kept for TSIG), the question in the first message
 * only (RFC 5936 §2.2.1), an OPT in each when the query had one, and each
 * message signed when a signer is given.
 */
import type { QueryInfo } from '../dns/query.ts';
import type { AnswerRR } from '../dns/resolve.ts';
import { WireWriter } from '../dns/wire/writer.ts';

/** Octets of the OPT record a reply carries (root, type, class, TTL, RDLENGTH 0). */
const OPT_SIZE = 11;

export interface ReplyHeader {
  rcode: number;
  aa: boolean;
  tc?: boolean;
  /** Echo the question (default true). */
  question?: boolean;
}

export interface Signer {
  sign(message: Buffer): Buffer;
}

/** One message: header, question, answer records, OPT (no TSIG). */
export function encodeMessage(q: QueryInfo, h: ReplyHeader, answer: readonly AnswerRR[], withQuestion = h.question !== false): Buffer {
  const w = new WireWriter(512);
  writeHeader(w, q, h, withQuestion, answer.length);
  for (const r of answer) w.rr(r.owner, r.ttl, r.data);
  writeOpt(w, q, h.rcode);
  return w.toBuffer();
}

/**
 * The records as a sequence of messages, each at most `budget` bytes before
 * signing. Encoding is deterministic, so when a record overflows a message,
 * the message is encoded again without it and the record opens the next one.
 */
export function encodeStream(q: QueryInfo, h: ReplyHeader, records: readonly AnswerRR[], budget: number, signer?: Signer): Buffer[] {
  const out: Buffer[] = [];
  const limit = budget - (q.edns ? OPT_SIZE : 0);
  let start = 0;
  while (start < records.length || out.length === 0) {
    const first = out.length === 0;
    const w = new WireWriter(4096);
    writeHeader(w, q, h, first && h.question !== false, 0);
    let end = start;
    while (end < records.length) {
      const r = records[end]!;
      w.rr(r.owner, r.ttl, r.data);
      if (w.length > limit) break;
      end++;
    }
    let msg: Buffer;
    if (end === records.length) {
      writeOpt(w, q, h.rcode);
      w.patchU16(6, end - start);
      msg = w.toBuffer();
    } else {
      if (end === start) throw new Error(`a record of ${records[start]!.owner} does not fit in a message of ${budget} bytes`);
      msg = encodeMessage(q, h, records.slice(start, end), first && h.question !== false);
    }
    out.push(signer ? signer.sign(msg) : msg);
    start = end;
    if (records.length === 0) break;
  }
  return out;
}

function writeHeader(w: WireWriter, q: QueryInfo, h: ReplyHeader, withQuestion: boolean, ancount: number): void {
  const question = withQuestion ? q.question : undefined;
  w.replyHeader(q, h, { qd: question ? 1 : 0, an: ancount, ns: 0, ar: q.edns ? 1 : 0 });
  if (question) w.question(question);
}

function writeOpt(w: WireWriter, q: QueryInfo, rcode: number): void {
  if (q.edns) w.opt(rcode, q.edns.do);
}
