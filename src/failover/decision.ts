/**
 * The decision value: everything failoverd has decided about one record set
 * at one moment, in the form every sink and reader takes (the embedded
 * snapshot, Route 53, the admin API, the CLI). A sink never reads a health
 * tracker or an override store; it reads decisions, so two sinks of one
 * daemon cannot disagree about what is served.
 */
import type { ClientMap } from '../config/client-map.ts';
import type { DynamicType, Health, Policy, RecordSetConfig, Target } from '../config/types.ts';
import type { TargetOverride } from '../health/overrides.ts';
import type { TargetHealthView } from '../health/target-health.ts';
import { recordSetKey, targetRole } from './describe.ts';
import { chooseSite } from './policy-topology.ts';
import type { Answer, RecordSetState } from './types.ts';

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
  /** True when the answer serves this target now (policy topology: some site answers it). */
  answered: boolean;
  /** Policy topology: the target's site. */
  site?: string;
}

/** Policy topology: one site and what it answers. */
export interface SiteDecision {
  name: string;
  /** Every target of the site is DOWN (drains included): lists skip it. */
  down: boolean;
  degraded: boolean;
  answer: DecidedValues;
  reason: string;
  since: number;
}

/** Policy topology: what each distinct site list of the map answers now (index 0: default). */
export interface ListDecision {
  sites: string[];
  /** The site answering. */
  site: string;
  /** Every site of the list is down: `site`'s all-down answer is served. */
  allDown: boolean;
  answer: DecidedValues;
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
  /** The batch of decisions that made this one (the decider counts batches; an unchanged record set keeps its decision and version). */
  version: number;
  /** Policy topology: each site's state, and the answer of each site list of the map. */
  sites?: SiteDecision[];
  lists?: ListDecision[];
  /** Policy topology: the compiled client map (tries and, with a MaxMind database, its country and continent tables; values index `lists`). */
  clientMap?: ClientMap;
}

export function decide(rs: RecordSetConfig, state: RecordSetState, health: (t: Target) => TargetHealthView, version: number): RecordSetDecision {
  const a = state.answer;
  const address = (id: string) => rs.targets.find((t) => t.id === id)?.address ?? id;
  const values = (x: Answer): DecidedValues =>
    x.kind === 'servfail'
      ? { kind: 'servfail', ttl: rs.ttl }
      : x.kind === 'nodata'
        ? { kind: 'nodata', ttl: x.ttl }
        : { kind: 'values', values: x.targetIds.map(address), ttl: x.ttl, ...(x.weighted && x.weights ? { weights: x.weights } : {}) };
  const answer = values(a);
  const topo = topologyDecisions(rs, state, values);
  const answered = new Set(a.kind === 'targets' ? a.targetIds : []);
  for (const s of Object.values(state.sites ?? {})) if (s.answer.kind === 'targets') for (const id of s.answer.targetIds) answered.add(id);
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
        answered: answered.has(t.id),
        ...(t.site !== undefined ? { site: t.site } : {}),
      };
    }),
    state,
    version,
    ...topo,
  };
}

function topologyDecisions(rs: RecordSetConfig, state: RecordSetState, values: (a: Answer) => DecidedValues): Pick<RecordSetDecision, 'sites' | 'lists' | 'clientMap'> {
  const topo = rs.topology;
  if (!topo || !state.sites) return {};
  const sites = topo.sites.flatMap((s): SiteDecision[] => {
    const st = state.sites![s.name];
    return st ? [{ name: s.name, down: st.allDown, degraded: st.degraded, answer: values(st.answer), reason: st.reason, since: st.since }] : [];
  });
  const lists = topo.map.lists.flatMap((list): ListDecision[] => {
    const c = chooseSite(list, state.sites);
    return c ? [{ sites: list, site: c.site, allDown: c.allDown, answer: values(c.state.answer) }] : [];
  });
  return { sites, lists, clientMap: { v4: topo.map.v4, v6: topo.map.v6, ...(topo.map.geo ? { geo: topo.map.geo } : {}) } };
}

/** True when the decision serves the primary (first) target now: what Route 53's PRIMARY health check follows. */
export function servesPrimary(d: RecordSetDecision): boolean {
  return d.targets[0]?.answered === true;
}
