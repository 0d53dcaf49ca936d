/**
 * What the RFC 2136 sink publishes and what it reads back: the desired
 * record sets (from decisions), a server's records at the names that
 * matter (ServerView), and the ownership marker.
 *
 * The marker is a TXT RRset at `_failoverd.<name>`, one string per owned
 * type: `heritage=failoverd,owner=<ownerId>,type=<type>,sum=<digest>`. The
 * digest is of the values failoverd last wrote, so a read-back tells a
 * record set failoverd wrote (repairable drift, changed by failoverd) from
 * one somebody edited by hand since (never overwritten).
 */
import { createHash } from 'node:crypto';
import { canonicalIp } from '../config/ip-address.ts';
import type { RData, RRType } from '../dns-model/records.ts';

export interface DesiredRecordSet {
  /** Canonical owner name. */
  name: string;
  type: 'A' | 'AAAA' | 'CNAME';
  ttl: number;
  /** What the embedded server answers now; empty: NODATA (the RRset is deleted). */
  values: string[];
  /** The embedded server answers SERVFAIL (whenAllDown: servfail): the last published values stay. */
  servfail?: boolean;
  /** Every target's address, in config order (a change among them is a failover, not counted by the guard). */
  targets: string[];
}

export interface RRsetView {
  ttl: number;
  data: RData[];
}

export function recordKey(r: { name: string; type: string }): string {
  return `${r.name}/${r.type}`;
}

export function markerName(name: string): string {
  return `_failoverd.${name}`;
}

export function isMarkerName(name: string): boolean {
  return name.startsWith('_failoverd.');
}

/** One value of a record as compared: addresses canonical, names lower case without the trailing dot. */
export function valueOf(d: RData): string {
  switch (d.type) {
    case 'A':
      return d.address;
    case 'AAAA':
      return canonicalIp(d.address);
    case 'CNAME':
    case 'PTR':
      return d.target.toLowerCase().replace(/\.$/, '');
    case 'TXT':
      return d.strings.map((s) => s.toString('latin1')).join('');
    default:
      return JSON.stringify(d);
  }
}

export function toRData(type: DesiredRecordSet['type'], value: string): RData {
  return type === 'CNAME' ? { type, target: value.replace(/\.$/, '') } : { type, address: type === 'AAAA' ? canonicalIp(value) : value };
}

/** The digest of an RRset's values (order and spelling do not matter); "" for no RRset. */
export function valuesSum(type: string, values: readonly string[]): string {
  if (values.length === 0) return '';
  return createHash('sha256').update(`${type}\n${[...values].sort().join('\n')}`).digest('hex').slice(0, 16);
}

export interface MarkerEntry {
  owner: string;
  type: string;
  sum: string;
  /** The TXT string as stored. */
  text: string;
}

export function markerText(owner: string, type: string, sum: string): string {
  return `heritage=failoverd,owner=${owner},type=${type},sum=${sum}`;
}

/** Parses one TXT string of a marker; undefined when it is not a failoverd marker. */
export function parseMarker(text: string): MarkerEntry | undefined {
  const kv = new Map<string, string>();
  for (const part of text.replace(/^"|"$/g, '').split(',')) {
    const i = part.indexOf('=');
    if (i > 0) kv.set(part.slice(0, i).trim(), part.slice(i + 1).trim());
  }
  if (kv.get('heritage') !== 'failoverd' || !kv.get('owner') || !kv.get('type')) return undefined;
  return { owner: kv.get('owner')!, type: kv.get('type')!.toUpperCase(), sum: kv.get('sum') ?? '', text };
}

export function txt(text: string): RData {
  return { type: 'TXT', strings: [Buffer.from(text, 'latin1')] };
}

const KEPT: ReadonlySet<string> = new Set(['A', 'AAAA', 'CNAME', 'TXT']);

/**
 * A server's records at the names failoverd publishes and their markers
 * (nothing else is kept: a big zone costs what failoverd owns), with the
 * serial they were read at.
 */
export class ServerView {
  serial: number | undefined;
  private readonly sets = new Map<string, Map<RRType, RRsetView>>();

  constructor(readonly names: ReadonlySet<string>) {}

  /**
   * Names not (or no longer) published whose records are kept because
   * this owner's marker is there: record sets that left the config, to be
   * deleted (see ownedElsewhere()). Added as they are found; an AXFR keeps them.
   */
  private readonly tracked = new Set<string>();

  /** Every marker (any name: a record set that left the config keeps its marker), and A/AAAA/CNAME/TXT at published or tracked names. */
  keeps(name: string, type: RRType): boolean {
    return KEPT.has(type) && (this.names.has(name) || this.tracked.has(name) || (type === 'TXT' && isMarkerName(name)));
  }

  isTracked(name: string): boolean {
    return this.names.has(name) || this.tracked.has(name);
  }

  track(name: string): void {
    if (!this.names.has(name)) this.tracked.add(name);
  }

  /**
   * The record sets `owner`'s markers name at names no longer published
   * (not among the names this view was made for): what failoverd wrote
   * once and has left the config. A published name is never in it, even
   * before its first decision.
   */
  ownedElsewhere(owner: string): Array<{ name: string; type: string }> {
    const out: Array<{ name: string; type: string }> = [];
    for (const [markerAt, byType] of this.sets) {
      if (!isMarkerName(markerAt) || !byType.has('TXT')) continue;
      const name = markerAt.slice('_failoverd.'.length);
      if (this.names.has(name)) continue;
      for (const m of this.markers(name)) if (m.entry?.owner === owner) out.push({ name, type: m.entry.type });
    }
    return out;
  }

  get(name: string, type: RRType): RRsetView | undefined {
    return this.sets.get(name)?.get(type);
  }

  set(name: string, type: RRType, rrset: RRsetView | undefined): void {
    let byType = this.sets.get(name);
    if (!rrset || rrset.data.length === 0) {
      byType?.delete(type);
      if (byType?.size === 0) this.sets.delete(name);
      return;
    }
    if (!byType) this.sets.set(name, (byType = new Map()));
    byType.set(type, rrset);
  }

  /** Adds one record (IXFR addition, AXFR record); a record already there is not doubled. */
  add(name: string, ttl: number, data: RData): void {
    if (!this.keeps(name, data.type)) return;
    const cur = this.get(name, data.type);
    const v = valueOf(data);
    if (cur?.data.some((d) => valueOf(d) === v)) {
      cur.ttl = ttl;
      return;
    }
    this.set(name, data.type, { ttl, data: [...(cur?.data ?? []), data] });
  }

  /** Removes one record (IXFR deletion). */
  remove(name: string, data: RData): void {
    const cur = this.get(name, data.type);
    if (!cur) return;
    const v = valueOf(data);
    this.set(name, data.type, { ttl: cur.ttl, data: cur.data.filter((d) => valueOf(d) !== v) });
  }

  /** The marker entries at `name`. */
  markers(name: string): Array<{ data: RData; entry: MarkerEntry | undefined }> {
    return (this.get(markerName(name), 'TXT')?.data ?? []).map((data) => ({ data, entry: parseMarker(valueOf(data)) }));
  }

  clear(): void {
    this.sets.clear();
    this.serial = undefined;
  }
}
