/** The answer when no target is UP or UNKNOWN: cfg.whenAllDown (already resolved by config loading). */
import type { RecordSetConfig } from '../config/types.ts';
import { targetLabel } from './describe.ts';
import type { PolicyDecision } from './types.ts';

export function allDownDecision(cfg: RecordSetConfig): PolicyDecision {
  const head = `all ${cfg.targets.length} target${cfg.targets.length === 1 ? ' is' : 's are'} DOWN; whenAllDown: ${cfg.whenAllDown}`;
  const base = { degraded: true, allDown: true } as const;
  switch (cfg.whenAllDown) {
    case 'primary': {
      const id = cfg.targets[0].id;
      return { ...base, answer: { kind: 'targets', targetIds: [id], weighted: false }, reason: `${head} answers ${targetLabel(cfg, id)}` };
    }
    case 'all': {
      const ids = cfg.targets.slice(0, cfg.maxAnswers).map((t) => t.id);
      const capped = cfg.targets.length > ids.length ? ` (first ${ids.length}, maxAnswers)` : '';
      return { ...base, answer: { kind: 'targets', targetIds: ids, weighted: false }, reason: `${head} answers every target${capped}` };
    }
    case 'none':
      return { ...base, answer: { kind: 'nodata' }, reason: `${head} answers NODATA` };
    case 'servfail':
      return { ...base, answer: { kind: 'servfail' }, reason: `${head} answers SERVFAIL` };
  }
}
