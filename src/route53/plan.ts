/**
 * Desired vs current → a Plan value (pure; JSON-printable).
 *
 * Mapping of failoverd's answers onto Route 53:
 *  - records mode (and non-failover policies in failover mode): one simple
 *    record set per record set, values = what the embedded server answers.
 *    NODATA (no values) → the owned record set is deleted (the ownership
 *    marker stays). SERVFAIL → nothing is changed: the last published values
 *    stay, and the plan lists the record set under `skipped`. weighted and
 *    multivalue → one simple record with every value answered now (Route 53
 *    answers all of them; weights are not expressed).
 *  - failover mode, policy failover: a PRIMARY record (first target, tied to a
 *    failoverd-owned health check) and a SECONDARY record (the second target;
 *    while the primary is down and failoverd answers something else, e.g. a
 *    third target, SECONDARY carries what failoverd answers). The health check
 *    is CALCULATED, Disabled (Route 53 treats a disabled check as healthy), and
 *    Inverted while failoverd says the primary is down (disabled + inverted =
 *    always unhealthy), so Route 53 serves the switch from its edge.
 *  - policy topology (both modes): geolocation records, one per continent and
 *    country of the map and the default (CountryCode "*"), each holding what
 *    failoverd answers that location's site list now (the first site that is
 *    not down), so a site failure rewrites the records of the clients mapped
 *    to it and no other. A location answering SERVFAIL is left as it is; one
 *    answering NODATA has no record (Route 53 falls back to the continent,
 *    then the default). In failover mode each site also has a failoverd
 *    health check (the same CALCULATED, disabled, inverted-while-down kind)
 *    and every record but the default carries the health check of the site
 *    it answers: a site failoverd finds down is skipped by Route 53 at once
 *    (its clients fall back to the continent or the default) even before the
 *    rewritten values land. The default has none: the last resort answers.
 *
 * Ownership: a TXT record "_failoverd.<name>" holds one value per owned type,
 * "heritage=failoverd,owner=<ownerId>,type=<type>". A record set is changed or
 * deleted only if its name/type is owned by this ownerId, or does not exist
 * yet, or its name is listed in `adopt`.
 */
import { guardVerdict, type GuardResult } from '../plan-guard.ts';
import type { DesiredRecordSet } from './desired.ts';
import { recordKey } from './desired.ts';
import {
  canonicalValue,
  isMarkerName,
  markerName,
  markerValue,
  parseMarkerValue,
  setIdentifierFor,
  type ChangeAction,
  type R53RecordSet,
  describeGeoLocation,
  geoSetIdentifier,
} from './model.ts';

export type Mode = 'records' | 'failover';

/** A health check of this owner, as found in Route 53 (tags read). */
export interface OwnedHealthCheck {
  id: string;
  /** "<name>/<type>" from the failoverd:record tag; absent if untagged. */
  record?: string;
  inverted: boolean;
  disabled: boolean;
}

export interface PlanInput {
  zoneId: string;
  zone: string;
  ownerId: string;
  mode: Mode;
  desired: DesiredRecordSet[];
  /** Record sets read from Route 53: the whole zone (full scope) or the names in scope and their markers. */
  current: R53RecordSet[];
  healthChecks: OwnedHealthCheck[];
  /** 'full': every desired and every owned name; or only these names (a transition). */
  scope: 'full' | { names: string[] };
  adopt?: string[];
  force?: boolean;
  guard?: { maxChangeRatio: number; minOwned: number };
  markerTtl?: number;
}

export interface PlanChange {
  /** Changes of one group (one owner name with its marker) are applied together. */
  group: string;
  action: ChangeAction;
  recordSet: R53RecordSet;
  why: string;
  /** Counted by the guard (a change not explained by a failover transition). */
  counted: boolean;
}

export interface PlanHealthCheckChange {
  action: 'CREATE' | 'UPDATE' | 'DELETE';
  /** The health check id, or "new:<name>/<type>" for one this plan creates. */
  ref: string;
  record?: string;
  inverted?: boolean;
  disabled?: boolean;
  why: string;
}

export interface Refusal {
  name: string;
  type: string;
  reason: string;
}

export type { GuardResult };

export interface Plan {
  zoneId: string;
  zone: string;
  ownerId: string;
  mode: Mode;
  scope: 'full' | 'partial';
  names: string[];
  changes: PlanChange[];
  healthChecks: PlanHealthCheckChange[];
  refused: Refusal[];
  skipped: { record: string; reason: string }[];
  guard: GuardResult;
}

export const NEW_HC_PREFIX = 'new:';

const ACTION_ORDER: Record<ChangeAction, number> = { DELETE: 0, CREATE: 1, UPSERT: 2 };

function sortedValues(type: string, values: string[]): string[] {
  return values.map((v) => canonicalValue(type, v)).sort();
}

function sameRecord(a: R53RecordSet, b: R53RecordSet): boolean {
  return (
    a.ttl === b.ttl &&
    (a.failover ?? '') === (b.failover ?? '') &&
    JSON.stringify(geoKey(a)) === JSON.stringify(geoKey(b)) &&
    (a.healthCheckId ?? '') === (b.healthCheckId ?? '') &&
    !a.other === !b.other &&
    JSON.stringify(sortedValues(a.type, a.values)) === JSON.stringify(sortedValues(b.type, b.values))
  );
}

/** What Route 53 should hold for one desired record set; undefined = leave as is. */
export function wantedRecordSets(d: DesiredRecordSet, mode: Mode, healthCheckRef: string | undefined): R53RecordSet[] | undefined {
  if (mode === 'failover' && d.policy === 'failover' && d.targets.length >= 2) {
    const primary = d.targets[0]!.address;
    const fallback = d.targets[1]!.address;
    const answered = d.values.map((v) => canonicalValue(d.type, v));
    const secondaryValues =
      !d.primaryHealthy && !d.servfail && d.values.length > 0 && !answered.includes(canonicalValue(d.type, primary))
        ? d.type === 'CNAME'
          ? [d.values[0]!]
          : [...d.values]
        : [fallback];
    return [
      {
        name: d.name,
        type: d.type,
        ttl: d.ttl,
        values: [primary],
        setIdentifier: setIdentifierFor('PRIMARY', d.name, d.type),
        failover: 'PRIMARY',
        ...(healthCheckRef ? { healthCheckId: healthCheckRef } : {}),
      },
      { name: d.name, type: d.type, ttl: d.ttl, values: secondaryValues, setIdentifier: setIdentifierFor('SECONDARY', d.name, d.type), failover: 'SECONDARY' },
    ];
  }
  if (d.servfail) return undefined;
  if (d.values.length === 0) return [];
  return [{ name: d.name, type: d.type, ttl: d.ttl, values: d.type === 'CNAME' ? [d.values[0]!] : [...d.values] }];
}

function geoKey(r: R53RecordSet): [string, string, string] | null {
  const g = r.geoLocation;
  return g ? [g.continentCode ?? '', g.countryCode ?? '', g.subdivisionCode ?? ''] : null;
}

/**
 * Policy topology: the geolocation records of `d` (see the header), and the
 * set identifiers of locations left as Route 53 has them (SERVFAIL), with
 * the location of each.
 */
export function wantedGeoRecordSets(d: DesiredRecordSet, mode: Mode, healthCheckRef: (tag: string) => string | undefined): { sets: R53RecordSet[]; keep: Map<string, string> } {
  const sets: R53RecordSet[] = [];
  const keep = new Map<string, string>();
  for (const g of d.geo?.records ?? []) {
    const setIdentifier = geoSetIdentifier(g.location, d.name, d.type);
    if (g.servfail) {
      keep.set(setIdentifier, describeGeoLocation(g.location));
      continue;
    }
    if (g.values.length === 0) continue;
    const hc = mode === 'failover' && g.location.countryCode !== '*' ? healthCheckRef(siteHealthCheckTag(d, g.site)) : undefined;
    sets.push({ name: d.name, type: d.type, ttl: g.ttl, values: d.type === 'CNAME' ? [g.values[0]!] : [...g.values], setIdentifier, geoLocation: { ...g.location }, ...(hc ? { healthCheckId: hc } : {}) });
  }
  return { sets, keep };
}

/** The failoverd:record tag of a topology site's health check: "www.example.test/A@eu". */
export function siteHealthCheckTag(d: { name: string; type: string }, site: string): string {
  return `${recordKey(d)}@${site}`;
}

/** One failoverd health check a desired record set needs: its tag, state, and why it has that state. */
export interface WantedHealthCheck {
  tag: string;
  inverted: boolean;
  disabled: boolean;
  why: string;
  /** For a plan line creating it. */
  purpose: string;
}

/** The failoverd health checks `d` is published with (none in records mode). */
export function wantedHealthChecks(d: DesiredRecordSet, mode: Mode): WantedHealthCheck[] {
  if (mode !== 'failover') return [];
  const key = recordKey(d);
  if (d.geo)
    return d.geo.sites.map((s) => ({
      tag: siteHealthCheckTag(d, s.name),
      disabled: true,
      inverted: s.down,
      why: s.down ? `site ${s.name} is down: health check disabled + inverted (unhealthy)` : `site ${s.name} is up: health check disabled (healthy)`,
      purpose: `health check for site ${s.name} of ${key} (its geolocation records)`,
    }));
  if (d.policy === 'failover' && d.targets.length >= 2)
    return [
      {
        tag: key,
        disabled: true,
        inverted: !d.primaryHealthy,
        why: d.primaryHealthy ? `primary ${d.targets[0]!.address} is up: health check disabled (healthy)` : `primary ${d.targets[0]!.address} is down: health check disabled + inverted (unhealthy)`,
        purpose: `health check for the PRIMARY record of ${key}`,
      },
    ];
  return [];
}

/** The record key a health check tag belongs to ("www.example.test/A@eu" → "www.example.test/A"). */
export function tagRecordKey(tag: string): string {
  const at = tag.indexOf('@');
  return at < 0 ? tag : tag.slice(0, at);
}

export function computePlan(input: PlanInput): Plan {
  const { zone, ownerId, mode } = input;
  const guardCfg = input.guard ?? { maxChangeRatio: 0.3, minOwned: 10 };
  const adopt = new Set(input.adopt ?? []);
  const full = input.scope === 'full';
  const inZone = (n: string) => n === zone || n.endsWith('.' + zone);
  const desired = input.desired.filter((d) => inZone(d.name));
  const desiredByKey = new Map(desired.map((d) => [recordKey(d), d]));

  // Index what Route 53 has.
  const byName = new Map<string, R53RecordSet[]>();
  const markers = new Map<string, R53RecordSet>();
  for (const r of input.current) {
    if (r.type === 'TXT' && isMarkerName(r.name)) markers.set(r.name.slice('_failoverd.'.length), r);
    else (byName.get(r.name) ?? byName.set(r.name, []).get(r.name)!).push(r);
  }
  const markerEntries = (name: string) => (markers.get(name)?.values ?? []).map((v) => ({ raw: v, entry: parseMarkerValue(v) }));

  // Names in scope.
  const names = new Set<string>();
  if (full) {
    for (const d of desired) names.add(d.name);
    for (const [n] of markers) if (inZone(n) && markerEntries(n).some((e) => e.entry?.owner === ownerId)) names.add(n);
  } else {
    for (const n of (input.scope as { names: string[] }).names) if (inZone(n)) names.add(n);
  }

  // Health checks of this owner, by record key.
  // (By tag: "name/type", or "name/type@site" for a topology site; of two with one tag, the one a record uses.)
  const hcByRecord = new Map<string, OwnedHealthCheck>();
  const referenced = new Set<string>();
  for (const rs of input.current) if (rs.healthCheckId) referenced.add(rs.healthCheckId);
  for (const hc of input.healthChecks) {
    if (!hc.record) continue;
    const prev = hcByRecord.get(hc.record);
    if (!prev || (referenced.has(hc.id) && !referenced.has(prev.id))) hcByRecord.set(hc.record, hc);
  }

  const changes: PlanChange[] = [];
  const hcChanges: PlanHealthCheckChange[] = [];
  const refused: Refusal[] = [];
  const skipped: { record: string; reason: string }[] = [];
  let ownedCount = 0;
  const countedKeys = new Set<string>();

  for (const name of [...names].sort()) {
    const cur = byName.get(name) ?? [];
    const entries = markerEntries(name);
    const ownedTypes = new Set(entries.filter((e) => e.entry?.owner === ownerId).map((e) => e.entry!.type));
    const foreign = new Map(entries.filter((e) => e.entry && e.entry.owner !== ownerId).map((e) => [e.entry!.type, e.entry!.owner]));
    ownedCount += ownedTypes.size;
    const desiredTypes = desired.filter((d) => d.name === name).map((d) => d.type as string);
    const types = [...new Set([...desiredTypes, ...ownedTypes])].sort();
    const claimed = new Set<string>();
    const groupChanges: PlanChange[] = [];

    for (const type of types) {
      const key = `${name}/${type}`;
      const d = desiredByKey.get(key);
      const curSets = cur.filter((r) => r.type === type);
      let why: string;
      if (ownedTypes.has(type)) why = 'owned';
      else if (foreign.has(type)) {
        if (d) refused.push({ name, type, reason: `owned by another failoverd (owner=${foreign.get(type)}); not touched` });
        continue;
      } else if (curSets.length === 0) why = 'new';
      else if (adopt.has(name)) why = 'adopted';
      else {
        if (d)
          refused.push({
            name,
            type,
            reason: `exists in Route 53 without a failoverd ownership marker (created by someone else); not touched. List it under route53.adopt to take it over`,
          });
        continue;
      }

      if (!d) {
        // Owned but no longer desired: delete what we published, release the name.
        for (const r of curSets) groupChanges.push({ group: name, action: 'DELETE', recordSet: r, why: `${key} left the config`, counted: true });
        if (curSets.length) countedKeys.add(key);
        continue;
      }
      claimed.add(type);

      const hcRefs = new Map<string, string>();
      for (const w of wantedHealthChecks(d, mode)) {
        const state = { inverted: w.inverted, disabled: w.disabled };
        const hc = hcByRecord.get(w.tag);
        if (hc) {
          hcRefs.set(w.tag, hc.id);
          if (hc.inverted !== w.inverted || hc.disabled !== w.disabled) hcChanges.push({ action: 'UPDATE', ref: hc.id, record: w.tag, ...state, why: w.why });
        } else {
          hcRefs.set(w.tag, NEW_HC_PREFIX + w.tag);
          hcChanges.push({ action: 'CREATE', ref: NEW_HC_PREFIX + w.tag, record: w.tag, ...state, why: w.purpose });
        }
      }

      let want: R53RecordSet[] | undefined;
      let keep = new Map<string, string>();
      if (d.geo) {
        const geo = wantedGeoRecordSets(d, mode, (tag) => hcRefs.get(tag));
        want = geo.sets;
        keep = geo.keep;
        for (const [, where] of keep) skipped.push({ record: `${key} ${where}`, reason: 'the embedded server answers SERVFAIL there: the last published geolocation record is left in place' });
      } else if (d.policy === 'topology') {
        skipped.push({ record: key, reason: 'policy topology without its map (the config and the decisions are out of step): left as Route 53 has it' });
        continue;
      } else want = wantedRecordSets(d, mode, hcRefs.get(key));
      if (want === undefined) {
        skipped.push({ record: key, reason: 'the embedded server answers SERVFAIL: last published values are left in place' });
        continue;
      }
      const targets = new Set(d.targets.map((t) => canonicalValue(type, t.address)));
      const explained = (r: R53RecordSet) => r.values.every((v) => targets.has(canonicalValue(type, v)));
      const curSids = curSets.map((r) => r.setIdentifier ?? '').sort().join('|');
      const wantSids = [...want.map((r) => r.setIdentifier ?? ''), ...[...keep.keys()].filter((sid) => curSets.some((r) => r.setIdentifier === sid))].sort().join('|');
      const shapeSame = curSets.length === 0 || want.length === 0 || curSids === wantSids;
      const counted = why !== 'new' && !(shapeSame && curSets.every(explained) && want.every(explained) && curSets.every((r) => !r.other));

      const bySid = new Map(curSets.map((r) => [r.setIdentifier ?? '', r]));
      const keyChanges: PlanChange[] = [];
      for (const w of want) {
        const c = bySid.get(w.setIdentifier ?? '');
        bySid.delete(w.setIdentifier ?? '');
        // CREATE (fails if someone else created it meanwhile) for names we take now; UPSERT on names we own.
        if (!c) keyChanges.push({ group: name, action: why === 'owned' ? 'UPSERT' : 'CREATE', recordSet: w, why: describe(d, w, why, 'create'), counted });
        else if (!sameRecord(c, w)) keyChanges.push({ group: name, action: 'UPSERT', recordSet: w, why: describe(d, w, why, 'update', c), counted });
      }
      for (const [sid, c] of bySid) {
        if (keep.has(sid)) continue;
        keyChanges.push({
          group: name,
          action: 'DELETE',
          recordSet: c,
          why: want.length === 0 && keep.size === 0 ? `${key}: the embedded server answers NODATA` : c.geoLocation && d.geo ? `${key}: ${describeGeoLocation(c.geoLocation)}: ${d.geo.records.some((g) => geoSetIdentifier(g.location, d.name, d.type) === sid) ? 'the embedded server answers NODATA there' : 'no longer in the map'}` : `${key}: ${c.setIdentifier ? `routing record ${c.setIdentifier}` : 'simple record'} no longer wanted (mode ${mode})`,
          counted,
        });
      }
      if (keyChanges.length && counted) countedKeys.add(key);
      groupChanges.push(...keyChanges);
    }

    // The ownership marker: our entries for the claimed types, everyone else's kept.
    const marker = markers.get(name);
    const keep = entries.filter((e) => !(e.entry && e.entry.owner === ownerId)).map((e) => e.raw);
    const ours = [...claimed].sort().map((t) => markerValue(ownerId, t));
    const newValues = [...keep, ...ours];
    const mName = markerName(name);
    if (!marker && ours.length) {
      groupChanges.push({ group: name, action: 'CREATE', recordSet: { name: mName, type: 'TXT', ttl: input.markerTtl ?? 300, values: newValues }, why: `ownership marker: ${ownerId} owns ${[...claimed].join(', ')}`, counted: false });
    } else if (marker && newValues.length === 0) {
      groupChanges.push({ group: name, action: 'DELETE', recordSet: marker, why: `ownership marker: ${ownerId} releases ${name}`, counted: false });
    } else if (marker && JSON.stringify([...marker.values].sort()) !== JSON.stringify([...newValues].sort())) {
      groupChanges.push({ group: name, action: 'UPSERT', recordSet: { ...marker, values: newValues }, why: `ownership marker: ${ownerId} owns ${[...claimed].join(', ') || 'nothing'}`, counted: false });
    }
    groupChanges.sort((a, b) => ACTION_ORDER[a.action] - ACTION_ORDER[b.action]);
    changes.push(...groupChanges);
  }

  // Health checks no longer referenced (full scope only): deleted after the records.
  if (full) {
    const removed = new Set(changes.filter((c) => c.action !== 'CREATE').map((c) => `${recordKey(c.recordSet)}#${c.recordSet.setIdentifier ?? ''}`));
    const refs = new Set<string>();
    for (const r of input.current) if (r.healthCheckId && !removed.has(`${recordKey(r)}#${r.setIdentifier ?? ''}`)) refs.add(r.healthCheckId);
    for (const c of changes) if (c.action !== 'DELETE' && c.recordSet.healthCheckId) refs.add(c.recordSet.healthCheckId);
    for (const hc of input.healthChecks) {
      if (refs.has(hc.id)) continue;
      const key = hc.record ? tagRecordKey(hc.record) : undefined;
      const d = key ? desiredByKey.get(key) : undefined;
      const inUse = d && wantedHealthChecks(d, mode).some((w) => w.tag === hc.record) && hcByRecord.get(hc.record!)?.id === hc.id && !refused.some((r) => recordKey(r) === key);
      if (inUse) continue;
      hcChanges.push({ action: 'DELETE', ref: hc.id, ...(hc.record ? { record: hc.record } : {}), why: hc.record ? `no record set ${hc.record} needs it any more` : 'untagged failoverd health check no record uses' });
    }
  }

  const guard = guardVerdict(ownedCount, countedKeys.size, guardCfg, !!input.force);

  return {
    zoneId: input.zoneId,
    zone,
    ownerId,
    mode,
    scope: full ? 'full' : 'partial',
    names: [...names].sort(),
    changes,
    healthChecks: hcChanges,
    refused,
    skipped,
    guard,
  };
}

function describe(d: DesiredRecordSet, w: R53RecordSet, why: string, verb: string, cur?: R53RecordSet): string {
  const role = w.failover ? ` ${w.failover}` : w.geoLocation ? ` ${describeGeoLocation(w.geoLocation)}${geoSite(d, w)}` : '';
  const from = cur ? ` (was ${cur.values.join(' ') || '-'}${cur.ttl !== w.ttl ? ` ttl ${cur.ttl}` : ''})` : '';
  const adopted = why === 'adopted' ? ' [adopting an unowned record]' : '';
  return `${verb} ${recordKey(d)}${role} → ${w.values.join(' ')} ttl ${w.ttl}${from}${adopted}`;
}

/** " (site eu)", or the all-down answer of a list, for a geolocation record. */
function geoSite(d: DesiredRecordSet, w: R53RecordSet): string {
  const g = d.geo?.records.find((r) => geoSetIdentifier(r.location, d.name, d.type) === w.setIdentifier);
  if (!g) return '';
  return g.allDown ? ` (every site of its list is down: site ${g.site}'s all-down answer)` : ` (site ${g.site})`;
}

export function planIsEmpty(p: Plan): boolean {
  return p.changes.length === 0 && p.healthChecks.length === 0;
}

/** One line per change, for the CLI and logs. */
export function formatPlan(p: Plan): string {
  const lines: string[] = [];
  lines.push(`Route 53 plan for ${p.zone} (${p.zoneId}), mode ${p.mode}, owner ${p.ownerId}, scope ${p.scope}`);
  for (const h of p.healthChecks.filter((h) => h.action !== 'DELETE')) lines.push(`  HEALTHCHECK ${h.action} ${h.ref}${h.record ? ` (${h.record})` : ''}: ${h.why}`);
  for (const c of p.changes) lines.push(`  ${c.action.padEnd(6)} ${c.recordSet.name} ${c.recordSet.type}${routing(c.recordSet)} ${c.recordSet.values.join(' ')}: ${c.why}`);
  for (const h of p.healthChecks.filter((h) => h.action === 'DELETE')) lines.push(`  HEALTHCHECK DELETE ${h.ref}${h.record ? ` (${h.record})` : ''}: ${h.why}`);
  for (const r of p.refused) lines.push(`  REFUSED ${r.name} ${r.type}: ${r.reason}`);
  for (const s of p.skipped) lines.push(`  SKIPPED ${s.record}: ${s.reason}`);
  if (p.guard.reason) lines.push(`  GUARD ${p.guard.blocked ? 'BLOCKED' : 'overridden'}: ${p.guard.reason}`);
  if (planIsEmpty(p)) lines.push('  no changes');
  return lines.join('\n');
}

/** " [PRIMARY]", " [geo continent EU]", or "" for a simple record. */
function routing(r: R53RecordSet): string {
  if (r.failover) return ` [${r.failover}]`;
  if (r.geoLocation) return ` [geo ${describeGeoLocation(r.geoLocation)}]`;
  return '';
}
