/**
 * The failover state machine of one record set: a pure function of the
 * config, the previous state, the target views and `now`.
 *
 * - The policy (policy-*.ts) chooses targets (or NODATA / SERVFAIL).
 * - TTL: cfg.degradedTtl (when set) while the answer is degraded, i.e. not
 *   the all-healthy answer or an all-down answer; cfg.ttl otherwise.
 * - A Transition is returned only when the selection changes (kind, targets,
 *   weighted flag) and never on the first evaluation (prev undefined), whose
 *   reason starts with "initial answer: ". `changed` is true whenever what a
 *   sink publishes changed (selection, TTL or weights), so a TTL-only change
 *   is published without being logged as a transition.
 * - With the selection, active target and all-down flag unchanged, `since`
 *   and `reason` are carried over from `prev`; `pending` is recomputed. An
 *   initial answer's reason is the exception: until the first transition it
 *   says why a cold start would answer the same now ("initial answer: primary
 *   X is UP"), not the health seen at start (often UNKNOWN: no probe or, in a
 *   cluster, no vantage point yet), which would otherwise stay as the WHY.
 */
import type { RecordSetConfig } from '../config/types.ts';
import { answersEqual, selectionEqual } from './answers.ts';
import { describeAnswer, recordSetKey } from './describe.ts';
import { decideFailover } from './policy-failover.ts';
import { decideMultivalue } from './policy-multivalue.ts';
import { decideWeighted } from './policy-weighted.ts';
import { stepTopology } from './policy-topology.ts';
import type { Answer, DecidedAnswer, FailoverCommand, PolicyDecision, RecordSetState, StepResult, TargetView } from './types.ts';

export function step(
  cfg: RecordSetConfig,
  prev: RecordSetState | undefined,
  targets: ReadonlyMap<string, TargetView>,
  now: number,
  command?: FailoverCommand,
): StepResult {
  if (cfg.topology) return stepTopology(cfg, cfg.topology, prev, targets, now, command, step);
  const decision = decide(cfg, prev, targets, now, command);
  const ttl = decision.degraded && cfg.degradedTtl !== undefined ? cfg.degradedTtl : cfg.ttl;
  const answer = withTtl(decision.answer, ttl);
  const base = {
    answer,
    ...(decision.activeId !== undefined ? { activeId: decision.activeId } : {}),
    degraded: decision.degraded,
    allDown: decision.allDown,
    ...(decision.pending !== undefined ? { pending: decision.pending } : {}),
  };
  const wake = decision.wakeAt !== undefined && decision.wakeAt > now ? { wakeAt: decision.wakeAt } : {};

  if (!prev) {
    return { state: { ...base, since: now, reason: INITIAL + decision.reason }, changed: true, ...wake };
  }

  const sameSelection = selectionEqual(prev.answer, answer);
  const sameFooting = sameSelection && prev.activeId === decision.activeId && prev.allDown === decision.allDown;
  const state: RecordSetState = {
    ...base,
    since: sameSelection ? prev.since : now,
    reason: !sameFooting ? decision.reason : prev.reason.startsWith(INITIAL) ? initialReasonNow(cfg, prev, answer, targets, now, ttl) : prev.reason,
  };
  const result: StepResult = { state, changed: !answersEqual(prev.answer, answer), ...wake };
  if (!sameSelection) {
    result.transition = { recordSet: recordSetKey(cfg), from: describeAnswer(cfg, prev.answer), to: describeAnswer(cfg, answer), reason: decision.reason, at: now };
  }
  return result;
}

const INITIAL = 'initial answer: ';

/** The reason of an initial answer that is still served: why a cold start would choose it now (the old reason when it would not). */
function initialReasonNow(cfg: RecordSetConfig, prev: RecordSetState, answer: Answer, targets: ReadonlyMap<string, TargetView>, now: number, ttl: number): string {
  const cold = decide(cfg, undefined, targets, now, undefined);
  return selectionEqual(withTtl(cold.answer, ttl), answer) ? INITIAL + cold.reason : prev.reason;
}

function decide(
  cfg: RecordSetConfig,
  prev: RecordSetState | undefined,
  targets: ReadonlyMap<string, TargetView>,
  now: number,
  command: FailoverCommand | undefined,
): PolicyDecision {
  switch (cfg.policy) {
    case 'failover':
      return decideFailover(cfg, prev, targets, now, command);
    case 'multivalue':
      return decideMultivalue(cfg, targets);
    case 'weighted':
      return decideWeighted(cfg, targets);
    case 'topology':
      throw new Error(`${recordSetKey(cfg)}: policy topology without sites`);
  }
}

function withTtl(a: DecidedAnswer, ttl: number): Answer {
  switch (a.kind) {
    case 'targets':
      return { kind: 'targets', targetIds: [...a.targetIds], ttl, weighted: a.weighted, ...(a.weights ? { weights: [...a.weights] } : {}) };
    case 'nodata':
      return { kind: 'nodata', ttl };
    case 'servfail':
      return { kind: 'servfail' };
  }
}
