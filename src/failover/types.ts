/**
 * Values of the failover stage: what the state machine reads (TargetView),
 * what it decides (Answer, RecordSetState) and what it reports (Transition).
 * Sinks read Answers without knowing policies.
 */
import type { Health } from '../config/types.ts';

/** One target as the state machine sees it. */
export interface TargetView {
  id: string;
  /** Effective health (override on top of real). */
  health: Health;
  /** When the target entered this health (epoch ms). */
  since: number;
  /** Optional why, e.g. "check web: refused" or "override: drain"; quoted in reasons. */
  reason?: string;
}

/**
 * What a record set answers.
 * - targets: the records are the addresses of `targetIds` (in that order).
 *   `weighted: false` → answer them all. `weighted: true` → the sink picks
 *   ONE of them per query by `weights` (pickWeighted), or publishes them as
 *   weighted records (Route 53).
 * - nodata: the name exists, no records of this type (NOERROR, empty answer).
 * - servfail: answer SERVFAIL.
 */
export type Answer =
  | { kind: 'targets'; targetIds: string[]; ttl: number; weighted: boolean; /** Parallel to targetIds; only when weighted. */ weights?: number[] }
  | { kind: 'nodata'; ttl: number }
  | { kind: 'servfail' };

export interface RecordSetState {
  answer: Answer;
  /** Failover policy: the target being answered (absent while all are down). */
  activeId?: string;
  /** When the answer's selection (kind and targets) last changed. */
  since: number;
  /** Why the answer is what it is. */
  reason: string;
  /** True when the answer is not the all-healthy answer (degradedTtl applies). */
  degraded: boolean;
  /** True when no target was UP or UNKNOWN and whenAllDown decided the answer. */
  allDown: boolean;
  /**
   * A failback that is held back, readable: "primary ... is UP; failback is
   * manual: waiting for a failback command" or "... failback after 60s at
   * <epoch ms>". Absent when nothing waits.
   */
  pending?: string;
  /** Policy topology: each site's own state (the site's policy decides it), by site name. */
  sites?: Record<string, RecordSetState>;
}

export interface Transition {
  /** "name/type", e.g. "www.example.test/A". */
  recordSet: string;
  /** Readable answer before, e.g. "127.0.0.1", "127.0.0.1,127.0.0.2", "NODATA", "SERVFAIL". */
  from: string;
  to: string;
  reason: string;
  at: number;
}

export type FailoverCommand = { kind: 'failback' };

export interface StepResult {
  state: RecordSetState;
  /** Present when the selection (kind or targets) changed; never on the first evaluation. */
  transition?: Transition;
  /** True when what DNS serves changed (selection, TTL or weights); always true on the first evaluation. */
  changed: boolean;
  /** Call step again at this time even if no health changes (failback after D). */
  wakeAt?: number;
}

/** What a policy decides before TTL and bookkeeping are applied. */
export interface PolicyDecision {
  answer: DecidedAnswer;
  activeId?: string;
  reason: string;
  degraded: boolean;
  allDown: boolean;
  pending?: string;
  wakeAt?: number;
}

/** An Answer without its TTL (the machine fills it in). */
export type DecidedAnswer =
  | { kind: 'targets'; targetIds: string[]; weighted: boolean; weights?: number[] }
  | { kind: 'nodata' }
  | { kind: 'servfail' };
