/**
 * The IXFR journal: for each zone, the most recent serial changes as diffs
 * (records deleted, records added), built by comparing each new snapshot's
 * zone with the one before. Bounded: at most `maxChanges` per zone, and at
 * most `maxRecords` records over all of a zone's diffs (oldest dropped first).
 */
import type { AnswerRR } from '../dns/resolve.ts';
import { LayeredNodes, namesChangedSince, type RRset, type Snapshot, type ZoneNode, type ZoneView } from '../records/snapshot.ts';
import { serialGreater } from '../records/serial.ts';
import type { SoaData } from '../dns-model/records.ts';
import { recordKey, zoneRecords } from './zone-records.ts';

export interface JournalEntry {
  from: number;
  to: number;
  fromSoa: SoaData;
  toSoa: SoaData;
  soaTtlFrom: number;
  soaTtlTo: number;
  deleted: AnswerRR[];
  added: AnswerRR[];
}

interface ZoneJournal {
  last: ZoneView;
  /** Oldest first; entries[i].to === entries[i+1].from. */
  entries: JournalEntry[];
  records: number;
}

export class Journal {
  private readonly zones = new Map<string, ZoneJournal>();

  constructor(
    readonly maxChanges = 100,
    private readonly maxRecords = 200_000,
  ) {}

  /** Takes in a new snapshot; returns the zones whose serial moved (origin → new serial). */
  record(snapshot: Snapshot): Map<string, ZoneView> {
    const changed = new Map<string, ZoneView>();
    for (const zone of snapshot.zones) {
      const j = this.zones.get(zone.origin);
      if (!j) {
        this.zones.set(zone.origin, { last: zone, entries: [], records: 0 });
        continue;
      }
      if (j.last.serial === zone.serial) {
        j.last = zone;
        continue;
      }
      changed.set(zone.origin, zone);
      if (!serialGreater(zone.serial, j.last.serial)) {
        // Backwards (cannot happen through buildSnapshot): no diff can bridge it.
        this.zones.set(zone.origin, { last: zone, entries: [], records: 0 });
        continue;
      }
      const entry = diff(j.last, zone);
      j.last = zone;
      if (this.maxChanges === 0) continue;
      j.entries.push(entry);
      j.records += entry.added.length + entry.deleted.length;
      while (j.entries.length > this.maxChanges || (j.records > this.maxRecords && j.entries.length > 0)) {
        const dropped = j.entries.shift()!;
        j.records -= dropped.added.length + dropped.deleted.length;
      }
    }
    for (const origin of [...this.zones.keys()]) if (!snapshot.zones.some((z) => z.origin === origin)) this.zones.delete(origin);
    return changed;
  }

  /** The diffs that take a zone from serial `from` to exactly `to`, or undefined when the journal does not reach back that far. */
  changes(origin: string, from: number, to: number): JournalEntry[] | undefined {
    const j = this.zones.get(origin);
    if (!j) return undefined;
    const i = j.entries.findIndex((e) => e.from === from);
    if (i < 0) return undefined;
    const out: JournalEntry[] = [];
    for (let k = i; k < j.entries.length; k++) {
      out.push(j.entries[k]!);
      if (j.entries[k]!.to === to) return out;
    }
    return undefined;
  }

  /** The serials a client can start an IXFR from (oldest first), for status and tests. */
  serials(origin: string): number[] {
    return this.zones.get(origin)?.entries.map((e) => e.from) ?? [];
  }
}

function diff(before: ZoneView, after: ZoneView): JournalEntry {
  const names = namesChangedSince(before, after) ?? dynamicNames(before, after) ?? differingNames(before, after);
  const old = new Map(zoneRecords(before, names).map((r) => [recordKey(r), r]));
  const now = new Map(zoneRecords(after, names).map((r) => [recordKey(r), r]));
  const deleted: AnswerRR[] = [];
  const added: AnswerRR[] = [];
  for (const [k, r] of old) if (!now.has(k)) deleted.push(r);
  for (const [k, r] of now) if (!old.has(k)) added.push(r);
  return { from: before.serial, to: after.serial, fromSoa: before.soa, toSoa: after.soa, soaTtlFrom: before.soaTtl, soaTtlTo: after.soaTtl, deleted, added };
}

/**
 * When both views lay their answers over the same static zone data (every
 * change but a reload of the zone file): the names of their dynamic layers
 * whose node is not the same object in both, the only ones whose records
 * can differ (buildSnapshot keeps the node of every name whose answer did
 * not change), so one answer change compares one name, not every record
 * of the zone nor every dynamic name. Undefined otherwise.
 */
function dynamicNames(before: ZoneView, after: ZoneView): Set<string> | undefined {
  const a = before.nodes;
  const b = after.nodes;
  if (!(a instanceof LayeredNodes) || !(b instanceof LayeredNodes) || a.base !== b.base) return undefined;
  const names = new Set<string>();
  for (const [name, node] of b.top) if (a.top.get(name) !== node) names.add(name);
  for (const name of a.top.keys()) if (!b.top.has(name)) names.add(name);
  return names;
}

/**
 * Views over different static data (a reloaded zone file): the names whose
 * nodes differ field by field, the only ones whose records are then keyed
 * and compared (keying and sorting every record of a 200,000-record zone
 * held the event loop for seconds). Nodes that compare equal here give the
 * same records, with the same keys, in the same order.
 */
function differingNames(before: ZoneView, after: ZoneView): Set<string> {
  const out = new Set<string>();
  for (const [name, node] of before.nodes) if (!sameRecords(node, after.nodes.get(name))) out.add(name);
  for (const name of after.nodes.keys()) if (!before.nodes.has(name)) out.add(name);
  return out;
}

/** The same records (the same rrsets in the same order, each with the same TTL and data as JSON, which is what recordKey compares). */
function sameRecords(a: ZoneNode, b: ZoneNode | undefined): boolean {
  if (!b || a.rrsets.size !== b.rrsets.size) return false;
  const others = b.rrsets.values();
  for (const x of a.rrsets.values()) {
    const y = others.next().value as RRset;
    if (x.type !== y.type || x.ttl !== y.ttl || x.rdata.length !== y.rdata.length) return false;
    if (x.rdata !== y.rdata && JSON.stringify(x.rdata) !== JSON.stringify(y.rdata)) return false;
  }
  return true;
}
