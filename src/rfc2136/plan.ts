/**
 * The RFC 2136 plan: desired record sets against what one server holds (a
 * ServerView, read back or as failoverd last wrote it) → the changes, the
 * record sets refused and why, the guard's verdict, and the one UPDATE
 * message body (prerequisites + updates) that applies every change at once.
 *
 * A record set is changed only when failoverd owns it: its marker names
 * this owner and the RRset still holds what failoverd last wrote (the
 * marker's digest). Then the UPDATE's prerequisites (RFC 2136 §2.4) say the
 * RRset and the marker are exactly as read, so an edit made after the read
 * fails the whole UPDATE (YXRRSET/NXRRSET) instead of being overwritten.
 * A name with no RRset and no marker is taken (prerequisite: nothing
 * there); one with records and no marker is someone else's, unless listed
 * in `adopt`; a marker of another owner is left alone. A record set this
 * owner's marker names at a name no longer published (it left `records:`
 * or the zone's `records:`) is deleted with its marker entry, under the same
 * prerequisites, and counted by the guard; edited since, it is refused.
 */
import { guardVerdict, type GuardResult } from '../plan-guard.ts';
import type { RData, RRType } from '../dns-model/records.ts';
import { addRecord, deleteRecord, deleteRRset, rrsetAbsent, rrsetEquals, type UpdateRecord } from '../dns/wire/update.ts';
import { markerName, markerText, recordKey, toRData, txt, valueOf, valuesSum, type DesiredRecordSet, type ServerView } from './model.ts';

export interface PlanChange {
  name: string;
  type: RRType;
  action: 'create' | 'update' | 'delete';
  from: string[];
  to: string[];
  ttl: number;
  why: string;
  /** Counted by the guard (a change not explained by a failover among the record set's targets). */
  counted: boolean;
}

export interface Refusal {
  name: string;
  type: string;
  kind: 'edited' | 'unmarked' | 'foreign';
  reason: string;
}


export type { GuardResult };

/** The types failoverd publishes (a marker naming another type is not failoverd's to act on). */
const PUBLISHABLE: ReadonlySet<string> = new Set(['A', 'AAAA', 'CNAME']);

export interface Rfc2136Plan {
  zone: string;
  server: string;
  ownerId: string;
  changes: PlanChange[];
  refused: Refusal[];
  skipped: Array<{ record: string; reason: string }>;
  guard: GuardResult;
  /** The UPDATE body; empty lists when there is nothing to change. */
  prerequisites: UpdateRecord[];
  updates: UpdateRecord[];
}

export interface PlanInput {
  zone: string;
  server: string;
  ownerId: string;
  desired: readonly DesiredRecordSet[];
  view: ServerView;
  adopt?: readonly string[];
  markerTtl: number;
  guard: { maxChangeRatio: number; minOwned: number };
  force?: boolean;
  /** false: leave record sets at names no longer published alone (default true: delete them). */
  deleteGone?: boolean;
}

export function computePlan(input: PlanInput): Rfc2136Plan {
  const { view, ownerId } = input;
  const adopt = new Set(input.adopt ?? []);
  const changes: PlanChange[] = [];
  const refused: Refusal[] = [];
  const skipped: Array<{ record: string; reason: string }> = [];
  const prerequisites: UpdateRecord[] = [];
  const updates: UpdateRecord[] = [];
  let owned = 0;

  const byName = new Map<string, DesiredRecordSet[]>();
  for (const d of input.desired) (byName.get(d.name) ?? byName.set(d.name, []).get(d.name)!).push(d);
  // Record sets this owner wrote at names no longer published (they left records: or the zone's records:): deleted.
  const gone = new Map<string, string[]>();
  if (input.deleteGone !== false) for (const g of view.ownedElsewhere(ownerId)) (gone.get(g.name) ?? gone.set(g.name, []).get(g.name)!).push(g.type);

  for (const name of [...new Set([...byName.keys(), ...gone.keys()])].sort()) {
    const markers = view.markers(name);
    const markerSet = view.get(markerName(name), 'TXT');
    const markerAdds: RData[] = [];
    const markerDeletes: RData[] = [];
    const namePrereqs: UpdateRecord[] = [];
    const nameUpdates: UpdateRecord[] = [];
    for (const type of (gone.get(name) ?? []).sort()) {
      owned++;
      const ours = markers.find((m) => m.entry?.owner === ownerId && m.entry.type === type)!;
      const cur = PUBLISHABLE.has(type) ? view.get(name, type as RRType) : undefined;
      const curValues = (cur?.data ?? []).map(valueOf);
      if (!PUBLISHABLE.has(type) || ours.entry!.sum !== valuesSum(type, curValues)) {
        refused.push({
          name,
          type,
          kind: 'edited',
          reason: `no longer published by failoverd, but edited outside failoverd since it wrote it (the server holds ${curValues.join(' ') || 'nothing'}); not deleted (delete it and its marker TXT ${markerName(name)} entry by hand, or restore it)`,
        });
        continue;
      }
      if (cur) {
        namePrereqs.push(...rrsetEquals(name, cur.data));
        nameUpdates.push(deleteRRset(name, type as RRType));
      }
      changes.push({ name, type: type as RRType, action: 'delete', from: curValues, to: [], ttl: cur?.ttl ?? 0, why: 'no longer in the config: failoverd deletes what it wrote', counted: curValues.length > 0 });
      markerDeletes.push(ours.data);
    }
    for (const d of (byName.get(name) ?? []).sort((a, b) => a.type.localeCompare(b.type))) {
      const key = recordKey(d);
      const cur = view.get(name, d.type);
      const curValues = (cur?.data ?? []).map(valueOf);
      const ours = markers.find((m) => m.entry?.owner === ownerId && m.entry.type === d.type);
      const foreign = markers.find((m) => m.entry && m.entry.owner !== ownerId && m.entry.type === d.type);
      let why: 'owned' | 'new' | 'adopted';
      if (ours) {
        owned++;
        if (ours.entry!.sum !== valuesSum(d.type, curValues)) {
          refused.push({
            name,
            type: d.type,
            kind: 'edited',
            reason: `edited outside failoverd: the server holds ${curValues.join(' ') || 'nothing'}, not what failoverd last wrote; not overwritten (restore it, or delete its marker TXT ${markerName(name)} entry to let failoverd take it again)`,
          });
          continue;
        }
        why = 'owned';
      } else if (foreign) {
        refused.push({ name, type: d.type, kind: 'foreign', reason: `owned by another failoverd (owner=${foreign.entry!.owner}); not touched` });
        continue;
      } else if (curValues.length === 0) why = 'new';
      else if (adopt.has(name)) why = 'adopted';
      else {
        refused.push({ name, type: d.type, kind: 'unmarked', reason: `exists on the server without a failoverd ownership marker (created by someone else); not touched. List it in adopt to take it over` });
        continue;
      }
      if (d.servfail) {
        skipped.push({ record: key, reason: 'the embedded server answers SERVFAIL: last published values are left in place' });
        continue;
      }
      const want = d.type === 'CNAME' ? d.values.slice(0, 1) : [...new Set(d.values)];
      const wantValues = want.map((v) => valueOf(toRData(d.type, v)));
      const sameValues = wantValues.length === curValues.length && wantValues.every((v) => curValues.includes(v));
      const sameTtl = wantValues.length === 0 || cur?.ttl === d.ttl;
      const newSum = valuesSum(d.type, wantValues);
      const markerRight = ours?.entry?.sum === newSum;
      if (sameValues && sameTtl && markerRight) continue;
      if (!(sameValues && sameTtl)) {
        namePrereqs.push(...(cur ? rrsetEquals(name, cur.data) : [rrsetAbsent(name, d.type)]));
        if (cur) nameUpdates.push(deleteRRset(name, d.type));
        for (const v of want) nameUpdates.push(addRecord(name, d.ttl, toRData(d.type, v)));
        const targets = new Set(d.targets.map((t) => valueOf(toRData(d.type, t))));
        const explained = curValues.every((v) => targets.has(v)) && wantValues.every((v) => targets.has(v));
        changes.push({
          name,
          type: d.type,
          action: wantValues.length === 0 ? 'delete' : curValues.length === 0 ? 'create' : 'update',
          from: curValues,
          to: wantValues,
          ttl: d.ttl,
          why: why === 'owned' ? (wantValues.length === 0 ? 'the embedded server answers NODATA' : 'answer changed') : why === 'adopted' ? 'adopting an unmarked record set' : 'new record set',
          counted: why !== 'new' && !explained,
        });
      }
      if (!markerRight) {
        if (ours) markerDeletes.push(ours.data);
        markerAdds.push(txt(markerText(ownerId, d.type, newSum)));
      }
    }
    if (markerAdds.length || markerDeletes.length) {
      namePrereqs.push(...(markerSet ? rrsetEquals(markerName(name), markerSet.data) : [rrsetAbsent(markerName(name), 'TXT')]));
      for (const m of markerDeletes) nameUpdates.push(deleteRecord(markerName(name), m));
      for (const m of markerAdds) nameUpdates.push(addRecord(markerName(name), input.markerTtl, m));
    }
    prerequisites.push(...namePrereqs);
    updates.push(...nameUpdates);
  }

  const guard = guardVerdict(owned, changes.filter((c) => c.counted).length, input.guard, !!input.force, 'changes');
  return { zone: input.zone, server: input.server, ownerId, changes, refused, skipped, guard, prerequisites, updates };
}

export function planIsEmpty(p: Rfc2136Plan): boolean {
  return p.updates.length === 0;
}

/** What the server holds once the plan's UPDATE is applied: the view is changed in place. */
export function applyToView(p: Rfc2136Plan, view: ServerView): void {
  for (const u of p.updates) {
    if (u.class === 255) view.set(u.name, u.type, undefined);
    else if (u.class === 254 && u.data) view.remove(u.name, u.data);
    else if (u.data) view.add(u.name, u.ttl, u.data);
  }
}

/** One line per change, for the CLI and logs. */
export function formatPlan(p: Rfc2136Plan): string {
  const lines = [`RFC 2136 plan for ${p.zone} on ${p.server}, owner ${p.ownerId}`];
  for (const c of p.changes) lines.push(`  ${c.action.toUpperCase().padEnd(6)} ${c.name} ${c.type} ${c.to.join(' ') || '-'} ttl ${c.ttl} (was ${c.from.join(' ') || '-'}): ${c.why}`);
  for (const r of p.refused) lines.push(`  REFUSED ${r.name} ${r.type}: ${r.reason}`);
  for (const s of p.skipped) lines.push(`  SKIPPED ${s.record}: ${s.reason}`);
  if (p.guard.reason) lines.push(`  GUARD ${p.guard.blocked ? 'BLOCKED' : 'overridden'}: ${p.guard.reason}`);
  if (planIsEmpty(p)) lines.push('  no changes');
  else lines.push(`  one UPDATE: ${p.prerequisites.length} prerequisites, ${p.updates.length} updates`);
  return lines.join('\n');
}
