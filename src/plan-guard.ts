/**
 * The plan guard shared by the Route 53 and RFC 2136 sinks: a plan that
 * changes more than maxChangeRatio of the record sets failoverd owns (when
 * it owns at least minOwned) is refused unless forced. Only changes a
 * failover does not explain are counted (the sink decides which).
 */
export interface GuardResult {
  owned: number;
  changing: number;
  maxChangeRatio: number;
  minOwned: number;
  blocked: boolean;
  forced: boolean;
  reason?: string;
}

export function guardVerdict(owned: number, changing: number, cfg: { maxChangeRatio: number; minOwned: number }, force: boolean, verb = 'changes or deletes'): GuardResult {
  const ratio = owned ? changing / owned : 0;
  const over = owned >= cfg.minOwned && ratio > cfg.maxChangeRatio;
  const guard: GuardResult = { owned, changing, maxChangeRatio: cfg.maxChangeRatio, minOwned: cfg.minOwned, blocked: over && !force, forced: over && force };
  if (over) guard.reason = `the plan ${verb} ${changing} of ${owned} owned record sets (${Math.round(ratio * 100)}% > ${Math.round(cfg.maxChangeRatio * 100)}%)${force ? '; forced' : '; use --force to apply anyway'}`;
  return guard;
}
