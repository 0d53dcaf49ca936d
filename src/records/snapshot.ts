/**
 * The desired RRsets of every served zone, static zone data plus the dynamic
 * failover answers, as one immutable value. The DNS server answers from one
 * snapshot at a time; a new one is built and swapped in whole.
 */
import type { DynamicType } from '../config/types.ts';
import { isInZone, parentName } from './names.ts';
import { nextSerial } from './serial.ts';
import type { RData, RRType, SoaData, ZoneFile } from './types.ts';

export interface RRset {
  name: string;
  type: RRType;
  ttl: number;
  rdata: RData[];
  /** When set, one record is answered per query, chosen with these weights. */
  weights?: number[];
}

export interface ZoneNode {
  name: string;
  rrsets: Map<RRType, RRset>;
  /** A dynamic record set of this type here answers SERVFAIL (whenAllDown: servfail). */
  servfail?: RRType;
}

export interface ZoneView {
  origin: string;
  serial: number;
  soaTtl: number;
  soa: SoaData;
  /** Every name that exists, empty non-terminals included (with no rrsets). */
  nodes: ReadonlyMap<string, ZoneNode>;
  /** Delegation points: names below the apex that own NS records. */
  cuts: ReadonlySet<string>;
  /** Fingerprint of the data, to tell whether the serial must move. */
  fingerprint: string;
}

export interface Snapshot {
  version: number;
  /** Longest origin first, so the first match is the closest zone. */
  zones: readonly ZoneView[];
}

/** A dynamic answer from the failover stage, ready to serve. */
export interface DynamicRRset {
  name: string;
  type: DynamicType;
  ttl: number;
  kind: 'values' | 'nodata' | 'servfail';
  values: string[];
  weights?: number[];
}

export function findZone(snapshot: Snapshot, name: string): ZoneView | undefined {
  for (const z of snapshot.zones) if (isInZone(name, z.origin)) return z;
  return undefined;
}

/**
 * Builds a snapshot. A zone keeps its serial when its data is unchanged from
 * `prev`; otherwise the serial moves forward. `floorSerials` (from persisted
 * state) keeps serials from going backwards across restarts.
 */
export function buildSnapshot(
  zones: readonly ZoneFile[],
  dynamic: readonly DynamicRRset[],
  prev?: Snapshot,
  floorSerials?: ReadonlyMap<string, number>,
): Snapshot {
  const views: ZoneView[] = [];
  for (const zf of zones) {
    const nodes = new Map<string, ZoneNode>();
    const node = (name: string): ZoneNode => {
      let n = nodes.get(name);
      if (!n) {
        n = { name, rrsets: new Map() };
        nodes.set(name, n);
        // Ancestors up to the apex exist too (empty non-terminals).
        for (let p = name; p !== zf.origin && p !== ''; ) {
          p = parentName(p);
          if (nodes.has(p)) break;
          nodes.set(p, { name: p, rrsets: new Map() });
        }
      }
      return n;
    };
    let soa: SoaData | undefined;
    let soaTtl = 0;
    for (const r of zf.records) {
      if (r.data.type === 'SOA') {
        const { type: _t, ...data } = r.data;
        soa = data;
        soaTtl = r.ttl;
        continue;
      }
      const n = node(r.name);
      const set = n.rrsets.get(r.data.type);
      // RFC 2181 §5.2: one TTL per RRset; the lowest wins.
      if (set) {
        set.rdata.push(r.data);
        set.ttl = Math.min(set.ttl, r.ttl);
      } else n.rrsets.set(r.data.type, { name: r.name, type: r.data.type, ttl: r.ttl, rdata: [r.data] });
    }
    if (!soa) throw new Error(`zone ${zf.origin} has no SOA`);
    const dynParts: string[] = [];
    for (const d of dynamic) {
      if (!isInZone(d.name, zf.origin) || zones.some((o) => o !== zf && o.origin.length > zf.origin.length && isInZone(d.name, o.origin))) continue;
      const n = node(d.name);
      dynParts.push(`${d.name}/${d.type}/${d.kind}/${d.ttl}/${d.values.join(',')}/${d.weights?.join(',') ?? ''}`);
      if (d.kind === 'servfail') n.servfail = d.type;
      if (d.kind !== 'values' || d.values.length === 0) continue;
      const rdata: RData[] = d.values.map((v) => (d.type === 'CNAME' ? { type: 'CNAME', target: v } : d.type === 'A' ? { type: 'A', address: v } : { type: 'AAAA', address: v }));
      n.rrsets.set(d.type, { name: d.name, type: d.type, ttl: d.ttl, rdata, weights: d.weights });
    }
    const cuts = new Set<string>();
    for (const n of nodes.values()) if (n.name !== zf.origin && n.rrsets.has('NS')) cuts.add(n.name);
    const fingerprint = `${soa.serial}|${staticFingerprint(zf)}|${dynParts.sort().join(';')}`;
    const before = prev?.zones.find((z) => z.origin === zf.origin);
    let serial: number;
    if (before && before.fingerprint === fingerprint) serial = before.serial;
    else if (before) serial = nextSerial(before.serial, soa.serial);
    else {
      const floor = floorSerials?.get(zf.origin);
      serial = floor === undefined ? soa.serial : nextSerial(floor, soa.serial);
    }
    views.push({ origin: zf.origin, serial, soaTtl, soa: { ...soa, serial }, nodes, cuts, fingerprint });
  }
  views.sort((a, b) => b.origin.length - a.origin.length);
  return { version: (prev?.version ?? 0) + 1, zones: views };
}

const staticPrints = new WeakMap<ZoneFile, string>();
function staticFingerprint(zf: ZoneFile): string {
  let p = staticPrints.get(zf);
  if (p === undefined) {
    p = String(hash(JSON.stringify(zf.records.map((r) => [r.name, r.ttl, r.data]))));
    staticPrints.set(zf, p);
  }
  return p;
}

function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}
