/**
 * Cluster health of one target from the views of the live vantage points
 * (each the output of one instance's rise/fall hysteresis).
 *
 * Pure: the quorum says how many vantage points must see DOWN for the
 * target to be DOWN. majority = more than half of the live points,
 * all = every live point, any = one, N = N points.
 * - DOWN when at least `required` points see DOWN;
 * - UP when DOWN can no longer be reached (DOWN + UNKNOWN views < required),
 *   so a tie (2 UP, 2 DOWN under majority of 4) is UP;
 * - UNKNOWN otherwise (UNKNOWN views could still tip it), with no live
 *   point, or with fewer live points than a numeric quorum.
 */
import type { Health } from '../config/types.ts';

export type Quorum = 'majority' | 'all' | 'any' | number;

export interface ClusterHealth {
  health: Health;
  /** DOWN views needed; undefined when no verdict can be reached (no live point, too few for N). */
  required: number | undefined;
  live: number;
  up: number;
  down: number;
  unknown: number;
  /** For status and logs, e.g. "1 of 3 vantage points see DOWN (2 needed)". */
  why: string;
}

/** DOWN views needed among `live` points, or undefined when the quorum cannot be met. */
export function requiredDown(quorum: Quorum, live: number): number | undefined {
  if (live <= 0) return undefined;
  if (quorum === 'majority') return Math.floor(live / 2) + 1;
  if (quorum === 'all') return live;
  if (quorum === 'any') return 1;
  return quorum <= live ? quorum : undefined;
}

/** `views`: one Health per live vantage point (order irrelevant). */
export function clusterHealth(quorum: Quorum, views: readonly Health[]): ClusterHealth {
  const live = views.length;
  const up = views.filter((v) => v === 'UP').length;
  const down = views.filter((v) => v === 'DOWN').length;
  const unknown = live - up - down;
  const required = requiredDown(quorum, live);
  const seen = `${down} of ${live} vantage point${live === 1 ? '' : 's'} see DOWN`;
  if (required === undefined) {
    const why = live === 0 ? 'no live vantage point' : `${live} live vantage point${live === 1 ? '' : 's'}, fewer than the quorum of ${String(quorum)}`;
    return { health: 'UNKNOWN', required, live, up, down, unknown, why };
  }
  const counts = { required, live, up, down, unknown };
  if (down >= required) return { health: 'DOWN', ...counts, why: `${seen} (${required} needed)` };
  if (down + unknown < required) return { health: 'UP', ...counts, why: `${seen} (${required} needed)` };
  return { health: 'UNKNOWN', ...counts, why: `${seen}, ${unknown} unknown (${required} needed)` };
}
