/**
 * The desired RRsets of every served zone, static zone data plus the dynamic
 * failover answers, as one immutable value. The DNS server answers from one
 * snapshot at a time; a new one is built and swapped in whole.
 */
import type { ClientMap } from '../config/client-map.ts';
import type { DynamicType } from '../config/types.ts';
import { nextTurn } from '../clock.ts';
import { isInZone, parentName } from '../dns-model/names.ts';
import { nextSerial } from './serial.ts';
import type { RData, RRType, SoaData, ZoneFile } from '../dns-model/records.ts';

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
  /** Policy topology: the answer of this type depends on the client. */
  topology?: NodeTopology;
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

/** What a dynamic record set answers: values, NODATA or SERVFAIL. */
export interface DynamicAnswer {
  ttl: number;
  kind: 'values' | 'nodata' | 'servfail';
  values: string[];
  weights?: number[];
}

/** A dynamic answer from the failover stage, ready to serve. */
export interface DynamicRRset extends DynamicAnswer {
  name: string;
  type: DynamicType;
  /**
   * Policy topology: the answer of each site list of the client map (the
   * record set's own answer is the default list's, answers[0]), and the
   * tries that give a client's list index and scope.
   */
  topology?: DynamicTopology;
}

/** The client map (client-map.ts: tries, and a MaxMind database's tables) and the answer of each site list. */
export interface DynamicTopology extends ClientMap {
  answers: DynamicAnswer[];
}

/** A name whose `type` answer depends on the client: the node served is nodeForList(node, index). */
export interface NodeTopology extends DynamicTopology {
  type: DynamicType;
}

export function findZone(snapshot: Snapshot, name: string): ZoneView | undefined {
  for (const z of snapshot.zones) if (isInZone(name, z.origin)) return z;
  return undefined;
}

/**
 * A zone's names as two layers: the static zone data (`base`, built once
 * per parsed zone file and shared by every snapshot of it, never changed)
 * under the dynamic answers (`top`: the nodes a dynamic record set touches,
 * copies of their static node where there is one, and their empty-non-
 * terminal ancestors). A snapshot is then as cheap to build as the dynamic
 * data is big, however big the zone; a node in `top` hides the one in
 * `base`.
 */
export class LayeredNodes implements ReadonlyMap<string, ZoneNode> {
  constructor(
    readonly base: ReadonlyMap<string, ZoneNode>,
    readonly top: Map<string, ZoneNode>,
  ) {}

  get size(): number {
    let n = this.base.size;
    for (const k of this.top.keys()) if (!this.base.has(k)) n++;
    return n;
  }

  get(name: string): ZoneNode | undefined {
    return this.top.get(name) ?? this.base.get(name);
  }

  has(name: string): boolean {
    return this.top.has(name) || this.base.has(name);
  }

  *entries(): MapIterator<[string, ZoneNode]> {
    yield* this.top;
    for (const e of this.base) if (!this.top.has(e[0])) yield e;
  }

  *keys(): MapIterator<string> {
    for (const [k] of this.entries()) yield k;
  }

  *values(): MapIterator<ZoneNode> {
    for (const [, v] of this.entries()) yield v;
  }

  forEach(fn: (value: ZoneNode, key: string, map: ReadonlyMap<string, ZoneNode>) => void): void {
    for (const [k, v] of this.entries()) fn(v, k, this);
  }

  [Symbol.iterator](): MapIterator<[string, ZoneNode]> {
    return this.entries();
  }

  /**
   * Structured clone (to a UDP worker) keeps the two Maps but not the
   * class: this makes a received one whole again.
   */
  static revive(nodes: ReadonlyMap<string, ZoneNode>): ReadonlyMap<string, ZoneNode> {
    if (nodes instanceof Map || nodes instanceof LayeredNodes) return nodes;
    const plain = nodes as unknown as { base?: unknown; top?: unknown };
    if (plain.base instanceof Map && plain.top instanceof Map) return new LayeredNodes(plain.base as Map<string, ZoneNode>, plain.top as Map<string, ZoneNode>);
    return nodes;
  }
}

/** A zone file's static data, as served: built once per parsed zone file. */
interface StaticZone {
  nodes: Map<string, ZoneNode>;
  soa: SoaData;
  soaTtl: number;
  cuts: ReadonlySet<string>;
  /** Fingerprint of the zone file's records, to tell whether the serial must move. */
  fingerprint: string;
}

const staticZones = new WeakMap<ZoneFile, StaticZone>();
/** Records built between two yields of a stepped build. */
const STEP = 1024;

function staticZone(zf: ZoneFile): StaticZone {
  const steps = staticZoneSteps(zf);
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/**
 * Builds the static data of these zone files ahead of their first snapshot,
 * letting the event loop run every 1,024 records (a reload of a zone
 * of 200,000 records must not hold the DNS answers meanwhile).
 */
export async function prepareZones(zones: readonly ZoneFile[]): Promise<void> {
  for (const zf of zones) {
    if (staticZones.has(zf)) continue;
    // A yield after the last step too: what follows (the reload applying the config) gets a turn of its own.
    for (const steps = staticZoneSteps(zf); ; ) {
      const done = steps.next().done;
      await nextTurn();
      if (done) break;
    }
  }
}

function* staticZoneSteps(zf: ZoneFile): Generator<void, StaticZone> {
  let sz = staticZones.get(zf);
  if (sz) return sz;
  const nodes = new Map<string, ZoneNode>();
  let soa: SoaData | undefined;
  let soaTtl = 0;
  let n = 0;
  let print = 0x811c9dc5;
  for (const r of zf.records) {
    if (++n % STEP === 0) yield;
    print = hash(JSON.stringify([r.name, r.ttl, r.data]), print);
    if (r.data.type === 'SOA') {
      const { type: _t, ...data } = r.data;
      soa = data;
      soaTtl = r.ttl;
      continue;
    }
    const node = nodeIn(nodes, undefined, zf.origin, r.name);
    const set = node.rrsets.get(r.data.type);
    // RFC 2181 §5.2: one TTL per RRset; the lowest wins.
    if (set) {
      set.rdata.push(r.data);
      set.ttl = Math.min(set.ttl, r.ttl);
    } else node.rrsets.set(r.data.type, { name: r.name, type: r.data.type, ttl: r.ttl, rdata: [r.data] });
  }
  if (!soa) throw new Error(`zone ${zf.origin} has no SOA`);
  const cuts = new Set<string>();
  for (const node of nodes.values()) if (node.name !== zf.origin && node.rrsets.has('NS')) cuts.add(node.name);
  sz = { nodes, soa, soaTtl, cuts, fingerprint: String(print >>> 0) };
  staticZones.set(zf, sz);
  return sz;
}

/**
 * The node `name` in `into`, created (with its ancestors up to the apex, as
 * empty non-terminals) when missing. With a `base`, a name the base has is
 * copied into `into` first (the base is never changed), and an ancestor the
 * base has is not created.
 */
function nodeIn(into: Map<string, ZoneNode>, base: ReadonlyMap<string, ZoneNode> | undefined, origin: string, name: string): ZoneNode {
  let n = into.get(name);
  if (n) return n;
  const shared = base?.get(name);
  n = shared ? { name, rrsets: new Map(shared.rrsets), ...(shared.servfail ? { servfail: shared.servfail } : {}) } : { name, rrsets: new Map() };
  into.set(name, n);
  if (shared) return n;
  // Ancestors up to the apex exist too (empty non-terminals).
  for (let p = name; p !== origin && p !== ''; ) {
    p = parentName(p);
    if (into.has(p) || base?.has(p)) break;
    into.set(p, { name: p, rrsets: new Map() });
  }
  return n;
}

/** What a zone view was built from: its dynamic answers, in order (kept beside it, not in it). */
const builtFrom = new WeakMap<ZoneView, readonly DynamicRRset[]>();

/** A view built from an earlier one by making some names again: that view, and those names. */
const rebuiltFrom = new WeakMap<ZoneView, { from: ZoneView; names: ReadonlySet<string> }>();

/**
 * The names whose node differs between `before` and `after` when `after`
 * was built from `before` by making only those again (every other node is
 * the same object); undefined otherwise (compare them).
 */
export function namesChangedSince(before: ZoneView, after: ZoneView): ReadonlySet<string> | undefined {
  const r = rebuiltFrom.get(after);
  return r?.from === before ? r.names : undefined;
}

/**
 * Builds a snapshot. A zone keeps its serial when its data is unchanged from
 * `prev`; otherwise the serial moves forward. `floorSerials` (from persisted
 * state) keeps serials from going backwards across restarts. `givenSerials`
 * (cluster mode: the leader's serials, which every instance serves) set a
 * zone's serial outright.
 *
 * The static data of a zone file is built once and shared (LayeredNodes).
 * With a `prev` of the same zone files and the same record sets in the same
 * order (every answer change but a reload), only the names whose answers
 * changed are built again; every other node is the previous snapshot's
 * object (so a delta finds them by identity).
 */
export function buildSnapshot(
  zones: readonly ZoneFile[],
  dynamic: readonly DynamicRRset[],
  prev?: Snapshot,
  floorSerials?: ReadonlyMap<string, number>,
  givenSerials?: ReadonlyMap<string, number>,
): Snapshot {
  const views: ZoneView[] = [];
  for (const zf of zones) {
    const { nodes: base, soa, soaTtl, cuts, fingerprint: staticPrint } = staticZone(zf);
    const inner = zones.filter((o) => o !== zf && o.origin.length > zf.origin.length && isInZone(o.origin, zf.origin));
    const mine: DynamicRRset[] = [];
    for (const d of dynamic) {
      if (!isInZone(d.name, zf.origin)) continue;
      if (inner.length > 0 && inner.some((o) => isInZone(d.name, o.origin))) continue;
      mine.push(d);
    }
    const fingerprint = `${soa.serial}|${staticPrint}`;
    const before = prev?.zones.find((z) => z.origin === zf.origin);
    const was = before && builtFrom.get(before);
    const changedNames = was && alignedChanges(was, mine);
    let top: Map<string, ZoneNode>;
    const beforeNodes = before?.nodes;
    const rebuilt = changedNames !== undefined && beforeNodes instanceof LayeredNodes && beforeNodes.base === base;
    if (rebuilt) {
      // Only answers changed: copy the previous dynamic layer, rebuild the changed names.
      top = new Map(beforeNodes.top);
      if (changedNames.size > 0) {
        for (const name of changedNames) top.delete(name);
        for (const d of mine) if (changedNames.has(d.name)) addDynamic(top, base, zf.origin, d);
      }
    } else {
      top = new Map();
      for (const d of mine) addDynamic(top, base, zf.origin, d);
    }
    const dataChanged = !before || !was || before.fingerprint !== fingerprint || (changedNames ? changedNames.size > 0 : !sameByKey(was, mine));
    let serial: number;
    const given = givenSerials?.get(zf.origin);
    if (given !== undefined) serial = given >>> 0;
    else if (before && !dataChanged) serial = before.serial;
    else if (before) serial = nextSerial(before.serial, soa.serial);
    else {
      const floor = floorSerials?.get(zf.origin);
      serial = floor === undefined ? soa.serial : nextSerial(floor, soa.serial);
    }
    const view: ZoneView = { origin: zf.origin, serial, soaTtl, soa: { ...soa, serial }, nodes: new LayeredNodes(base, top), cuts, fingerprint };
    builtFrom.set(view, mine);
    if (rebuilt) rebuiltFrom.set(view, { from: before!, names: changedNames! });
    views.push(view);
  }
  views.sort((a, b) => b.origin.length - a.origin.length);
  return { version: (prev?.version ?? 0) + 1, zones: views };
}

/** With the same record sets in the same order: the names whose answers differ; else undefined. */
function alignedChanges(was: readonly DynamicRRset[], now: readonly DynamicRRset[]): Set<string> | undefined {
  if (was.length !== now.length) return undefined;
  const changed = new Set<string>();
  for (let i = 0; i < now.length; i++) {
    const a = was[i]!;
    const b = now[i]!;
    if (a.name !== b.name || a.type !== b.type) return undefined;
    if (!sameDynamic(a, b)) changed.add(b.name);
  }
  return changed;
}

/** The same answers, in any order. */
function sameByKey(was: readonly DynamicRRset[], now: readonly DynamicRRset[]): boolean {
  if (was.length !== now.length) return false;
  const old = new Map(was.map((d) => [`${d.name}/${d.type}`, d]));
  return now.every((d) => {
    const o = old.get(`${d.name}/${d.type}`);
    return o !== undefined && sameDynamic(o, d);
  });
}

function addDynamic(top: Map<string, ZoneNode>, base: ReadonlyMap<string, ZoneNode>, origin: string, d: DynamicRRset): void {
  const n = nodeIn(top, base, origin, d.name);
  if (d.topology) n.topology = { type: d.type, ...d.topology };
  if (d.kind === 'servfail') n.servfail = d.type;
  const set = dynamicSet(d.name, d.type, d);
  if (set) n.rrsets.set(d.type, set);
}

function dynamicSet(name: string, type: DynamicType, d: DynamicAnswer): RRset | undefined {
  if (d.kind !== 'values' || d.values.length === 0) return undefined;
  const rdata: RData[] = d.values.map((v) => (type === 'CNAME' ? { type: 'CNAME', target: v } : type === 'A' ? { type: 'A', address: v } : { type: 'AAAA', address: v }));
  return { name, type, ttl: d.ttl, rdata, weights: d.weights };
}

const listNodes = new WeakMap<ZoneNode, ZoneNode[]>();

/**
 * Policy topology: the node as a client of site list `index` sees it (the
 * other types of the name as they are), built on first use and kept per
 * node: each (map entry, site state) answer is built once per snapshot.
 */
export function nodeForList(node: ZoneNode, index: number): ZoneNode {
  const t = node.topology;
  const a = t?.answers[index];
  if (!t || !a || index === 0) return node;
  let nodes = listNodes.get(node);
  if (!nodes) listNodes.set(node, (nodes = []));
  let n = nodes[index];
  if (!n) {
    const rrsets = new Map(node.rrsets);
    const set = dynamicSet(node.name, t.type, a);
    if (set) rrsets.set(t.type, set);
    else rrsets.delete(t.type);
    n = { name: node.name, rrsets };
    if (a.kind === 'servfail') n.servfail = t.type;
    else if (node.servfail && node.servfail !== t.type) n.servfail = node.servfail;
    nodes[index] = n;
  }
  return n;
}

function sameDynamic(a: DynamicRRset, b: DynamicRRset): boolean {
  if (a === b) return true;
  return sameAnswer(a, b) && sameTopology(a.topology, b.topology);
}

/** The same client map (tries by identity, the database by id) and the same answer per site list. */
export function sameTopology(a: DynamicTopology | undefined, b: DynamicTopology | undefined): boolean {
  if (a === b) return true;
  if (!a || !b) return false;
  if (a.v4 !== b.v4 || a.v6 !== b.v6 || a.answers.length !== b.answers.length) return false;
  if (!sameGeo(a.geo, b.geo)) return false;
  return a.answers.every((x, i) => sameAnswer(x, b.answers[i]!));
}

function sameGeo(a: ClientMap['geo'], b: ClientMap['geo']): boolean {
  if (a === b) return true;
  if (!a || !b || a.db.id !== b.db.id) return false;
  return JSON.stringify([a.countries, a.continents]) === JSON.stringify([b.countries, b.continents]);
}

function sameAnswer(a: DynamicAnswer, b: DynamicAnswer): boolean {
  if (a.kind !== b.kind || a.ttl !== b.ttl || a.values.length !== b.values.length || (a.weights === undefined) !== (b.weights === undefined)) return false;
  for (let i = 0; i < a.values.length; i++) if (a.values[i] !== b.values[i]) return false;
  if (a.weights && b.weights) {
    if (a.weights.length !== b.weights.length) return false;
    for (let i = 0; i < a.weights.length; i++) if (a.weights[i] !== b.weights[i]) return false;
  }
  return true;
}

function hash(s: string, h = 0x811c9dc5): number {
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}
