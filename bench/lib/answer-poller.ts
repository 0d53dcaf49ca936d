/** Asks one name over UDP every `everyMs` (type A unless told) and keeps what each reply answered. */
import { createSocket, type Socket } from 'node:dgram';
import { Packet } from '../../src/dns/dns2.ts';
import { buildQuery } from '../../test/helpers/raw-dns.ts';

export interface Poll {
  sentAt: number;
  answer?: string;
  rcode?: number;
  at?: number;
}

export function addressesOf(reply: Buffer): string {
  const p = Packet.parse(reply) as unknown as { answers: Array<{ address?: string }> };
  return p.answers.map((a) => a.address ?? '?').join(',');
}

/** The SOA serial of a reply (its first answer), as a string. */
export function soaSerialOf(reply: Buffer): string {
  const p = Packet.parse(reply) as unknown as { answers: Array<{ serial?: number }> };
  return String(p.answers[0]?.serial ?? '');
}

export class AnswerPoller {
  private readonly sock: Socket;
  private timer: NodeJS.Timeout | undefined;
  private id = 0;
  readonly polls = new Map<number, Poll>();
  private waiters: Array<{ want: string; since: number; resolve: (at: number) => void }> = [];

  constructor(
    private readonly port: number,
    private readonly name: string,
    private readonly everyMs = 20,
    private readonly host = '127.0.0.1',
    private readonly query: { type: number; read: (reply: Buffer) => string } = { type: 1, read: addressesOf },
  ) {
    this.sock = createSocket('udp4');
    this.sock.on('message', (msg) => {
      const p = this.polls.get(msg.readUInt16BE(0));
      if (!p || p.at !== undefined) return;
      p.at = performance.now();
      p.rcode = msg[3]! & 0xf;
      try {
        p.answer = this.query.read(msg);
      } catch {
        p.answer = 'unparseable';
      }
      this.waiters = this.waiters.filter((w) => {
        if (p.answer !== w.want || p.sentAt < w.since) return true;
        w.resolve(p.at!);
        return false;
      });
    });
  }

  start(): void {
    const tick = (): void => {
      this.id = (this.id + 1) & 0xffff;
      this.polls.set(this.id, { sentAt: performance.now() });
      this.sock.send(buildQuery(this.name, this.query.type, { id: this.id }), this.port, this.host);
    };
    tick();
    this.timer = setInterval(tick, this.everyMs);
  }

  /** Resolves with the time of the first reply answering `want` to a query sent at or after `since`. */
  until(want: string, since: number, timeoutMs = 10_000): Promise<number> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no "${want}" answer within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({
        want,
        since,
        resolve: (at) => {
          clearTimeout(t);
          resolve(at);
        },
      });
    });
  }

  /** The time of the first reply answering `answer` to a query sent at or after `since`, if any. */
  firstSeen(answer: string, since: number): number | undefined {
    let first: number | undefined;
    for (const p of this.polls.values()) if (p.answer === answer && p.sentAt >= since && p.at !== undefined && (first === undefined || p.at < first)) first = p.at;
    return first;
  }

  /** The answer of the newest reply. */
  latest(): string | undefined {
    let best: Poll | undefined;
    for (const p of this.polls.values()) if (p.at !== undefined && (!best || p.sentAt > best.sentAt)) best = p;
    return best?.answer;
  }

  stop(): void {
    clearInterval(this.timer);
    this.sock.close();
  }
}
