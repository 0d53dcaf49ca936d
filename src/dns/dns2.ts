/**
 * The part of dns2 failoverd uses, through its public API only: the
 * message decoder `Packet.parse`, for queries the fast path does not take.
 *
 * failoverd owns its sockets instead of using dns2's UDPServer and
 * TCPServer: both hand a handler the decoded Packet without the bytes it
 * came from, and failoverd needs those bytes (the fast path matches them
 * before any decoding; a TSIG MAC covers the exact message; a UDP worker
 * forwards them to the main process). dns2's TCPServer also has no bound
 * on connections or on the time one message may take (tcp-server.ts).
 * Replies are encoded by failoverd too (wire/writer.ts says why).
 */
import dns2 from 'dns2';
import { hideEcsFromDns2 } from './ecs.ts';

export const { Packet } = dns2;

export interface DnsRequest {
  header: { id: number; qr: number; opcode: number; rd: number; qdcount: number };
  questions: Array<{ name: string; type: number; class: number }>;
  additionals: Array<{ type: number; name?: string; class: number; version?: number; doFlag?: boolean }>;
  errors: unknown[];
  /** The request as received (without the TCP length prefix). */
  raw: Buffer;
}

/** Who sent a request. */
export interface DnsClient {
  address: string;
  port: number;
}

/**
 * Decodes a request with dns2 and keeps its bytes beside it. Throws (dns2's
 * DecodeError) when the message has no usable header; per-record failures
 * are listed in `errors`.
 */
export function parseRequest(raw: Buffer): DnsRequest {
  const p = Packet.parse(hideEcsFromDns2(raw));
  return { header: p.header, questions: p.questions, additionals: p.additionals, errors: p.errors, raw };
}
