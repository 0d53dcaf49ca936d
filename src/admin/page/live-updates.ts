/**
 * Server-Sent Events for the status page: each open page follows the view
 * of its URL (filters, page). It gets an `update` event with the whole live
 * HTML of that view when it connects, then a `patch` event soon after
 * something happens (answers, health, overrides at once; probe results at
 * most once per `probeEveryMs`) carrying only what changed since the last
 * event it got: the parts whose HTML differs (the text of relative times
 * and growing durations aside), the record set articles whose head (name,
 * badges, answer, why) or list of targets changed, the single target rows
 * that changed in the others (a probe result changes its target's row, not
 * the article: whole articles were ~240 KB every 2 s at 50 record sets a
 * page of 10,000 probed every 5 s), and the new order of the record sets
 * when it changed. A `ping` every
 * `pingEveryMs` lets the page notice a daemon that stopped answering.
 * Nothing is rendered while no page is open; a view shared by several pages
 * is rendered once; a slow reader skips patches and gets the whole view
 * when it has caught up, instead of growing a buffer.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Clock, TimerHandle } from '../../clock.ts';
import type { HistoryEvent } from '../status-history.ts';
import { ApiError } from '../http.ts';

/** A record set's article in pieces: `head` (up to its table's body), a row per target (target id, HTML), `tail` (the closing tags). */
export interface ArticlePieces {
  head: string;
  rows: Array<[string, string]>;
  tail: string;
}

export const articleHtml = (a: ArticlePieces): string => `${a.head}${a.rows.map(([, h]) => h).join('\n')}${a.tail}`;

/** A view's live part in pieces (render.ts's LiveParts). */
export interface LivePieces {
  parts: Array<[string, string]>;
  sets: Array<[string, ArticlePieces]>;
}

/**
 * What a patch event carries (JSON): parts and whole record set articles by
 * name/key with their new HTML; `rows`: record set key → target id → the
 * new HTML of that row (only for articles not in `sets`); `order`: the keys
 * of the record sets shown, when it changed.
 */
export interface LivePatch {
  parts: Record<string, string>;
  sets: Record<string, string>;
  rows?: Record<string, Record<string, string>>;
  order?: string[];
}

/** An article as a page has it: its head and each row, comparable (below). */
interface ShownArticle {
  head: string;
  rows: Map<string, string>;
}

export interface LiveUpdatesOptions {
  /** Renders the live part of the view a stream's query asks for (reading the decisions in slices); rejects (an ApiError) on a bad query. */
  render: (query: URLSearchParams) => Promise<LivePieces>;
  /** The whole live HTML of rendered pieces. */
  html: (pieces: LivePieces) => string;
  /** Registers for the daemon's events; returns the unsubscribe function. */
  subscribe: (fn: (e: HistoryEvent) => void) => () => void;
  clock: Clock;
  maxStreams?: number;
  probeEveryMs?: number;
  pingEveryMs?: number;
}

/** How long a page waits before reconnecting after the stream breaks (the `retry:` field). */
export const RECONNECT_MS = 1000;

/**
 * HTML as compared between events: relative times ("3s ago", the page
 * refreshes them itself) and the text of elements marked data-volatile
 * (durations that grow by the second) left out; they are sent fresh with
 * anything else that changes in their part or record set.
 */
export const comparable = (html: string): string => html.replace(/(<time class="rel"[^>]*>)[^<]*(<\/time>)/g, '$1$2').replace(/(<[a-z]+ [^>]*\bdata-volatile\b[^>]*>)[^<]*/g, '$1');

const shown = (a: ArticlePieces): ShownArticle => ({ head: comparable(a.head), rows: new Map(a.rows.map(([id, html]) => [id, comparable(html)])) });

/** The same keys in the same order (the article's rows, one per target). */
function sameKeys(a: Map<string, string>, b: Map<string, string>): boolean {
  if (a.size !== b.size) return false;
  const bs = b.keys();
  for (const k of a.keys()) if (bs.next().value !== k) return false;
  return true;
}

interface Stream {
  query: URLSearchParams;
  /** The comparable HTML of each part and record set (head and rows), and the order of the record sets, as this page has them. */
  parts: Map<string, string>;
  sets: Map<string, ShownArticle>;
  order: string[];
  /** A patch was skipped (the page read too slowly): the next event is the whole view. */
  behind: boolean;
}

export class LiveUpdates {
  private readonly streams = new Map<ServerResponse, Stream>();
  private readonly clock: Clock;
  private readonly maxStreams: number;
  private readonly probeEveryMs: number;
  private readonly pingEveryMs: number;
  private unsubscribe: (() => void) | undefined;
  private pending: { timer: TimerHandle; at: number } | undefined;
  /** A broadcast is rendering (it waits on slices): another one waits for it. */
  private broadcasting = false;
  private ping: TimerHandle | undefined;

  constructor(private readonly opts: LiveUpdatesOptions) {
    this.clock = opts.clock;
    this.maxStreams = opts.maxStreams ?? 32;
    this.probeEveryMs = opts.probeEveryMs ?? 2000;
    this.pingEveryMs = opts.pingEveryMs ?? 5000;
  }

  get open(): number {
    return this.streams.size;
  }

  /** Takes over the response as an event stream of the view `query` asks for; sends that view at once. */
  async stream(req: IncomingMessage, res: ServerResponse, query: URLSearchParams): Promise<void> {
    if (this.streams.size >= this.maxStreams) throw new ApiError(503, 'TOO_MANY_STREAMS', `at most ${this.maxStreams} status pages can follow live updates at once`);
    const pieces = await this.opts.render(query);
    if (res.destroyed) return;
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no', connection: 'keep-alive' });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    req.socket.setTimeout(0);
    req.socket.setNoDelay(true);
    const stream: Stream = { query, parts: new Map(), sets: new Map(), order: [], behind: false };
    this.streams.set(res, stream);
    res.on('close', () => this.drop(res));
    res.write(`retry: ${RECONNECT_MS}\n\n`);
    this.sendWhole(res, stream, pieces);
    if (!this.unsubscribe) this.unsubscribe = this.opts.subscribe((e) => this.schedule(e === 'probe' ? this.probeEveryMs : 50));
    if (!this.ping) this.armPing();
  }

  /** Ends every stream (the admin API is stopping). */
  close(): void {
    for (const res of this.streams.keys()) res.end();
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
        void this.broadcast();
      }),
    };
  }

  private async broadcast(): Promise<void> {
    if (this.streams.size === 0) return;
    // One at a time: what happens while this one renders is sent by the next (scheduled again, not lost).
    if (this.broadcasting) return this.schedule(50);
    this.broadcasting = true;
    try {
      const rendered = new Map<string, LivePieces>();
      for (const [res, stream] of [...this.streams]) {
        const view = stream.query.toString();
        let pieces = rendered.get(view);
        if (!pieces) {
          try {
            pieces = await this.opts.render(stream.query);
          } catch {
            continue; // the query was checked when the stream opened; a reload may have changed what it finds, not whether it parses
          }
          rendered.set(view, pieces);
        }
        if (!this.streams.has(res)) continue;
        if (stream.behind) this.sendWhole(res, stream, pieces);
        else this.sendPatch(res, stream, pieces);
      }
    } finally {
      this.broadcasting = false;
    }
  }

  /** The whole view (`update`), remembered as what the page has. */
  private sendWhole(res: ServerResponse, stream: Stream, pieces: LivePieces): void {
    if (!this.send(res, 'update', this.opts.html(pieces))) return void (stream.behind = true);
    stream.parts = new Map(pieces.parts.map(([name, html]) => [name, comparable(html)]));
    stream.sets = new Map(pieces.sets.map(([key, a]) => [key, shown(a)]));
    stream.order = pieces.sets.map(([key]) => key);
    stream.behind = false;
  }

  /** What changed since the page's last event (`patch`); nothing when nothing did. */
  private sendPatch(res: ServerResponse, stream: Stream, pieces: LivePieces): void {
    const patch: LivePatch = { parts: {}, sets: {} };
    const rows: NonNullable<LivePatch['rows']> = {};
    const parts = new Map<string, string>();
    const sets = new Map<string, ShownArticle>();
    let changed = false;
    for (const [name, html] of pieces.parts) {
      const c = comparable(html);
      parts.set(name, c);
      if (stream.parts.get(name) !== c) (patch.parts[name] = html), (changed = true);
    }
    for (const [key, a] of pieces.sets) {
      const now = shown(a);
      sets.set(key, now);
      const had = stream.sets.get(key);
      if (!had || had.head !== now.head || !sameKeys(had.rows, now.rows)) {
        patch.sets[key] = articleHtml(a);
        changed = true;
        continue;
      }
      for (const [id, html] of a.rows) {
        if (had.rows.get(id) === now.rows.get(id)) continue;
        (rows[key] ??= {})[id] = html;
        changed = true;
      }
    }
    if (Object.keys(rows).length) patch.rows = rows;
    const order = pieces.sets.map(([key]) => key);
    if (order.length !== stream.order.length || order.some((k, i) => stream.order[i] !== k)) (patch.order = order), (changed = true);
    if (!changed) return;
    if (!this.send(res, 'patch', JSON.stringify(patch))) return void (stream.behind = true);
    Object.assign(stream, { parts, sets, order });
  }

  private armPing(): void {
    this.ping = this.clock.setTimer(this.pingEveryMs, () => {
      for (const res of this.streams.keys()) this.send(res, 'ping', new Date(this.clock.now()).toISOString());
      if (this.streams.size) this.armPing();
      else this.ping = undefined;
    });
  }

  /** False when the event was not sent: a slow page (it catches up later) or a closed one. */
  private send(res: ServerResponse, event: string, data: string): boolean {
    if (res.writableNeedDrain || res.destroyed) return false;
    res.write(`event: ${event}\n${data.split('\n').map((l) => `data: ${l}`).join('\n')}\n\n`);
    return true;
  }
}
