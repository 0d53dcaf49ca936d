/**
 * The compact form of a stored decision (decision layout 2): only what
 * varies from one decision to the next, the failover machine's state and
 * each target's health, in config order. Everything else a decision holds
 * (names, target ids and addresses, roles, the answer's values, why) comes
 * from the record set's config, so a reader makes the decision again with
 * `decide()` from its own config, exactly as the leader made it from its
 * own: the leader stores this form only while every live instance reports
 * the same record sets' fingerprint as its own and reads layout 2
 * (cluster-node.ts), and never for policy topology (its sites and client
 * map are not in the fingerprint).
 *
 * At 10,000 record sets a mass failover stores about 0.5 KB per record set
 * instead of 1.2 KB for the whole decision.
 */
import type { Health, RecordSetConfig } from '../config/types.ts';
import { decide, type RecordSetDecision } from '../failover/decision.ts';
import type { RecordSetState } from '../failover/types.ts';
import type { TargetOverride } from '../health/overrides.ts';
import type { TargetHealthView } from '../health/target-health.ts';

/** The decision layout this version writes and reads: 2 adds the compact form beside the whole one (layout 1). */
export const DECISION_LAYOUT = 2;

/** One target's health as stored: [health, realHealth, since] plus [overridden, override] when there is one. */
export type StoredTargetHealth = [Health, Health, number] | [Health, Health, number, 0 | 1, TargetOverride?];

export interface CompactDecision {
  /** The failover machine's state (what the next leader resumes from). */
  s: RecordSetState;
  /** Each target's health, in the config's order. */
  h: StoredTargetHealth[];
}

/** True when the decision can be stored compact: every policy but topology. */
export function compactable(d: RecordSetDecision): boolean {
  return d.policy !== 'topology' && d.sites === undefined && d.clientMap === undefined;
}

export function compactOf(d: RecordSetDecision): CompactDecision {
  return {
    s: d.state,
    h: d.targets.map((t): StoredTargetHealth => (t.overridden || t.override ? (t.override ? [t.health, t.realHealth, t.since, t.overridden ? 1 : 0, t.override] : [t.health, t.realHealth, t.since, t.overridden ? 1 : 0]) : [t.health, t.realHealth, t.since])),
  };
}

const HEALTH: ReadonlySet<unknown> = new Set(['UP', 'DOWN', 'UNKNOWN']);

/** The stored form read back, or undefined when malformed. */
export function parseCompact(value: { s?: unknown; h?: unknown }): CompactDecision | undefined {
  const s = value.s as RecordSetState | undefined;
  if (typeof s?.answer?.kind !== 'string' || !Array.isArray(value.h)) return undefined;
  for (const h of value.h as unknown[]) if (!Array.isArray(h) || !HEALTH.has(h[0]) || !HEALTH.has(h[1]) || typeof h[2] !== 'number') return undefined;
  return { s, h: value.h as StoredTargetHealth[] };
}

/**
 * The whole decision made again from a record set's config, or a reason it
 * cannot be (the config lacks a target the state names, or has another
 * number of targets: the configs differ).
 */
export function rebuildDecision(rs: RecordSetConfig, c: CompactDecision, version: number): RecordSetDecision | string {
  if (c.h.length !== rs.targets.length) return `the stored decision has ${c.h.length} targets, this instance's config ${rs.targets.length}`;
  const ids = new Set(rs.targets.map((t) => t.id));
  const named = [...(c.s.answer.kind === 'targets' ? c.s.answer.targetIds : []), ...(c.s.activeId !== undefined ? [c.s.activeId] : [])];
  const missing = named.find((id) => !ids.has(id));
  if (missing !== undefined) return `the stored decision answers ${missing}, a target this instance's config lacks`;
  const index = new Map(rs.targets.map((t, i) => [t.id, i]));
  return decide(
    rs,
    c.s,
    (t): TargetHealthView => {
      const h = c.h[index.get(t.id)!]!;
      return { health: h[0], realHealth: h[1], since: h[2], overridden: h[3] === 1, ...(h[4] ? { override: h[4] } : {}) };
    },
    version,
  );
}
