/**
 * Reading a server back: its SOA serial (one signed query), then, only when
 * the serial moved, the changes since the serial last read (IXFR, RFC 1995)
 * or the whole zone (AXFR, RFC 5936; also what a server without the
 * history answers an IXFR with), all signed with the read key. Only the
 * records a ServerView keeps are held.
 */
import { randomInt } from 'node:crypto';
import type { TsigKey } from '../config/transfer.ts';
import { CLASS_IN, QTYPE_AXFR, QTYPE_IXFR } from '../dns/wire/constants.ts';
import { readRData } from '../dns/wire/rdata-reader.ts';
import type { WireMessage } from '../dns/wire/reader.ts';
import { WireWriter } from '../dns/wire/writer.ts';
import { RR_TYPE_BY_CODE, RR_TYPE_CODE, type RData, type RRType } from '../dns-model/records.ts';
import { exchange, transfer, type ClientOptions, type ServerAddress } from './dns-client.ts';
import { rcodeError } from './errors.ts';
import type { RRsetView, ServerView } from './model.ts';

function query(qname: string, qtype: number, sinceSerial?: number): Buffer {
  const w = new WireWriter(128);
  w.u16(randomInt(0x10000));
  w.u16(0);
  w.u16(1);
  w.u16(0);
  w.u16(sinceSerial === undefined ? 0 : 1);
  w.u16(0);
  w.question({ name: qname, type: qtype, class: CLASS_IN });
  // IXFR: the serial the client has, in an SOA in the authority section (RFC 1995 §3).
  if (sinceSerial !== undefined) w.rr(qname, 0, { type: 'SOA', mname: '', rname: '', serial: sinceSerial, refresh: 0, retry: 0, expire: 0, minimum: 0 });
  return w.toBuffer();
}

/** The zone's SOA serial on `server`. */
export async function readSerial(server: ServerAddress, zone: string, key: TsigKey, o: ClientOptions): Promise<number> {
  const what = `SOA query for ${zone}`;
  const { msg, rcode } = await exchange(server, query(zone, RR_TYPE_CODE.SOA), key, o, what);
  if (rcode !== 'NOERROR') throw rcodeError(rcode, what);
  const r = msg.records.find((x) => x.section === 'answer' && x.type === RR_TYPE_CODE.SOA && x.name === zone);
  const soa = r && readRData(msg.buf, r);
  if (!soa || soa.type !== 'SOA') throw rcodeError('NODATA', `${what}: no SOA in the answer (is the server authoritative for ${zone}?)`);
  return soa.serial;
}

export type ReadKind = 'soa' | 'ixfr' | 'axfr';

/**
 * Brings `view` up to the server's serial: nothing when it has not moved,
 * else IXFR from the view's serial (or AXFR when the view has none).
 * Returns what was read.
 */
export async function readBack(server: ServerAddress, zone: string, key: TsigKey, view: ServerView, o: ClientOptions): Promise<ReadKind> {
  const serial = await readSerial(server, zone, key, o);
  if (view.serial === serial) return 'soa';
  const since = view.serial;
  const what = `${since === undefined ? 'AXFR' : 'IXFR'} of ${zone}`;
  const records: Array<{ name: string; ttl: number; data: RData }> = [];
  let soas = 0;
  let last: number | undefined;
  /** Answer records seen, kept or not; whether the second was an SOA (an incremental answer, RFC 1995 §4). */
  let seen = 0;
  let incremental = false;
  const done = (): boolean => {
    const first = records[0];
    if (!first || first.data.type !== 'SOA') return false;
    last = first.data.serial;
    // Up to date: a single SOA at or before the serial we have.
    if (records.length === 1 && since !== undefined && first.data.serial === since) return true;
    const end = records.at(-1)!;
    return records.length > 1 && end.data.type === 'SOA' && end.data.serial === last && soas >= (incremental ? 3 : 2);
  };
  await transfer(server, query(zone, since === undefined ? QTYPE_AXFR : QTYPE_IXFR, since), key, o, what, (msg: WireMessage) => {
    for (const r of msg.records) {
      if (r.section !== 'answer') continue;
      const type = RR_TYPE_BY_CODE.get(r.type);
      if (seen++ === 1) incremental = type === 'SOA';
      if (type === 'SOA') {
        const data = readRData(msg.buf, r);
        if (!data) throw rcodeError('FORMERR', `${what}: unreadable SOA`);
        records.push({ name: r.name, ttl: r.ttl, data });
        if ((data as { serial: number }).serial === (records[0]!.data as { serial: number }).serial) soas++;
        continue;
      }
      // Not kept in memory (only SOAs frame the stream, and `seen` its shape).
      if (!type || !view.keeps(r.name, type)) continue;
      const data = readRData(msg.buf, r);
      if (data) records.push({ name: r.name, ttl: r.ttl, data });
    }
    return done();
  });
  apply(view, records, incremental);
  view.serial = last ?? serial;
  return incremental ? 'ixfr' : 'axfr';
}

/** A transfer's records onto the view: the whole zone (AXFR style), or deletions and additions (IXFR). */
function apply(view: ServerView, records: Array<{ name: string; ttl: number; data: RData }>, incremental: boolean): void {
  if (records.length <= 1) return;
  if (!incremental) {
    view.clear();
    for (const r of records.slice(1, -1)) view.add(r.name, r.ttl, r.data);
    return;
  }
  // SOA(new), then per change: SOA(old), deletions, SOA(new), additions; then SOA(new).
  let adding = true;
  for (const r of records.slice(1, -1)) {
    if (r.data.type === 'SOA') {
      adding = !adding;
      continue;
    }
    if (adding) view.add(r.name, r.ttl, r.data);
    else view.remove(r.name, r.data);
  }
}

/** One RRset by a signed query (NXDOMAIN or no records: undefined). */
export async function readRRset(server: ServerAddress, name: string, type: RRType, key: TsigKey, o: ClientOptions): Promise<RRsetView | undefined> {
  const what = `${type} query for ${name}`;
  const { msg, rcode } = await exchange(server, query(name, RR_TYPE_CODE[type]), key, o, what);
  if (rcode === 'NXDOMAIN') return undefined;
  if (rcode !== 'NOERROR') throw rcodeError(rcode, what);
  const data: RData[] = [];
  let ttl = 0;
  for (const r of msg.records) {
    if (r.section !== 'answer' || r.name !== name || r.type !== RR_TYPE_CODE[type]) continue;
    const d = readRData(msg.buf, r);
    if (d) data.push(d);
    ttl = r.ttl;
  }
  return data.length ? { ttl, data } : undefined;
}

/**
 * The record sets of `owner`'s markers at names the view does not track
 * yet (names that left the config): read once each, then tracked, so the
 * read-backs keep them current until they are deleted. Returns how many.
 */
export async function readOwnedElsewhere(server: ServerAddress, key: TsigKey, view: ServerView, owner: string, o: ClientOptions): Promise<number> {
  const byName = new Map<string, RRType[]>();
  for (const { name, type } of view.ownedElsewhere(owner)) {
    if (view.isTracked(name) || !Object.hasOwn(RR_TYPE_CODE, type)) continue;
    (byName.get(name) ?? byName.set(name, []).get(name)!).push(type as RRType);
  }
  for (const [name, types] of byName) {
    for (const type of types) view.set(name, type, await readRRset(server, name, type, key, o));
    view.track(name);
  }
  return byName.size;
}
