/**
 * Webhook notifications. Each webhook has its own bounded queue and one
 * sender, so events arrive in order and a slow or dead receiver never
 * blocks probes, DNS or the other webhooks. Failures (network, timeout, 5xx,
 * 408, 429) are retried with the sinks' one backoff (src/backoff.ts:
 * ceiling backoff × 2^n capped at 60 s, full jitter above a quarter of it) up to `retries` times; other 4xx give up at once. A full
 * queue drops its oldest event (counted, logged rate-limited).
 *
 * A URL with user:password is sent without them, as an Authorization:
 * Basic header (fetch refuses such a URL, and its error quotes it whole);
 * the password never reaches a log line: logs name the webhook by
 * safeUrl(), and error texts have the credentials cut out.
 */
import { hostname } from 'node:os';
import type { Clock, TimerHandle } from '../clock.ts';
import type { NotifyConfig } from '../config/types.ts';
import { errorText } from '../errors.ts';
import { RateLimitedLog, type Logger } from '../log.ts';
import { webhookBody, type NotifyEvent } from './events.ts';
import { backoffDelay } from '../backoff.ts';

const MAX_BACKOFF_MS = 60_000;

export type NotifyOutcome = 'sent' | 'retried' | 'failed' | 'dropped';

/** One webhook's deliveries since start (or since a reload changed it), for /v1/status. */
export interface WebhookStatus {
  /** safeUrl(): no credentials, no query string. */
  webhook: string;
  queued: number;
  sent: number;
  /** Events given up on after their retries (or at once on a 4xx). */
  failed: number;
  /** Events dropped from a full queue. */
  dropped: number;
  lastSentAt?: number;
  /** The last event given up on: when, which, after how many attempts, why (credentials cut out). */
  lastFailure?: { at: number; event: string; attempts: number; error: string };
}

export interface NotifierOptions {
  webhooks: NotifyConfig[];
  logger: Logger;
  clock: Clock;
  onOutcome?: (o: NotifyOutcome) => void;
}

/** Where a webhook goes, for logs: scheme, host and path, never query strings or credentials. */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(invalid url)';
  }
}

/** Where to POST and what to send besides the body: the URL without credentials, and the headers with Authorization: Basic from them. */
interface WebhookRequest {
  url: string;
  headers: Record<string, string>;
  /** Strings to cut out of any text that is logged: the password, as written and decoded, and the Basic token. */
  secrets: string[];
}

function webhookRequest(cfg: Pick<NotifyConfig, 'url' | 'headers'>): WebhookRequest {
  const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'failoverd', ...cfg.headers };
  const u = new URL(cfg.url);
  if (!u.username && !u.password) return { url: cfg.url, headers, secrets: [] };
  const token = Buffer.from(`${decoded(u.username)}:${decoded(u.password)}`, 'utf8').toString('base64');
  const secrets = [cfg.url, u.password, decoded(u.password), token].filter((x) => x.length > 0);
  u.username = '';
  u.password = '';
  headers.authorization = `Basic ${token}`;
  return { url: u.href, headers, secrets };
}

function decoded(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** `text` with every secret cut out (longest first, so a URL goes before the password inside it). */
function redacted(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of [...secrets].sort((a, b) => b.length - a.length)) out = out.split(s).join('[redacted]');
  return out;
}

class WebhookQueue {
  private readonly queue: NotifyEvent[] = [];
  private busy = false;
  private timer: TimerHandle | undefined;
  private inflight: AbortController | undefined;
  private stopped = false;
  /** Called once the queue is empty and nothing is in flight (drain). */
  private idleWaiters: Array<() => void> = [];
  private readonly where: string;
  private readonly request: WebhookRequest;
  private readonly limited: RateLimitedLog;
  /** Identity across reloads: the webhook's whole config. */
  readonly key: string;
  private readonly counts = { sent: 0, failed: 0, dropped: 0 };
  private lastSentAt: number | undefined;
  private lastFailure: WebhookStatus['lastFailure'];

  constructor(
    private readonly cfg: NotifyConfig,
    private readonly log: Logger,
    private readonly clock: Clock,
    private readonly outcome: (o: NotifyOutcome) => void,
    private readonly host: string,
  ) {
    this.where = safeUrl(cfg.url);
    this.request = webhookRequest(cfg);
    this.key = JSON.stringify(cfg);
    this.limited = new RateLimitedLog(log);
  }

  get length(): number {
    return this.queue.length + (this.busy ? 1 : 0);
  }

  status(): WebhookStatus {
    return {
      webhook: this.where,
      queued: this.length,
      ...this.counts,
      ...(this.lastSentAt !== undefined ? { lastSentAt: this.lastSentAt } : {}),
      ...(this.lastFailure ? { lastFailure: this.lastFailure } : {}),
    };
  }

  push(e: NotifyEvent): void {
    if (this.stopped) return;
    if (this.queue.length >= this.cfg.queue) {
      this.queue.shift();
      this.counts.dropped++;
      this.outcome('dropped');
      this.limited.warn(`drop:${this.where}`, { webhook: this.where, queue: this.cfg.queue }, 'notification queue full: dropped the oldest event');
    }
    this.queue.push(e);
    if (!this.busy) void this.run();
  }

  /** Waits (at most `ms`) for the queue to empty, then stops; what is left is dropped. */
  async drain(ms: number): Promise<number> {
    if (this.length > 0) {
      let timer: TimerHandle | undefined;
      await Promise.race([new Promise<void>((resolve) => this.idleWaiters.push(resolve)), new Promise<void>((resolve) => (timer = this.clock.setTimer(ms, resolve)))]);
      timer?.cancel();
    }
    this.stopped = true;
    this.timer?.cancel();
    this.inflight?.abort();
    const left = this.queue.length;
    this.queue.length = 0;
    return left;
  }

  private async run(): Promise<void> {
    this.busy = true;
    try {
      while (!this.stopped && this.queue.length > 0) {
        const e = this.queue.shift()!;
        await this.deliver(e);
      }
    } finally {
      this.busy = false;
      if (this.queue.length === 0) for (const w of this.idleWaiters.splice(0)) w();
    }
  }

  private async deliver(e: NotifyEvent): Promise<void> {
    const body = JSON.stringify(webhookBody(e, this.cfg.format, this.host));
    for (let attempt = 0; !this.stopped; attempt++) {
      const verdict = await this.post(body);
      if (verdict.ok) {
        this.counts.sent++;
        this.lastSentAt = this.clock.now();
        this.outcome('sent');
        return;
      }
      if (!verdict.retry || attempt >= this.cfg.retries) {
        this.counts.failed++;
        this.lastFailure = { at: this.clock.now(), event: e.event, attempts: attempt + 1, error: verdict.why };
        this.outcome('failed');
        this.log.warn({ webhook: this.where, event: e.event, attempts: attempt + 1, err: verdict.why }, 'notification failed; giving up on it');
        return;
      }
      this.outcome('retried');
      const wait = backoffDelay(attempt + 1, { baseMs: this.cfg.backoff, maxDelayMs: MAX_BACKOFF_MS, random: Math.random });
      this.log.debug({ webhook: this.where, attempt: attempt + 1, retryInMs: wait, err: verdict.why }, 'notification failed; will retry');
      await new Promise<void>((resolve) => {
        this.timer = this.clock.setTimer(wait, resolve);
      });
    }
  }

  private async post(body: string): Promise<{ ok: boolean; retry: boolean; why: string }> {
    const abort = new AbortController();
    this.inflight = abort;
    const timer = this.clock.setTimer(this.cfg.timeout, () => abort.abort());
    try {
      const res = await fetch(this.request.url, { method: 'POST', headers: this.request.headers, body, signal: abort.signal });
      await res.arrayBuffer().catch(() => undefined);
      if (res.ok) return { ok: true, retry: false, why: '' };
      const retry = res.status >= 500 || res.status === 408 || res.status === 429;
      return { ok: false, retry, why: `status ${res.status}` };
    } catch (err) {
      if (abort.signal.aborted) return { ok: false, retry: true, why: `timeout after ${this.cfg.timeout}ms` };
      const cause = (err as Error).cause ?? err;
      return { ok: false, retry: true, why: redacted(cause instanceof Error ? cause.message : errorText(cause), this.request.secrets) };
    } finally {
      timer.cancel();
      this.inflight = undefined;
    }
  }
}

export class Notifier {
  private queues: WebhookQueue[] = [];
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly host = hostname();

  constructor(private readonly opts: NotifierOptions) {
    this.log = opts.logger;
    this.clock = opts.clock;
    this.configure(opts.webhooks);
  }

  /** Replaces the webhook list (reload): unchanged webhooks keep their queue; queued events of removed or changed ones are dropped. */
  configure(webhooks: NotifyConfig[]): void {
    const old = new Map(this.queues.map((q) => [q.key, q]));
    this.queues = webhooks.map((w) => {
      const key = JSON.stringify(w);
      const kept = old.get(key);
      old.delete(key);
      return kept ?? new WebhookQueue(w, this.log, this.clock, (o) => this.opts.onOutcome?.(o), this.host);
    });
    for (const q of old.values()) void q.drain(0);
  }

  /** Queues an event for every webhook; returns at once. */
  send(e: NotifyEvent): void {
    for (const q of this.queues) q.push(e);
  }

  get queued(): number {
    return this.queues.reduce((n, q) => n + q.length, 0);
  }

  /** Each configured webhook's deliveries. */
  status(): WebhookStatus[] {
    return this.queues.map((q) => q.status());
  }

  /** Gives queued events up to `ms` to go out, then stops. */
  async stop(ms = 1000): Promise<void> {
    const left = (await Promise.all(this.queues.map((q) => q.drain(ms)))).reduce((a, b) => a + b, 0);
    if (left > 0) this.log.warn({ dropped: left }, 'stopping: dropped notifications that were not sent');
  }
}
