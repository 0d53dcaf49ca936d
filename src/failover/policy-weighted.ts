/**
 * Policy `weighted`: the answer is a pool from which the sink picks ONE
 * target per query by weight (pickWeighted). The pool is the UP-or-UNKNOWN
 * targets with weight > 0; if there are none, the UP-or-UNKNOWN targets with
 * weight 0 (picked evenly); if none at all, whenAllDown (never weighted).
 * The pool is not capped by maxAnswers: each query gets one record.
 */
import type { RecordSetConfig } from '../config/types.ts';
import { allDownDecision } from './all-down.ts';
import type { PolicyDecision, TargetView } from './types.ts';
import { sameIds, usableTargets } from './views.ts';
import { poolReason } from './policy-multivalue.ts';

export function decideWeighted(cfg: RecordSetConfig, targets: ReadonlyMap<string, TargetView>): PolicyDecision {
  const usable = usableTargets(cfg, targets);
  if (usable.length === 0) return allDownDecision(cfg);
  const positive = usable.filter((t) => t.weight > 0);
  const pool = positive.length > 0 ? positive : usable;
  const ids = pool.map((t) => t.id);
  const configuredPositive = cfg.targets.filter((t) => t.weight > 0);
  const ideal = (configuredPositive.length > 0 ? configuredPositive : cfg.targets).map((t) => t.id);
  const zeroOnly = positive.length === 0 && configuredPositive.length > 0 ? '; only weight-0 targets are left, picked evenly' : '';
  return {
    answer: { kind: 'targets', targetIds: ids, weighted: true, weights: pool.map((t) => t.weight) },
    reason: poolReason(cfg, targets, usable.length, usable.length) + zeroOnly,
    degraded: !sameIds(ids, ideal),
    allDown: false,
  };
}
