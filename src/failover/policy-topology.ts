/**
 * Policy `topology`: each site is a record set of its own inside the
 * record set (its policy, failback and maxAnswers; the record set's name,
 * type, TTLs and whenAllDown), stepped by the same machine; what a client
 * gets is the first site of its list (topology map) that is not down.
 *
 * - A site is down when its machine decided that every one of its targets
 *   is DOWN (allDown), drains included: an override is effective health.
 * - A client whose whole list is down gets the first listed site's all-down
 *   answer (whenAllDown applied to that site's targets): never the
 *   addresses of every site at once.
 * - The record set's own answer (for sinks that answer every client alike,
 *   and for status) is the answer of the `default` list.
 * - One transition per step when any site's selection changed, from and to
 *   naming every site ("eu=192.0.2.1 us=DOWN:192.0.2.9").
 */
import type { RecordSetConfig, SiteConfig, TopologyConfig } from '../config/types.ts';
import { selectionEqual } from './answers.ts';
import { describeAnswer, recordSetKey } from './describe.ts';
import type { Answer, FailoverCommand, RecordSetState, StepResult, TargetView } from './types.ts';

type Step = (cfg: RecordSetConfig, prev: RecordSetState | undefined, targets: ReadonlyMap<string, TargetView>, now: number, command?: FailoverCommand) => StepResult;

const siteConfigs = new WeakMap<RecordSetConfig, Map<string, RecordSetConfig>>();

/** A site as a record set of its own, for the machine (cached per config). */
export function siteRecordSet(cfg: RecordSetConfig, site: SiteConfig): RecordSetConfig {
  let byName = siteConfigs.get(cfg);
  if (!byName) siteConfigs.set(cfg, (byName = new Map()));
  let s = byName.get(site.name);
  if (!s) {
    const { topology: _t, ...rest } = cfg;
    s = { ...rest, policy: site.policy, failback: site.failback, maxAnswers: site.maxAnswers, targets: site.targets };
    byName.set(site.name, s);
  }
  return s;
}

/** Why a site of a list was passed over. */
export interface SkippedSite {
  site: string;
  reason: string;
}

/** Which site answers a list of sites, given the sites' states. */
export interface ListChoice {
  /** The site whose answer is served. */
  site: string;
  state: RecordSetState;
  /** Sites before it that are down, in order. */
  skipped: SkippedSite[];
  /** True when every site of the list is down: `site` (the first) answers its all-down answer. */
  allDown: boolean;
}

/** The first site of `list` that is not down; the first site when all are. Undefined when a site has no state yet. */
export function chooseSite(list: readonly string[], sites: Readonly<Record<string, RecordSetState>> | undefined): ListChoice | undefined {
  if (!sites || list.length === 0) return undefined;
  const skipped: SkippedSite[] = [];
  for (const name of list) {
    const s = sites[name];
    if (!s) return undefined;
    if (!s.allDown) return { site: name, state: s, skipped, allDown: false };
    skipped.push({ site: name, reason: `site ${name} is down: ${s.reason.replace(/^initial answer: /, '')}` });
  }
  const first = list[0]!;
  return { site: first, state: sites[first]!, skipped, allDown: true };
}

export function stepTopology(
  cfg: RecordSetConfig,
  topo: TopologyConfig,
  prev: RecordSetState | undefined,
  targets: ReadonlyMap<string, TargetView>,
  now: number,
  command: FailoverCommand | undefined,
  step: Step,
): StepResult {
  const sites: Record<string, RecordSetState> = {};
  const changedSites: string[] = [];
  let changed = !prev;
  let wakeAt: number | undefined;
  for (const site of topo.sites) {
    const before = prev?.sites?.[site.name];
    const r = step(siteRecordSet(cfg, site), before, targets, now, command);
    sites[site.name] = r.state;
    if (r.changed) changed = true;
    // A site that comes back through the very target it answered while down (whenAllDown: primary) changes
    // no selection of its own, but every list that skipped it takes it again: a change, and a transition.
    if (before && (!selectionEqual(before.answer, r.state.answer) || before.allDown !== r.state.allDown)) {
      changedSites.push(site.name);
      changed = true;
    }
    if (!before && prev) changedSites.push(site.name);
    if (r.wakeAt !== undefined && (wakeAt === undefined || r.wakeAt < wakeAt)) wakeAt = r.wakeAt;
  }
  const choice = chooseSite(topo.map.default, sites)!;
  const reason = topologyReason('default', topo.map.default, choice);
  const answer: Answer = choice.state.answer;
  const selectionSame = prev !== undefined && changedSites.length === 0 && selectionEqual(prev.answer, answer);
  const pending = topo.sites.map((s) => sites[s.name]!.pending && `site ${s.name}: ${sites[s.name]!.pending}`).filter(Boolean);
  const state: RecordSetState = {
    answer,
    ...(choice.state.activeId !== undefined ? { activeId: choice.state.activeId } : {}),
    since: selectionSame ? prev!.since : now,
    reason: prev ? reason : `initial answer: ${reason}`,
    degraded: Object.values(sites).some((s) => s.degraded),
    allDown: Object.values(sites).every((s) => s.allDown),
    ...(pending.length ? { pending: pending.join('; ') } : {}),
    sites,
  };
  if (prev && !prev.sites) changed = true;
  const result: StepResult = { state, changed, ...(wakeAt !== undefined && wakeAt > now ? { wakeAt } : {}) };
  if (prev && !selectionSame) {
    const why = changedSites.map((n) => `site ${n}: ${sites[n]!.reason}`);
    result.transition = {
      recordSet: recordSetKey(cfg),
      from: describeSites(cfg, topo, prev),
      to: describeSites(cfg, topo, state),
      reason: why.length ? why.join('; ') : reason,
      at: now,
    };
  }
  return result;
}

/** "default [eu, us]: site eu is down: ...; answering site us: <its reason>". */
export function topologyReason(label: string, list: readonly string[], choice: ListChoice): string {
  const head = `${label} [${list.join(', ')}]: `;
  const skipped = choice.skipped.map((s) => s.reason).join('; ');
  if (choice.allDown) return `${head}every site is down (${skipped}); answering site ${choice.site}'s all-down answer`;
  const why = choice.state.reason.replace(/^initial answer: /, '');
  return `${head}${skipped ? `${skipped}; ` : ''}answering site ${choice.site}: ${why}`;
}

/** Each site's answer: "eu=192.0.2.1 us=DOWN:NODATA". */
export function describeSites(cfg: RecordSetConfig, topo: TopologyConfig, state: RecordSetState): string {
  if (!state.sites) return describeAnswer(cfg, state.answer);
  return topo.sites
    .map((s) => {
      const st = state.sites![s.name];
      if (!st) return `${s.name}=NONE`;
      return `${s.name}=${st.allDown ? 'DOWN:' : ''}${describeAnswer(cfg, st.answer)}`;
    })
    .join(' ');
}
