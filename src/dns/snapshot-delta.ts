/**
 * What changed between two snapshots, small enough to push to UDP workers
 * at every answer change: per zone, its SOA and serial, the delegation
 * points, and only the nodes that differ. With 10,000 record sets a whole
 * snapshot takes hundreds of milliseconds to clone over IPC; one changed
 * record set is a few hundred bytes.
 *
 * Nodes are compared cheaply: buildSnapshot reuses the zone file's RDATA
 * objects for static data, so most records are the same object; dynamic
 * records are compared field by field (their fields are primitives).
 * When both snapshots share their static layer (LayeredNodes, the usual
 * case: only answers changed), only the dynamic layers are compared, so a
 * delta costs what the dynamic data costs, not what the zone costs.
 */
import { LayeredNodes, namesChangedSince, sameTopology, type RRset, type Snapshot, type ZoneNode, type ZoneView } from '../records/snapshot.ts';

export interface ZoneDelta {
  origin: string;
  serial: number;
  soaTtl: number;
  soa: ZoneView['soa'];
  cuts: string[];
  /** name → the new node, or null when the name no longer exists. */
  changed: Array<[string, ZoneNode | null]>;
}

export interface SnapshotDelta {
  /** The version this delta applies to. */
  from: number;
  version: number;
  /** Every zone, in the snapshot's order. */
  zones: ZoneDelta[];
}

/** The delta from `prev` to `next`, or undefined when the zones themselves differ (send it whole). */
export function snapshotDelta(prev: Snapshot, next: Snapshot): SnapshotDelta | undefined {
  if (prev.zones.length !== next.zones.length) return undefined;
  const zones: ZoneDelta[] = [];
  for (let i = 0; i < next.zones.length; i++) {
    const a = prev.zones[i]!;
    const b = next.zones[i]!;
    if (a.origin !== b.origin) return undefined;
    const changed: Array<[string, ZoneNode | null]> = [];
    const rebuilt = namesChangedSince(a, b);
    if (rebuilt && b.nodes instanceof LayeredNodes) {
      // b was built from a by making these names again: every other node is a's.
      for (const name of rebuilt) changed.push([name, b.nodes.get(name) ?? null]);
    } else if (a.nodes instanceof LayeredNodes && b.nodes instanceof LayeredNodes && a.nodes.base === b.nodes.base) {
      for (const [name, node] of b.nodes.top) {
        const old = a.nodes.get(name);
        if (!old || !sameNode(old, node)) changed.push([name, node]);
      }
      for (const name of a.nodes.top.keys()) if (!b.nodes.top.has(name)) changed.push([name, b.nodes.base.get(name) ?? null]);
    } else {
      for (const [name, node] of b.nodes) {
        const old = a.nodes.get(name);
        if (!old || !sameNode(old, node)) changed.push([name, node]);
      }
      for (const name of a.nodes.keys()) if (!b.nodes.has(name)) changed.push([name, null]);
    }
    zones.push({ origin: b.origin, serial: b.serial, soaTtl: b.soaTtl, soa: b.soa, cuts: [...b.cuts], changed });
  }
  return { from: prev.version, version: next.version, zones };
}

/**
 * `prev` with `delta` applied, as a new snapshot. The fingerprint is not
 * carried (it lists every dynamic answer: as big as the data); the result
 * has "" there, which only matters to code that builds snapshots from it,
 * and workers never do.
 *
 * inPlace: reuse prev's node maps instead of copying them (copying 10,000
 * nodes costs milliseconds). Only for an owner that answers synchronously
 * and drops prev at once, as a UDP worker does: no query can see a half
 * update, since the whole delta is applied in one synchronous step.
 */
export function applyDelta(prev: Snapshot, delta: SnapshotDelta, inPlace = false): Snapshot {
  const zones: ZoneView[] = delta.zones.map((d, i) => {
    const old = prev.zones[i]!;
    let nodes = old.nodes;
    if (d.changed.length > 0 && nodes instanceof LayeredNodes) {
      // Changes go to the dynamic layer; a node equal to the static one (the
      // same object: a dynamic answer went away) uncovers it again.
      const layered: LayeredNodes = inPlace ? nodes : new LayeredNodes(nodes.base, new Map(nodes.top));
      for (const [name, node] of d.changed) {
        if (node && node !== layered.base.get(name)) layered.top.set(name, node);
        else layered.top.delete(name);
      }
      nodes = layered;
    } else if (d.changed.length > 0) {
      const plain = inPlace ? (nodes as Map<string, ZoneNode>) : new Map(nodes);
      for (const [name, node] of d.changed) {
        if (node) plain.set(name, node);
        else plain.delete(name);
      }
      nodes = plain;
    }
    return { origin: d.origin, serial: d.serial, soaTtl: d.soaTtl, soa: d.soa, fingerprint: '', cuts: new Set(d.cuts), nodes };
  });
  return { version: delta.version, zones };
}

function sameNode(a: ZoneNode, b: ZoneNode): boolean {
  if (a === b) return true;
  if (a.servfail !== b.servfail || a.rrsets.size !== b.rrsets.size) return false;
  // Policy topology: a client map or a site list's answer changed (a reload, a failover of a site only some clients get).
  if (!sameTopology(a.topology, b.topology) || a.topology?.type !== b.topology?.type) return false;
  for (const [type, set] of b.rrsets) {
    const old = a.rrsets.get(type);
    if (!old || !sameSet(old, set)) return false;
  }
  return true;
}

function sameSet(a: RRset, b: RRset): boolean {
  if (a.ttl !== b.ttl || a.name !== b.name || a.rdata.length !== b.rdata.length) return false;
  if (a.weights !== b.weights) {
    if (!a.weights || !b.weights || a.weights.length !== b.weights.length) return false;
    for (let i = 0; i < a.weights.length; i++) if (a.weights[i] !== b.weights[i]) return false;
  }
  for (let i = 0; i < a.rdata.length; i++) {
    const x = a.rdata[i]!;
    const y = b.rdata[i]!;
    if (x === y) continue;
    if (x.type !== y.type) return false;
    // The dynamic types first, without the generic walk.
    if (x.type === 'A' || x.type === 'AAAA') {
      if (x.address !== (y as typeof x).address) return false;
      continue;
    }
    if (x.type === 'CNAME') {
      if (x.target !== (y as typeof x).target) return false;
      continue;
    }
    // Field by field; Buffers (TXT, CAA) are compared by identity, so a
    // rebuilt one counts as changed (harmless: it is just sent again).
    const xo = x as unknown as Record<string, unknown>;
    const yo = y as unknown as Record<string, unknown>;
    const keys = Object.keys(xo);
    if (keys.length !== Object.keys(yo).length) return false;
    for (const k of keys) if (xo[k] !== yo[k]) return false;
  }
  return true;
}
