/**
 * AXFR (RFC 5936): the whole zone of one snapshot, SOA first and last.
 * The records come from the snapshot the query was read against, so a
 * failover during the transfer cannot mix two versions of the zone.
 */
import type { AnswerRR } from '../dns/resolve.ts';
import type { ZoneView } from '../records/snapshot.ts';
import { soaRecord, zoneRecords } from './zone-records.ts';

export function axfrRecords(zone: ZoneView): AnswerRR[] {
  const soa = soaRecord(zone.origin, zone.soaTtl, zone.soa);
  return [soa, ...zoneRecords(zone), soa];
}
