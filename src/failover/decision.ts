/**
 * The decision value: everything failoverd has decided about one record set
 * at one moment, in the form every sink and reader takes (the embedded
 * snapshot, Route 53, the admin API, the CLI). A sink never reads a health
 * tracker or an override store; it reads decisions, so two sinks of one
 * daemon cannot disagree about what is served.
 */
import type { DynamicType, Health, Policy, RecordSetConfig, Target } from '../config/types.ts';
import type { TargetOverride } from '../health/overrides.ts';
import type { TargetHealthView } from '../health/target-health.ts';
import { recordSetKey, targetRole } from './describe.ts';
import type { RecordSetState } from './types.ts';

/** What DNS answers for the record set, with addresses resolved. */
export type DecidedValues =
  | { kind: 'values'; values: string[]; ttl: number; /** Parallel to values; only when one is picked per query. */ weights?: number[] }
  | { kind: 'nodata'; ttl: number }
  | { kind: 'servfail'; ttl: number };

export interface TargetDecision {
  id: string;
  address: string;
  /** "primary", "secondary", "target #3", ... (config order). */
  role: string;
  /** Effective health: an override over the real health. */
  health: Health;
  /** The health measured by the probes, before any override. */
  realHealth: Health;
  since: number;
  overridden: boolean;
  /** The operator's override deciding the effective health, when there is one. */
  override?: TargetOverride;
  /** Why the target has this effective health ("override: DOWN: drain", "probes: UP"). */
  why: string;
  /** True when the answer serves this target now. */
  answered: boolean;
}

export interface RecordSetDecision {
  /** "name/type". */
  key: string;
  name: string;
  type: DynamicType;
  policy: Policy;
  answer: DecidedValues;
  /** Failover policy: the target being answered (absent while all are down). */
  activeId?: string;
  targets: TargetDecision[];
  /** The machine's state this decision was made from (persisted for restarts). */
  state: RecordSetState;
  /** Increases with every batch of decisions the controller emits. */
  version: number;
}

export function decide(rs: RecordSetConfig, state: RecordSetState, health: (t: Target) => TargetHealthView, version: number): RecordSetDecision {
  const a = state.answer;
  const answeredIds = a.kind === 'targets' ? a.targetIds : [];
  const address = (id: string) => rs.targets.find((t) => t.id === id)?.address ?? id;
  const answer: DecidedValues =
    a.kind === 'servfail'
      ? { kind: 'servfail', ttl: rs.ttl }
      : a.kind === 'nodata'
        ? { kind: 'nodata', ttl: a.ttl }
        : { kind: 'values', values: a.targetIds.map(address), ttl: a.ttl, ...(a.weighted && a.weights ? { weights: a.weights } : {}) };
  return {
    key: recordSetKey(rs),
    name: rs.name,
    type: rs.type,
    policy: rs.policy,
    answer,
    ...(state.activeId !== undefined ? { activeId: state.activeId } : {}),
    targets: rs.targets.map((t) => {
      const h = health(t);
      return {
        id: t.id,
        address: t.address,
        role: targetRole(rs, t.id),
        health: h.health,
        realHealth: h.realHealth,
        since: h.since,
        overridden: h.overridden,
        ...(h.override ? { override: h.override } : {}),
        why: h.override ? `override: ${h.override.state}${h.override.reason ? `: ${h.override.reason}` : ''}` : `probes: ${h.realHealth}`,
        answered: answeredIds.includes(t.id),
      };
    }),
    state,
    version,
  };
}

/** True when the decision serves the primary (first) target now: what Route 53's PRIMARY health check follows. */
export function servesPrimary(d: RecordSetDecision): boolean {
  return d.targets[0]?.answered === true;
}
