/**
 * Exponential backoff with full jitter for Route 53 requests: Throttling,
 * PriorRequestNotComplete, 5xx and network errors are retried, with bounded
 * attempts and bounded total time; everything else fails at once.
 * Time goes through a Clock.
 */
import { backoffDelay } from '../backoff.ts';
import type { Clock } from '../clock.ts';
import { FailoverdError } from '../errors.ts';
import { classify, toRoute53Error } from './errors.ts';
import { sleep } from './rate-limit.ts';

export interface RetryOptions {
  /** Total attempts, first included (default 6). */
  maxAttempts?: number;
  /** Give up when the next wait would end later than this after the first attempt (default 30 s). */
  maxElapsedMs?: number;
  /** First backoff ceiling (default 200 ms); doubles per attempt. */
  baseMs?: number;
  /** Backoff ceiling (default 10 s). */
  maxDelayMs?: number;
  clock: Clock;
  random?: () => number;
  /** Aborted: no further attempt, no wait (the caller stopped). */
  signal?: AbortSignal;
  /** Called before each wait, for logs and metrics. */
  onRetry?: (info: { op: string; attempt: number; delayMs: number; error: unknown }) => void;
}

export { backoffDelay };

export async function withRetry<T>(op: string, fn: () => Promise<T>, opts: RetryOptions): Promise<T> {
  const clock = opts.clock;
  const maxAttempts = opts.maxAttempts ?? 6;
  const maxElapsedMs = opts.maxElapsedMs ?? 30_000;
  const b = { baseMs: opts.baseMs ?? 200, maxDelayMs: opts.maxDelayMs ?? 10_000, random: opts.random ?? Math.random };
  const started = clock.now();
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      // Stopped: the error as it is (ROUTE53_STOPPED, or the cut request's), never retried.
      if (opts.signal?.aborted) throw err;
      // Not the leader (sink.ts refused to send it): final, and said as it is.
      if (err instanceof FailoverdError && err.code === 'CLUSTER_NOT_LEADER') throw err;
      const cls = classify(err);
      if (cls === 'rejected' || attempt >= maxAttempts) throw toRoute53Error(err, attempt);
      const delayMs = backoffDelay(attempt, b, cls === 'busy');
      if (clock.now() + delayMs - started > maxElapsedMs) throw toRoute53Error(err, attempt);
      opts.onRetry?.({ op, attempt, delayMs, error: err });
      await sleepUnlessAborted(clock, delayMs, opts.signal);
    }
  }
}

/** Waits `ms`, or less when `signal` is aborted meanwhile. */
function sleepUnlessAborted(clock: Clock, ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (!signal) return sleep(clock, ms);
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = clock.setTimer(ms, done);
    function done(): void {
      timer?.cancel();
      signal!.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
