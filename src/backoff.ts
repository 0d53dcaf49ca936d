/**
 * The one backoff of failoverd's sinks: exponential with full jitter, never
 * less than a quarter of the ceiling. Route 53 requests and whole-state
 * retries, RFC 2136 UPDATEs and webhook deliveries wait by it.
 */
export interface BackoffOptions {
  /** First ceiling; doubles per attempt. */
  baseMs: number;
  /** The largest ceiling. */
  maxDelayMs: number;
  random: () => number;
}

/** The wait before attempt `attempt + 1` (attempt counts from 1); `busy` doubles the ceiling. */
export function backoffDelay(attempt: number, o: BackoffOptions, busy = false): number {
  const ceiling = Math.min(o.maxDelayMs, o.baseMs * 2 ** Math.min(30, attempt - 1) * (busy ? 2 : 1));
  // Full jitter, but never less than a quarter of the ceiling.
  return Math.round(ceiling * (0.25 + 0.75 * o.random()));
}
