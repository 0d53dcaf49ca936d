/**
 * One kind of etcd write that etcd refuses (the leader's decisions, a
 * vantage report, ...): each error sorted into a cause known in advance (so
 * every cause is a metric series from the start), counted, remembered while
 * it lasts (for status), and retried after a pause that doubles up to a
 * bound. The caller logs at error once per cause (not per retry) and once
 * at info when a write succeeds again (etcd-writes.ts does, for every kind).
 */

import { errorText, FailoverdError } from '../errors.ts';

/** Why an etcd write failed. */
export const DECISION_WRITE_FAILURE_CAUSES = ['too-large', 'no-space', 'too-many-ops', 'unavailable', 'permission', 'other'] as const;
export type DecisionWriteFailureCause = (typeof DECISION_WRITE_FAILURE_CAUSES)[number];

/** The first pause before a retry, doubled after each failure up to RETRY_MAX_MS. */
export const RETRY_MIN_MS = 250;
export const RETRY_MAX_MS = 5000;

/** How much of an error's message status keeps. */
const MESSAGE_MAX = 300;

/** Sorts an etcd (or gRPC) error into a cause, by the texts etcd and gRPC use. */
export function decisionWriteFailureCause(err: unknown): DecisionWriteFailureCause {
  const name = (err as { name?: unknown })?.name;
  const text = `${typeof name === 'string' ? name : ''} ${err instanceof Error ? err.message : String(err)}`;
  if (/database space exceeded|NOSPACE/i.test(text)) return 'no-space';
  if (/request is too large|larger than max|message too large/i.test(text)) return 'too-large';
  if (/too many operations in txn/i.test(text)) return 'too-many-ops';
  if (/permission denied|authentication|auth token|Unauthenticated/i.test(text)) return 'permission';
  if (/unavailable|deadline|circuit|ECONNREFUSED|ECONNRESET|no connection|not connected|timed? ?out|leader changed|no leader/i.test(text)) return 'unavailable';
  return 'other';
}

/**
 * An operator's change (a drain, a failback command) that etcd did not take:
 * CLUSTER_UNAVAILABLE (the admin API's 503), saying why and to retry, with
 * the etcd error as its cause. `what`: "the change", "the failback command".
 */
export function clusterUnavailable(err: unknown, what: string): FailoverdError {
  const cause = decisionWriteFailureCause(err);
  const why =
    cause === 'unavailable'
      ? `etcd is unreachable (${errorText(err)})`
      : cause === 'no-space'
        ? `etcd refuses writes: its NOSPACE alarm is raised, its quota is full (${errorText(err)})`
        : `etcd refused the write (${cause}: ${errorText(err)})`;
  return new FailoverdError('CLUSTER_UNAVAILABLE', `${why}: ${what} was not applied on any instance. Retry once etcd ${cause === 'unavailable' ? 'answers' : 'takes writes again'}`, { cause: err });
}

export interface WriteFailureNow {
  cause: DecisionWriteFailureCause;
  /** When writes started failing (epoch ms). */
  since: number;
  /** The last failure (epoch ms). */
  lastAt: number;
  /** The last error's message (bounded). */
  message: string;
}

export class WriteFailures {
  /** Failed attempts by cause, since start. */
  readonly counts = Object.fromEntries(DECISION_WRITE_FAILURE_CAUSES.map((c) => [c, 0])) as Record<DecisionWriteFailureCause, number>;
  private failing: WriteFailureNow | undefined;
  private consecutive = 0;

  /** `retry`: the first pause and its bound (default RETRY_MIN_MS, RETRY_MAX_MS). */
  constructor(private readonly retry: { minMs: number; maxMs: number } = { minMs: RETRY_MIN_MS, maxMs: RETRY_MAX_MS }) {}

  /** What fails now, undefined while writes succeed. */
  get current(): WriteFailureNow | undefined {
    return this.failing;
  }

  /**
   * A write failed. `first`: the first failure of this cause in a row (log
   * it at error); `retryMs`: when to try again.
   */
  failed(err: unknown, now: number): { cause: DecisionWriteFailureCause; first: boolean; retryMs: number } {
    const cause = decisionWriteFailureCause(err);
    this.counts[cause]++;
    this.consecutive++;
    const message = (err instanceof Error ? err.message : String(err)).slice(0, MESSAGE_MAX);
    const first = this.failing?.cause !== cause;
    this.failing = { cause, since: this.failing?.since ?? now, lastAt: now, message };
    return { cause, first, retryMs: Math.min(this.retry.maxMs, this.retry.minMs * 2 ** Math.min(this.consecutive - 1, 16)) };
  }

  /** No longer the leader: nothing of this instance's is failing now (the counts stay). */
  reset(): void {
    this.failing = undefined;
    this.consecutive = 0;
  }

  /** A write succeeded: returns what had been failing (log the recovery once), if anything. */
  succeeded(): WriteFailureNow | undefined {
    const was = this.failing;
    this.failing = undefined;
    this.consecutive = 0;
    return was;
  }
}
