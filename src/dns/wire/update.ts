/**
 * DNS UPDATE messages (RFC 2136): the zone section, prerequisites (§2.4)
 * and updates (§2.5), encoded with the shared WireWriter (names compressed
 * as BIND's nsupdate and Knot's knsupdate compress them), then signed with
 * TSIG by the caller (dns/wire/tsig.ts signRequest).
 *
 * The record kinds of §2.4 and §2.5 are spelled out as constructors, so a
 * caller says what it means ("this RRset holds exactly these records")
 * instead of picking classes and TTLs:
 *
 *   prerequisite     class  type    TTL  RDATA
 *   rrsetEquals      IN     type    0    each record   (§2.4.2, value dependent)
 *   rrsetAbsent      NONE   type    0    empty         (§2.4.3)
 *   update add       IN     type    ttl  the record    (§2.5.1)
 *   deleteRRset      ANY    type    0    empty         (§2.5.2)
 *   deleteRecord     NONE   type    0    the record    (§2.5.4)
 */
import type { RData, RRType } from '../../dns-model/records.ts';
import { RR_TYPE_CODE } from '../../dns-model/records.ts';
import { CLASS_ANY, CLASS_IN, CLASS_NONE, OPCODE_UPDATE } from './constants.ts';
import { WireWriter } from './writer.ts';

/** One record of the prerequisite or update section. */
export interface UpdateRecord {
  /** Canonical owner name (no trailing dot). */
  name: string;
  type: RRType;
  class: typeof CLASS_IN | typeof CLASS_NONE | typeof CLASS_ANY;
  ttl: number;
  /** Absent: RDLENGTH 0. */
  data?: RData;
}

export interface UpdateMessage {
  id: number;
  /** The zone section: the zone's apex, class IN, type SOA. */
  zone: string;
  prerequisites: UpdateRecord[];
  updates: UpdateRecord[];
}

/** §2.4.2: the RRset exists and holds exactly these records (value dependent). */
export function rrsetEquals(name: string, records: readonly RData[]): UpdateRecord[] {
  return records.map((data) => ({ name, type: data.type, class: CLASS_IN, ttl: 0, data }));
}

/** §2.4.3: no RRset of this type at this name. */
export function rrsetAbsent(name: string, type: RRType): UpdateRecord {
  return { name, type, class: CLASS_NONE, ttl: 0 };
}

/** §2.5.1: add a record to an RRset. */
export function addRecord(name: string, ttl: number, data: RData): UpdateRecord {
  return { name, type: data.type, class: CLASS_IN, ttl, data };
}

/** §2.5.2: delete a whole RRset. */
export function deleteRRset(name: string, type: RRType): UpdateRecord {
  return { name, type, class: CLASS_ANY, ttl: 0 };
}

/** §2.5.4: delete one record from an RRset. */
export function deleteRecord(name: string, data: RData): UpdateRecord {
  return { name, type: data.type, class: CLASS_NONE, ttl: 0, data };
}

/** The unsigned UPDATE message: header (opcode 5), zone, prerequisites, updates; no additional records. */
export function encodeUpdate(m: UpdateMessage): Buffer {
  const w = new WireWriter(512);
  w.u16(m.id);
  w.u16((OPCODE_UPDATE & 0xf) << 11);
  w.u16(1); // ZOCOUNT
  w.u16(m.prerequisites.length); // PRCOUNT
  w.u16(m.updates.length); // UPCOUNT
  w.u16(0); // ADCOUNT
  w.question({ name: m.zone, type: RR_TYPE_CODE.SOA, class: CLASS_IN });
  for (const r of [...m.prerequisites, ...m.updates]) w.record(r.name, RR_TYPE_CODE[r.type], r.class, r.ttl, r.data);
  return w.toBuffer();
}
