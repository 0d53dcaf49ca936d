/**
 * LivenessWatch: one idle TCP connection per watched target (no data sent,
 * keep-alive on, Nagle off). When the remote closes it or it errors (the
 * process died: FIN or RST), `onClosed(key)` is called at once, so the owner
 * can probe right away instead of waiting for the next steady tick.
 *
 * No reconnect loop: after a close, a key is reconnected only when
 * `noteSuccess(key)` reports the next successful probe, with at most one
 * connection attempt in flight per key, a connect timeout, and at most one
 * attempt per `reconnectGapMs` (a server that closes idle connections on its
 * own then costs one probe and one reconnect per gap, never a spin).
 *
 * The watch reads only to see the FIN: into one small shared buffer, and
 * at most WATCH_READ_LIMIT bytes per connection. A server that says more
 * (a stream on connect) is closed and reported like a close, so the owner
 * probes it; it then costs one reconnect and a few KiB per gap, never a
 * read of all it sends.
 */
import { connect, type Socket } from 'node:net';
import type { Clock, TimerHandle } from '../clock.ts';

/** Bytes a watch connection may receive before it is closed (a banner fits). */
export const WATCH_READ_LIMIT = 4096;
/** Every watch socket reads into this one buffer (reads are synchronous; nothing is kept). */
const READ_BUFFER = Buffer.allocUnsafe(1024);

export interface LivenessWatchOptions {
  /** The watched connection was closed or failed (also: connect refused). */
  onClosed: (key: string) => void;
  clock: Clock;
  /** Defaults for watch(); per-key values override them. */
  connectTimeoutMs?: number;
  reconnectGapMs?: number;
  /** TCP keep-alive initial delay. */
  keepAliveMs?: number;
}

export interface WatchOptions {
  connectTimeoutMs?: number;
  /** Minimum time between two connection attempts for this key. */
  reconnectGapMs?: number;
}

interface Watched {
  key: string;
  host: string;
  port: number;
  connectTimeoutMs: number;
  reconnectGapMs: number;
  /** The open or connecting socket; at most one. */
  socket?: Socket;
  connected: boolean;
  lastAttemptAt: number;
  /** A reconnect deferred by the gap rule. */
  retry?: TimerHandle;
  /** Bytes received on the current connection. */
  received: number;
}

export class LivenessWatch {
  private readonly onClosed: (key: string) => void;
  private readonly clock: Clock;
  private readonly connectTimeoutMs: number;
  private readonly reconnectGapMs: number;
  private readonly keepAliveMs: number;
  private readonly watched = new Map<string, Watched>();

  constructor(options: LivenessWatchOptions) {
    this.onClosed = options.onClosed;
    this.clock = options.clock;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 1000;
    this.reconnectGapMs = options.reconnectGapMs ?? 1000;
    this.keepAliveMs = options.keepAliveMs ?? 10_000;
  }

  /** Start watching `key` (connects now). Re-watching the same host:port is a no-op. */
  watch(key: string, host: string, port: number, options: WatchOptions = {}): void {
    const existing = this.watched.get(key);
    if (existing && existing.host === host && existing.port === port) return;
    if (existing) this.unwatch(key);
    const w: Watched = {
      key,
      host,
      port,
      connectTimeoutMs: options.connectTimeoutMs ?? this.connectTimeoutMs,
      reconnectGapMs: options.reconnectGapMs ?? this.reconnectGapMs,
      connected: false,
      lastAttemptAt: -Infinity,
      received: 0,
    };
    this.watched.set(key, w);
    this.connect(w);
  }

  unwatch(key: string): void {
    const w = this.watched.get(key);
    if (!w) return;
    this.watched.delete(key);
    w.retry?.cancel();
    w.retry = undefined;
    const s = w.socket;
    w.socket = undefined;
    w.connected = false;
    s?.destroy();
  }

  /** A probe of `key` succeeded: reconnect if the watch connection is gone (rate-limited). */
  noteSuccess(key: string): void {
    const w = this.watched.get(key);
    if (!w || w.socket || w.retry) return;
    const wait = w.lastAttemptAt + w.reconnectGapMs - this.clock.now();
    if (wait <= 0) {
      this.connect(w);
      return;
    }
    w.retry = this.clock.setTimer(wait, () => {
      w.retry = undefined;
      if (this.watched.get(key) === w && !w.socket) this.connect(w);
    });
  }

  /** Whether the watch connection of `key` is established. */
  isConnected(key: string): boolean {
    return this.watched.get(key)?.connected ?? false;
  }

  isWatching(key: string): boolean {
    return this.watched.has(key);
  }

  /** Unwatch everything (the watch can be used again afterwards). */
  stop(): void {
    for (const key of [...this.watched.keys()]) this.unwatch(key);
  }

  private connect(w: Watched): void {
    w.lastAttemptAt = this.clock.now();
    w.connected = false;
    w.received = 0;
    const s = connect({
      host: w.host,
      port: w.port,
      onread: {
        buffer: READ_BUFFER,
        // Drop what arrives; past the limit, close and report (the owner re-probes).
        callback: (n) => {
          w.received += n;
          if (w.received <= WATCH_READ_LIMIT) return true;
          lost(true);
          return false;
        },
      },
    });
    w.socket = s;
    s.setNoDelay(true);
    const current = (): boolean => this.watched.get(w.key) === w && w.socket === s;
    const connectTimer = this.clock.setTimer(w.connectTimeoutMs, () => {
      // A silent target: give up quietly; the steady probes will judge it.
      if (current() && !w.connected) {
        w.socket = undefined;
        s.destroy();
      }
    });
    const lost = (report: boolean): void => {
      connectTimer.cancel();
      if (!current()) return;
      const wasConnected = w.connected;
      w.socket = undefined;
      w.connected = false;
      s.destroy();
      if (wasConnected || report) this.onClosed(w.key);
    };
    s.once('connect', () => {
      connectTimer.cancel();
      if (!current()) return;
      w.connected = true;
      s.setKeepAlive(true, this.keepAliveMs);
    });
    s.on('end', () => lost(false));
    s.on('error', (err: NodeJS.ErrnoException) => lost(err.code === 'ECONNREFUSED' || err.code === 'ECONNRESET'));
    s.on('close', () => lost(false));
  }
}
