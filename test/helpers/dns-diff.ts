/**
 * Sending the same query bytes to several DNS servers and comparing their
 * replies, parsed with dns-packet (not dig's text), component by component.
 *
 * Normalisations (everything else is compared as sent):
 * - Record order inside a section is sorted away: neither the order of the
 *   records of an RRset nor the order of RRsets in a section carries meaning
 *   (RFC 2181 §5; NSD, Knot and failoverd each keep their own order).
 * - EDNS options in the OPT record are dropped: queries ask for none (no
 *   NSID, no cookie, no padding), so a server adding one is a choice of its
 *   configuration, not of the answer. The OPT's version, DO flag, other
 *   flags, UDP size and extended rcode are kept.
 * Nothing else: the ID, every header bit (AA, TC, RD, RA, Z, AD, CD), the
 * question as echoed (0x20 case included), owner names with their case,
 * TTLs (also of negative answers) and RDATA are compared as they are.
 */
import { createSocket, type Socket } from 'node:dgram';
import dnsPacket from 'dns-packet';
import { tcpExchange } from './raw-dns.ts';

export const COMPONENTS = ['header', 'question', 'answer', 'authority', 'additional', 'edns'] as const;
export type Component = (typeof COMPONENTS)[number];
export type ReplyView = Record<Component, string>;

/** A reply as comparable text, one string per component (see the normalisations above). */
export function viewReply(reply: Buffer | undefined): ReplyView {
  if (!reply) return { header: 'no reply', question: '', answer: '', authority: '', additional: '', edns: '' };
  if (reply.length < 12) return { header: `short reply ${reply.toString('hex')}`, question: '', answer: '', authority: '', additional: '', edns: '' };
  const b2 = reply[2]!;
  const b3 = reply[3]!;
  const bits = [
    b2 & 0x80 ? 'qr' : '',
    b2 & 0x04 ? 'aa' : '',
    b2 & 0x02 ? 'tc' : '',
    b2 & 0x01 ? 'rd' : '',
    b3 & 0x80 ? 'ra' : '',
    b3 & 0x40 ? 'z' : '',
    b3 & 0x20 ? 'ad' : '',
    b3 & 0x10 ? 'cd' : '',
  ].filter(Boolean);
  const header = `id=${reply.readUInt16BE(0)} opcode=${(b2 >> 3) & 0xf} rcode=${b3 & 0xf} ${bits.join(' ')}`;
  let p: dnsPacket.Packet;
  try {
    p = dnsPacket.decode(reply);
  } catch (err) {
    return { header, question: `undecodable: ${(err as Error).message}`, answer: reply.toString('hex'), authority: '', additional: '', edns: '' };
  }
  const opts = (p.additionals ?? []).filter((r) => r.type === 'OPT') as unknown as Array<{ udpPayloadSize: number; extendedRcode: number; ednsVersion: number; flags: number; name: string }>;
  return {
    header,
    question: (p.questions ?? []).map((q) => `${q.name} ${q.type} ${q.class}`).join('\n'),
    answer: section(p.answers),
    authority: section(p.authorities),
    additional: section((p.additionals ?? []).filter((r) => r.type !== 'OPT')),
    edns: opts.map((o) => `owner=${o.name} v${o.ednsVersion} udp=${o.udpPayloadSize} ercode=${o.extendedRcode} flags=0x${o.flags.toString(16)}`).join('\n') || 'none',
  };
}

function section(rrs: readonly dnsPacket.Answer[] | undefined): string {
  return (rrs ?? [])
    .map((r) => {
      const rr = r as unknown as { name: string; type: string; class: string; ttl: number; data: unknown };
      return `${rr.name} ${rr.ttl} ${rr.class} ${rr.type} ${rdataText(rr.data)}`;
    })
    .sort()
    .join('\n');
}

function rdataText(d: unknown): string {
  if (Buffer.isBuffer(d)) return `\\# ${d.toString('hex')}`;
  if (Array.isArray(d)) return d.map((x) => (Buffer.isBuffer(x) ? JSON.stringify(x.toString('latin1')) : rdataText(x))).join(' ');
  if (d !== null && typeof d === 'object') {
    return Object.entries(d as Record<string, unknown>)
      .map(([k, v]) => `${k}=${Buffer.isBuffer(v) ? v.toString('hex') : typeof v === 'object' ? rdataText(v) : String(v)}`)
      .join(' ');
  }
  return String(d);
}

/** Components where `a` and `b` differ. */
export function differing(a: ReplyView, b: ReplyView): Component[] {
  return COMPONENTS.filter((c) => a[c] !== b[c]);
}

export function showView(v: ReplyView): string {
  return COMPONENTS.filter((c) => v[c] !== '')
    .map((c) => `    ${c}: ${v[c].replace(/\n/g, '\n      ')}`)
    .join('\n');
}

/**
 * One UDP socket to one server, many queries in flight, told apart by ID.
 * A query unanswered after `timeoutMs` is sent again, up to three times in all
 * (a loaded machine may drop a datagram), then given up.
 */
export class UdpAsker {
  private readonly sock: Socket;
  private readonly waiting = new Map<number, (reply: Buffer) => void>();

  constructor(private readonly port: number) {
    this.sock = createSocket('udp4');
    this.sock.on('message', (msg) => {
      if (msg.length < 2) return;
      const id = msg.readUInt16BE(0);
      const done = this.waiting.get(id);
      if (done) {
        this.waiting.delete(id);
        done(msg);
      }
    });
  }

  async ask(query: Buffer, timeoutMs = 1500): Promise<Buffer | undefined> {
    const id = query.readUInt16BE(0);
    if (this.waiting.has(id)) throw new Error(`query id ${id} already in flight`);
    for (let attempt = 0; attempt < 3; attempt++) {
      const reply = await new Promise<Buffer | undefined>((resolve) => {
        const timer = setTimeout(() => {
          this.waiting.delete(id);
          resolve(undefined);
        }, timeoutMs);
        this.waiting.set(id, (msg) => {
          clearTimeout(timer);
          resolve(msg);
        });
        this.sock.send(query, this.port, '127.0.0.1');
      });
      if (reply) return reply;
    }
    return undefined;
  }

  close(): void {
    this.sock.close();
  }
}

export async function askTcp(port: number, query: Buffer): Promise<Buffer | undefined> {
  const [reply] = await tcpExchange(port, [query], 1, 3000);
  return reply;
}
