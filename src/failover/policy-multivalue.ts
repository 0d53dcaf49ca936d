/** Policy `multivalue`: every UP-or-UNKNOWN target in config order, at most cfg.maxAnswers. */
import type { RecordSetConfig } from '../config/types.ts';
import { allDownDecision } from './all-down.ts';
import { healthText } from './describe.ts';
import type { PolicyDecision, TargetView } from './types.ts';
import { healthOf, isUsable, sameIds, usableTargets } from './views.ts';

export function decideMultivalue(cfg: RecordSetConfig, targets: ReadonlyMap<string, TargetView>): PolicyDecision {
  const usable = usableTargets(cfg, targets);
  if (usable.length === 0) return allDownDecision(cfg);
  const ids = usable.slice(0, cfg.maxAnswers).map((t) => t.id);
  const ideal = cfg.targets.slice(0, cfg.maxAnswers).map((t) => t.id);
  return {
    answer: { kind: 'targets', targetIds: ids, weighted: false },
    reason: poolReason(cfg, targets, usable.length, ids.length),
    degraded: !sameIds(ids, ideal),
    allDown: false,
  };
}

/** "3 of 4 targets UP or UNKNOWN; DOWN: b (refused)", with the maxAnswers cap when it applies. */
export function poolReason(cfg: RecordSetConfig, targets: ReadonlyMap<string, TargetView>, usable: number, answered: number): string {
  const down = cfg.targets.filter((t) => !isUsable(healthOf(targets, t.id)));
  const cap = answered < usable ? `; answering the first ${answered} (maxAnswers)` : '';
  if (down.length === 0) return `all ${cfg.targets.length} targets UP or UNKNOWN${cap}`;
  const list = down.map((t) => `${t.id} ${healthText(targets.get(t.id))}`).join(', ');
  return `${usable} of ${cfg.targets.length} targets UP or UNKNOWN; ${list}${cap}`;
}
