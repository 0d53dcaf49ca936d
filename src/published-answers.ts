/**
 * Decisions in the shapes the sinks read: DynamicRRset for the embedded
 * server's snapshot, DesiredRecordSet for Route 53, UpdateRecordSet for
 * RFC 2136 UPDATE. Both come from the same
 * decision and nothing else, so Route 53 follows drains and failback holds
 * exactly as the embedded DNS does.
 */
import { servesPrimary, type DecidedValues, type RecordSetDecision } from './failover/decision.ts';
import type { DynamicAnswer, DynamicRRset } from './records/snapshot.ts';
import type { DesiredRecordSet as UpdateRecordSet } from './rfc2136/model.ts';
import type { DesiredGeo, DesiredGeoRecord, DesiredRecordSet } from './route53/desired.ts';
import type { RecordSetConfig } from './config/types.ts';
import type { TopologyMap } from './config/topology.ts';
import type { GeoLocation } from './route53/model.ts';

/**
 * Each decision's answer, made once: a decision object is never changed,
 * and the decider (and a cluster reader) keeps an unchanged record set's
 * decision object, so a snapshot built after one change finds every other
 * answer to be the very same object (buildSnapshot and the journal compare
 * by identity first).
 */
const dynamicOf = new WeakMap<RecordSetDecision, DynamicRRset>();

export function toDynamicRRset(d: RecordSetDecision): DynamicRRset {
  let r = dynamicOf.get(d);
  if (!r) dynamicOf.set(d, (r = makeDynamicRRset(d)));
  return r;
}

function makeDynamicRRset(d: RecordSetDecision): DynamicRRset {
  const a = d.answer;
  const topology = d.lists && d.clientMap ? { v4: d.clientMap.v4, v6: d.clientMap.v6, ...(d.clientMap.geo ? { geo: d.clientMap.geo } : {}), answers: d.lists.map((l) => dynamicAnswer(l.answer)) } : undefined;
  return { name: d.name, type: d.type, ...dynamicAnswer(a), ...(topology ? { topology } : {}) };
}

function dynamicAnswer(a: DecidedValues): DynamicAnswer {
  if (a.kind !== 'values') return { ttl: a.ttl, kind: a.kind, values: [] };
  return { ttl: a.ttl, kind: 'values', values: a.values, weights: a.weights };
}

/** Every decision for Route 53; a topology record set's map comes from its config (`records`). */
export function toDesiredRecordSets(decisions: readonly RecordSetDecision[], records: readonly RecordSetConfig[]): DesiredRecordSet[] {
  const maps = new Map<string, TopologyMap>();
  for (const rs of records) if (rs.topology) maps.set(`${rs.name}/${rs.type}`, rs.topology.map);
  return decisions.map((d) => toDesiredRecordSet(d, maps.get(d.key)));
}

export function toDesiredRecordSet(d: RecordSetDecision, map?: TopologyMap): DesiredRecordSet {
  const a = d.answer;
  const geo = map ? desiredGeo(d, map) : undefined;
  return {
    name: d.name,
    type: d.type,
    ttl: a.ttl,
    values: a.kind === 'values' ? a.values : [],
    servfail: a.kind === 'servfail' || undefined,
    policy: d.policy,
    targets: d.targets.map((t) => ({ id: t.id, address: t.address })),
    // The primary is healthy for Route 53 exactly when the decision serves it:
    // a drained primary, or one held back by a manual failback, is not.
    primaryHealthy: servesPrimary(d),
    ...(geo ? { geo } : {}),
  };
}

/**
 * Policy topology as Route 53 geolocation records: each continent and
 * country of the map answers what its site list answers now, the default
 * what `default` answers. A list without a decision yet (a site not stepped)
 * is left as Route 53 has it (servfail: nothing changed), and so is every
 * location of a decision without site lists (never a simple record beside
 * the geolocation ones).
 */
function desiredGeo(d: RecordSetDecision, map: TopologyMap): DesiredGeo {
  const byList = new Map((d.lists ?? []).map((l) => [l.sites.join(','), l]));
  const record = (location: GeoLocation, sites: readonly string[]): DesiredGeoRecord => {
    const l = byList.get(sites.join(','));
    if (!l) return { location, values: [], servfail: true, ttl: d.answer.ttl, site: sites[0] ?? '', allDown: false };
    const a = l.answer;
    return { location, values: a.kind === 'values' ? a.values : [], ...(a.kind === 'servfail' ? { servfail: true } : {}), ttl: a.ttl, site: l.site, allDown: l.allDown };
  };
  const records = map.entries.flatMap((e) => [...e.continents.map((c) => record({ continentCode: c }, e.sites)), ...e.countries.map((c) => record({ countryCode: c }, e.sites))]);
  records.push(record({ countryCode: '*' }, map.default));
  return { records, sites: (d.sites ?? []).map((s) => ({ name: s.name, down: s.down })) };
}

export function toUpdateRecordSet(d: RecordSetDecision): UpdateRecordSet {
  const a = d.answer;
  return {
    name: d.name,
    type: d.type,
    ttl: a.ttl,
    values: a.kind === 'values' ? a.values : [],
    ...(a.kind === 'servfail' ? { servfail: true } : {}),
    targets: d.targets.map((t) => t.address),
  };
}
