/**
 * Server-Sent Events for the status page: each open page gets an `update`
 * event carrying the re-rendered live HTML soon after something happens
 * (answers, health, overrides at once; probe results at most once per
 * `probeEveryMs`), and a `ping` every `pingEveryMs` so the page notices a
 * daemon that stopped answering. Nothing is rendered while no page is open;
 * a slow reader skips updates instead of growing a buffer.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { systemClock, type Clock, type TimerHandle } from '../../clock.ts';
import type { HistoryEvent } from '../status-history.ts';
import { ApiError } from '../http.ts';

export interface LiveUpdatesOptions {
  /** Renders the live part of the page. */
  render: () => string;
  /** Registers for the daemon's events; returns the unsubscribe function. */
  subscribe: (fn: (e: HistoryEvent) => void) => () => void;
  clock?: Clock;
  maxStreams?: number;
  probeEveryMs?: number;
  pingEveryMs?: number;
}

/** How long a page waits before reconnecting after the stream breaks (the `retry:` field). */
export const RECONNECT_MS = 1000;

export class LiveUpdates {
  private readonly streams = new Set<ServerResponse>();
  private readonly clock: Clock;
  private readonly maxStreams: number;
  private readonly probeEveryMs: number;
  private readonly pingEveryMs: number;
  private unsubscribe: (() => void) | undefined;
  private pending: { timer: TimerHandle; at: number } | undefined;
  private ping: TimerHandle | undefined;

  constructor(private readonly opts: LiveUpdatesOptions) {
    this.clock = opts.clock ?? systemClock;
    this.maxStreams = opts.maxStreams ?? 32;
    this.probeEveryMs = opts.probeEveryMs ?? 2000;
    this.pingEveryMs = opts.pingEveryMs ?? 5000;
  }

  get open(): number {
    return this.streams.size;
  }

  /** Takes over the response as an event stream; sends the current state at once. */
  stream(req: IncomingMessage, res: ServerResponse): void {
    if (this.streams.size >= this.maxStreams) throw new ApiError(503, 'TOO_MANY_STREAMS', `at most ${this.maxStreams} status pages can follow live updates at once`);
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no', connection: 'keep-alive' });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    req.socket.setTimeout(0);
    req.socket.setNoDelay(true);
    this.streams.add(res);
    res.on('close', () => this.drop(res));
    res.write(`retry: ${RECONNECT_MS}\n\n`);
    this.send(res, 'update', this.opts.render());
    if (!this.unsubscribe) this.unsubscribe = this.opts.subscribe((e) => this.schedule(e === 'probe' ? this.probeEveryMs : 50));
    if (!this.ping) this.armPing();
  }

  /** Ends every stream (the admin API is stopping). */
  close(): void {
    for (const res of this.streams) res.end();
    this.streams.clear();
    this.idle();
  }

  private drop(res: ServerResponse): void {
    this.streams.delete(res);
    if (this.streams.size === 0) this.idle();
  }

  private idle(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.pending?.timer.cancel();
    this.pending = undefined;
    this.ping?.cancel();
    this.ping = undefined;
  }

  /** An update within `delayMs`; an earlier one already planned covers it. */
  private schedule(delayMs: number): void {
    const at = this.clock.now() + delayMs;
    if (this.pending && this.pending.at <= at) return;
    this.pending?.timer.cancel();
    this.pending = {
      at,
      timer: this.clock.setTimer(delayMs, () => {
        this.pending = undefined;
        this.broadcast();
      }),
    };
  }

  private broadcast(): void {
    if (this.streams.size === 0) return;
    const html = this.opts.render();
    for (const res of this.streams) this.send(res, 'update', html);
  }

  private armPing(): void {
    this.ping = this.clock.setTimer(this.pingEveryMs, () => {
      for (const res of this.streams) this.send(res, 'ping', new Date(this.clock.now()).toISOString());
      if (this.streams.size) this.armPing();
      else this.ping = undefined;
    });
  }

  private send(res: ServerResponse, event: string, data: string): void {
    if (res.writableNeedDrain || res.destroyed) return; // a slow page: it gets the next one
    res.write(`event: ${event}\n${data.split('\n').map((l) => `data: ${l}`).join('\n')}\n\n`);
  }
}
