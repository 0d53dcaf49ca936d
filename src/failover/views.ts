/** How policies read target views: the one place that says UNKNOWN ranks as UP. */
import type { Health, RecordSetConfig, Target } from '../config/types.ts';
import type { TargetView } from './types.ts';

/** A target without a view has no verdict yet: UNKNOWN. */
export function healthOf(targets: ReadonlyMap<string, TargetView>, id: string): Health {
  return targets.get(id)?.health ?? 'UNKNOWN';
}

/**
 * UNKNOWN ranks as UP: until a target has a verdict it keeps its place, so
 * a cold start answers the primary instead of a guess that flips back.
 */
export function isUsable(health: Health): boolean {
  return health !== 'DOWN';
}

/** Configured targets that are UP or UNKNOWN, in config order. */
export function usableTargets(cfg: RecordSetConfig, targets: ReadonlyMap<string, TargetView>): Target[] {
  return cfg.targets.filter((t) => isUsable(healthOf(targets, t.id)));
}

export function sameIds(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((id, i) => id === b[i]);
}
