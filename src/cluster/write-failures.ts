/**
 * The leader's decision writes that etcd refuses: each error sorted into a
 * cause known in advance (so every cause is a metric series from the start),
 * counted, remembered while it lasts (for status), and retried after a
 * pause that doubles up to a bound. The caller logs at error once per cause
 * (not per retry) and once at info when a write succeeds again.
 */

/** Why a decision write failed. */
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

export interface WriteFailureNow {
  cause: DecisionWriteFailureCause;
  /** When writes started failing (epoch ms). */
  since: number;
  /** The last error's message (bounded). */
  message: string;
}

export class WriteFailures {
  /** Failed attempts by cause, since start. */
  readonly counts = Object.fromEntries(DECISION_WRITE_FAILURE_CAUSES.map((c) => [c, 0])) as Record<DecisionWriteFailureCause, number>;
  private failing: WriteFailureNow | undefined;
  private consecutive = 0;

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
    this.failing = { cause, since: this.failing?.since ?? now, message };
    return { cause, first, retryMs: Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** Math.min(this.consecutive - 1, 16)) };
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
