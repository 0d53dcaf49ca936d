/** The JSON shapes of record sets and targets in the API, and the readable explanation of an answer. */
import type { ClusterStatus } from '../cluster/cluster-node.ts';
import type { RecordSetConfig, Target } from '../config/types.ts';
import type { RecordSetDecision, TargetDecision } from '../failover/decision.ts';
import type { HealthTracker } from '../health/hysteresis.ts';
import { answerAddresses, describeAnswer, formatMs, recordSetKey, targetRole } from '../failover/describe.ts';
import type { NotifyStatus } from '../transfer/index.ts';

export const iso = (ms: number | undefined): string | undefined => (ms === undefined || ms <= 0 ? undefined : new Date(ms).toISOString());

/** This instance's probes of a probed target ("<check>@<address>"): streak, last result, recent results. */
export type ProbesOf = (probeKey: string) => HealthTracker | undefined;

/**
 * Why a record set of this instance's config has no decision: in a cluster
 * serving the leader's decisions, the leader's config lacks it (this
 * instance answers NXDOMAIN for it); otherwise the first round is not done.
 */
export function noDecisionReason(cluster: Pick<ClusterStatus, 'serving' | 'lastDecision' | 'isLeader'> | undefined): string {
  const leader = cluster?.lastDecision?.leader;
  if (cluster && cluster.serving !== 'local' && !cluster.isLeader && leader !== undefined) {
    return `not in the decisions of the leader ${leader}, whose config lacks this record set: this instance answers NXDOMAIN for it. Give every instance of a cluster the same records`;
  }
  return 'waiting for the first probe round';
}

/** A record set as the API shows it: its decision (what is served, and why), with this instance's probe details; `missing`: the reason when there is no decision. */
export function recordSetView(rs: RecordSetConfig, d: RecordSetDecision | undefined, probes: ProbesOf, missing = noDecisionReason(undefined)) {
  const state = d?.state;
  return {
    key: recordSetKey(rs),
    name: rs.name,
    type: rs.type,
    zone: rs.zone,
    policy: rs.policy,
    failback: rs.failback,
    whenAllDown: rs.whenAllDown,
    answer: state ? describeAnswer(rs, state.answer) : 'NONE',
    addresses: state ? answerAddresses(rs, state.answer) : [],
    ttl: state && state.answer.kind !== 'servfail' ? state.answer.ttl : undefined,
    activeTarget: state?.activeId,
    degraded: state?.degraded ?? false,
    allDown: state?.allDown ?? false,
    since: iso(state?.since),
    reason: state?.reason ?? missing,
    pending: state?.pending,
    version: d?.version,
    // Policy topology: each site's health and answer, and what each site list of the map answers.
    ...(rs.topology
      ? {
          sites: rs.topology.sites.map((s) => {
            const sd = d?.sites?.find((x) => x.name === s.name);
            const st = state?.sites?.[s.name];
            return {
              name: s.name,
              policy: s.policy,
              health: sd ? (sd.down ? 'DOWN' : sd.degraded ? 'DEGRADED' : 'UP') : 'UNKNOWN',
              answer: st ? describeAnswer(rs, st.answer) : 'NONE',
              since: iso(sd?.since),
              reason: sd?.reason ?? missing,
              targets: s.targets.map((t) => t.id),
            };
          }),
          lists: (d?.lists ?? []).map((l) => ({ sites: l.sites, site: l.site, allDown: l.allDown, answer: l.answer.kind === 'values' ? l.answer.values.join(',') : l.answer.kind.toUpperCase() })),
        }
      : {}),
    targets: rs.targets.map((t) => targetView(rs, t, d?.targets.find((x) => x.id === t.id), probes)),
  };
}

export function targetView(rs: RecordSetConfig, t: Target, d: TargetDecision | undefined, probes: ProbesOf) {
  const tracker = probes(t.probeKey);
  const o = d?.override;
  return {
    id: t.id,
    recordSet: recordSetKey(rs),
    role: targetRole(rs, t.id),
    address: t.address,
    check: t.checkName,
    probe: t.probeKey,
    weight: t.weight,
    answered: d?.answered ?? false,
    real: { health: d?.realHealth ?? tracker?.health ?? 'UNKNOWN', since: iso(tracker?.since), streak: tracker?.streak },
    effective: { health: d?.health ?? tracker?.health ?? 'UNKNOWN', since: iso(d?.since), overridden: d?.overridden ?? false, why: d?.why },
    override: o ? { state: o.state, reason: o.reason, source: o.source, createdAt: iso(o.createdAt), expiresAt: iso(o.expiresAt) } : null,
    history: (tracker?.history() ?? []).reverse().map((h) => ({ at: iso(h.at), ok: h.ok, latencyMs: Math.round(h.latencyMs * 10) / 10, reason: h.reason })),
  };
}

/** A secondary's NOTIFY state for one zone, with ISO times. */
export function secondaryView(s: NotifyStatus) {
  return {
    secondary: s.secondary,
    zone: s.zone,
    lastNotify: s.last ? { ...s.last, at: iso(s.last.at) } : null,
    waiting: s.waiting ? { ...s.waiting, since: iso(s.waiting.since) } : null,
  };
}

export function ago(ms: number, now: number): string {
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 120) return `${s}s ago`;
  if (s < 7200) return `${Math.round(s / 60)}m ago`;
  return `${Math.round(s / 3600)}h ago`;
}

/** One readable paragraph: what a record set answers, since when, why, and the state of each target. */
export function explainParagraph(rs: RecordSetConfig, d: RecordSetDecision | undefined, probes: ProbesOf, now: number): string {
  const key = recordSetKey(rs);
  const state = d?.state;
  if (!d || !state) return `${key} has no answer yet: failoverd is waiting for the first probe round.`;
  const parts: string[] = [];
  const ttl = state.answer.kind === 'servfail' ? '' : ` with TTL ${state.answer.ttl}${state.degraded && rs.degradedTtl !== undefined ? ' (degradedTtl)' : ''}`;
  parts.push(`${key} (policy ${rs.policy}) answers ${describeAnswer(rs, state.answer)}${ttl} since ${iso(state.since)} (${ago(state.since, now)}) because ${state.reason.replace(/^initial answer: /, 'at start ')}.`);
  for (const t of rs.targets) {
    const td = d.targets.find((x) => x.id === t.id);
    const last = probes(t.probeKey)?.last;
    const o = td?.override;
    const lastText = last ? `last probe ${last.ok ? 'ok' : 'failed'} (${last.reason}, ${Math.round(last.latencyMs)}ms) ${ago(last.at, now)}` : 'not probed yet';
    const ov = o ? `, ${o.state === 'DOWN' ? 'drained' : 'pinned UP'} by ${o.source} (${o.reason})${o.expiresAt ? ` until ${iso(o.expiresAt)}` : ''}, real health ${td?.realHealth ?? 'UNKNOWN'}` : '';
    parts.push(`The ${targetRole(rs, t.id)} ${t.id} is ${td?.health ?? 'UNKNOWN'}${ov} since ${ago(td?.since ?? now, now)}; ${lastText}.`);
  }
  if (state.pending) parts.push(`Waiting: ${state.pending}.`);
  if (rs.policy === 'failover') {
    const fb = rs.failback;
    parts.push(fb === 'auto' ? 'Failback is automatic.' : fb === 'manual' ? 'Failback is manual: it needs `failoverd failback` (POST /v1/records/{name}/failback).' : `Failback happens once a better target has been UP for ${formatMs(fb.after)}.`);
  }
  return parts.join(' ');
}
