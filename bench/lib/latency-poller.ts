/**
 * Asks `static.example.test A` over UDP every `everyMs` and keeps each
 * reply's latency (a query unanswered after 3 s counts as 3,000 ms): the DNS
 * stall benches (dns-stall, admin-load) read the worst of a window.
 */
import { createSocket } from 'node:dgram';
import { buildQuery } from '../../test/helpers/raw-dns.ts';

export class LatencyPoller {
  private readonly sock = createSocket('udp4');
  private readonly sent = new Map<number, number>();
  private readonly done: Array<{ at: number; ms: number }> = [];
  private timer: NodeJS.Timeout | undefined;
  private id = 0;
  constructor(
    private readonly port: number,
    private readonly everyMs: number,
  ) {
    this.sock.on('message', (msg) => {
      const at = this.sent.get(msg.readUInt16BE(0));
      if (at === undefined) return;
      this.sent.delete(msg.readUInt16BE(0));
      this.done.push({ at, ms: performance.now() - at });
    });
  }
  start(): void {
    this.timer = setInterval(() => {
      this.id = (this.id + 1) & 0xffff;
      const now = performance.now();
      for (const [id, at] of this.sent) if (now - at > 3000) (this.sent.delete(id), this.done.push({ at, ms: 3000 }));
      this.sent.set(this.id, now);
      this.sock.send(buildQuery('static.example.test', 1, { id: this.id }), this.port, '127.0.0.1');
    }, this.everyMs);
  }
  /** Worst and 99th-percentile latency and count of the queries sent in [from, to]. */
  worst(from: number, to: number): { maxMs: number; p99Ms: number; queries: number } {
    const xs = this.done.filter((d) => d.at >= from && d.at <= to).map((d) => d.ms).sort((a, b) => a - b);
    return { maxMs: xs.length ? xs[xs.length - 1]! : NaN, p99Ms: xs.length ? xs[Math.floor(xs.length * 0.99)]! : NaN, queries: xs.length };
  }
  stop(): void {
    clearInterval(this.timer);
    this.sock.close();
  }
}
