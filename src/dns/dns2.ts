/** The parts of dns2 failoverd uses, typed narrowly. */
import dns2 from 'dns2';

export const { UDPServer, TCPServer, Packet } = dns2;

export interface DnsRequest {
  header: { id: number; qr: number; opcode: number; rd: number; qdcount: number };
  questions: Array<{ name: string; type: number; class: number }>;
  additionals: Array<{ type: number; name?: string; class: number; version?: number; doFlag?: boolean }>;
  errors?: unknown[];
}
