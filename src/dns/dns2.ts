/**
 * The parts of dns2 failoverd uses, typed narrowly, and one gap filled:
 * dns2 hands handlers a parsed request without its bytes, which TSIG (MAC
 * over the exact message) and raw-byte matching need. Packet.parse is
 * wrapped once so every parsed request carries `raw`.
 */
import dns2 from 'dns2';

export const { UDPServer, TCPServer, Packet } = dns2;

const parse = Packet.parse as (buf: Buffer) => DnsRequest;
if (!(parse as { keepsRaw?: boolean }).keepsRaw) {
  const withRaw = (buf: Buffer): DnsRequest => {
    const req = parse(buf);
    req.raw = buf;
    return req;
  };
  (withRaw as { keepsRaw?: boolean }).keepsRaw = true;
  (Packet as unknown as { parse: typeof withRaw }).parse = withRaw;
}

export interface DnsRequest {
  header: { id: number; qr: number; opcode: number; rd: number; qdcount: number };
  questions: Array<{ name: string; type: number; class: number }>;
  additionals: Array<{ type: number; name?: string; class: number; version?: number; doFlag?: boolean }>;
  errors?: unknown[];
  /** The request as received (without the TCP length prefix). */
  raw?: Buffer;
}

/** Who sent a request. */
export interface DnsClient {
  address: string;
  port: number;
}
