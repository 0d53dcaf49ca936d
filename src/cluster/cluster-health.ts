/**
 * The leader's health source: each target's real health is the quorum over
 * the live vantage points' views of its probe key (quorum.ts); operators'
 * overrides (kept in etcd, mirrored into the local override store) go on
 * top, as on one instance. `since` is when the cluster's verdict last
 * changed, so failback delays count from the cluster's view, not one
 * instance's.
 */
import type { Clock } from '../clock.ts';
import type { Health, Target } from '../config/types.ts';
import { effectiveHealth } from '../health/effective.ts';
import type { TargetOverride } from '../health/overrides.ts';
import type { TargetHealthView } from '../health/target-health.ts';
import { clusterHealth, type ClusterHealth, type Quorum } from './quorum.ts';
import type { VantageReport } from './vantage.ts';

export interface ClusterTargetHealth extends ClusterHealth {
  since: number;
  /** instance → its view of this probe key. */
  views: Record<string, Health>;
}

export class ClusterHealthSource {
  private readonly byProbeKey = new Map<string, ClusterTargetHealth>();
  /** Whether any vantage point has reported yet: before, a starting cluster has none live because none has reported, not because they are gone. */
  private anyReport = false;

  constructor(
    private readonly quorum: Quorum,
    private readonly clock: Clock,
    /** The active override of a target id. */
    private readonly override: (targetId: string) => TargetOverride | undefined,
  ) {}

  /**
   * Recomputes every probe key from the live reports; returns the probe keys
   * whose cluster health changed.
   */
  update(probeKeys: Iterable<string>, reports: readonly VantageReport[]): string[] {
    const now = this.clock.now();
    const changed: string[] = [];
    this.anyReport ||= reports.length > 0;
    for (const key of probeKeys) {
      const views: Record<string, Health> = {};
      for (const r of reports) {
        const v = r.targets[key];
        if (v) views[r.instance] = v.health;
      }
      const h = withoutViewsSaid(clusterHealth(this.quorum, Object.values(views)), reports.length, this.anyReport);
      const before = this.byProbeKey.get(key);
      const since = before && before.health === h.health ? before.since : now;
      this.byProbeKey.set(key, { ...h, since, views });
      if (!before || before.health !== h.health) changed.push(key);
    }
    return changed;
  }

  /** The cluster's view of one probe key (undefined before the first update). */
  real(probeKey: string): ClusterTargetHealth | undefined {
    return this.byProbeKey.get(probeKey);
  }

  /** What the leader's decider reads: effective (override over the cluster's real health), with since. */
  view(t: Target): TargetHealthView {
    const real = this.byProbeKey.get(t.probeKey);
    const realHealth = real?.health ?? 'UNKNOWN';
    const o = this.override(t.id);
    const now = this.clock.now();
    const e = effectiveHealth(realHealth, o, now);
    const reason = e.overridden && o ? `${o.state === 'DOWN' ? 'drained' : 'pinned UP'} by override (${o.source}): ${o.reason}` : real ? `cluster: ${real.why}` : undefined;
    return {
      health: e.health,
      realHealth,
      since: e.overridden && o ? o.createdAt : (real?.since ?? now),
      overridden: e.overridden,
      ...(e.overridden && o ? { override: o } : {}),
      ...(reason !== undefined ? { reason } : {}),
    };
  }
}

/**
 * Why a probe key no live vantage point has a view of has no verdict, told
 * apart: the cluster is starting (no report yet), the live vantage points
 * do not probe it (their configs lack it), or none is live any more.
 */
function withoutViewsSaid(h: ClusterHealth, reports: number, anyReport: boolean): ClusterHealth {
  if (h.live > 0) return h;
  if (reports > 0) return { ...h, why: `none of the ${reports} live vantage point${reports === 1 ? '' : 's'} probes it` };
  return anyReport ? h : { ...h, why: 'no vantage point has reported yet (the cluster is starting)' };
}
