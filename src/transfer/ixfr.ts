/**
 * IXFR (RFC 1995): what to send a client that holds serial `clientSerial`.
 * - current (or ahead of us): the current SOA alone;
 * - in the journal: the diffs, each as old SOA, deletions, new SOA, additions,
 *   between the current SOA first and last;
 * - otherwise: the whole zone, AXFR style, inside the IXFR response.
 */
import type { AnswerRR } from '../dns/resolve.ts';
import { readName, type WireMessage } from '../dns/wire/reader.ts';
import { RR_TYPE_CODE } from '../dns-model/records.ts';
import type { ZoneView } from '../records/snapshot.ts';
import { serialGreater } from '../records/serial.ts';
import { axfrRecords } from './axfr.ts';
import type { Journal } from './journal.ts';
import { soaRecord } from './zone-records.ts';

export type IxfrPlan = { kind: 'current'; records: AnswerRR[] } | { kind: 'incremental'; records: AnswerRR[]; changes: number } | { kind: 'full'; records: AnswerRR[] };

export function planIxfr(zone: ZoneView, clientSerial: number, journal: Journal): IxfrPlan {
  const soa = soaRecord(zone.origin, zone.soaTtl, zone.soa);
  if (clientSerial === zone.serial || serialGreater(clientSerial, zone.serial)) return { kind: 'current', records: [soa] };
  const changes = journal.changes(zone.origin, clientSerial, zone.serial);
  if (!changes) return { kind: 'full', records: axfrRecords(zone) };
  const records: AnswerRR[] = [soa];
  for (const c of changes) {
    records.push(soaRecord(zone.origin, c.soaTtlFrom, c.fromSoa), ...c.deleted, soaRecord(zone.origin, c.soaTtlTo, c.toSoa), ...c.added);
  }
  records.push(soa);
  return { kind: 'incremental', records, changes: changes.length };
}

/** The serial of the SOA an IXFR client sends in its authority section (RFC 1995 §3). */
export function readIxfrSerial(msg: WireMessage, zone: string): number | undefined {
  const soa = msg.records.find((r) => r.section === 'authority' && r.type === RR_TYPE_CODE.SOA);
  if (!soa || soa.name !== zone) return undefined;
  const mname = readName(msg.buf, soa.rdata);
  const rname = mname && readName(msg.buf, mname.next);
  if (!rname || rname.next + 20 > soa.end) return undefined;
  return msg.buf.readUInt32BE(rname.next);
}
