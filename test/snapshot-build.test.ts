/**
 * buildSnapshot builds a zone's static data once and, from a previous
 * snapshot, only the names whose answers changed; what it serves must be
 * exactly what a fresh build serves, and the serial must move once per
 * change and never without one.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildSnapshot, type DynamicRRset, type Snapshot, type ZoneNode } from '../src/records/snapshot.ts';
import { parseZoneText } from '../src/zones/parse.ts';
import { exampleZone } from './helpers/dns-fixture.ts';

/** Every name with its rrsets and servfail mark, sorted: what the snapshot serves. */
function served(s: Snapshot): unknown {
  return s.zones.map((z) => ({
    origin: z.origin,
    cuts: [...z.cuts].sort(),
    nodes: [...z.nodes.entries()]
      .map(([name, n]: [string, ZoneNode]) => [name, n.servfail ?? null, [...n.rrsets.entries()].sort((a, b) => a[0].localeCompare(b[0]))])
      .sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
  }));
}

/** A small deterministic random source. */
function lcg(seed: number): () => number {
  let x = seed >>> 0;
  return () => ((x = (Math.imul(x, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

// Dynamic names beside static data, on a static name (static has A), under
// an empty non-terminal (a.b.ent exists), creating new ones (deep.new), and
// two types at one name.
const SETS: Array<Pick<DynamicRRset, 'name' | 'type'>> = [
  { name: 'www.example.test', type: 'A' },
  { name: 'www.example.test', type: 'AAAA' },
  { name: 'sip.example.test', type: 'AAAA' },
  { name: 'x.b.ent.example.test', type: 'A' },
  { name: 'a.deep.new.example.test', type: 'CNAME' },
  { name: 'api.example.test', type: 'A' },
];

function answer(set: Pick<DynamicRRset, 'name' | 'type'>, r: () => number): DynamicRRset {
  const k = Math.floor(r() * 5);
  if (k === 0) return { ...set, ttl: 30, kind: 'nodata', values: [] };
  if (k === 1) return { ...set, ttl: 30, kind: 'servfail', values: [] };
  const value = (i: number) => (set.type === 'A' ? `127.0.0.${i}` : set.type === 'AAAA' ? `::${i}` : `t${i}.example.net`);
  const n = set.type === 'CNAME' ? 1 : 1 + Math.floor(r() * 2);
  const values = Array.from({ length: n }, (_, i) => value(1 + i + Math.floor(r() * 3)));
  return { ...set, ttl: k === 2 ? 30 : 5, kind: 'values', values, ...(k === 4 && n > 1 ? { weights: values.map(() => 1 + Math.floor(r() * 3)) } : {}) };
}

test('snapshot: built from the previous one, it serves exactly what a fresh build serves; the serial moves once per change', () => {
  const zones = [exampleZone(), parseZoneText('$ORIGIN sub.example.test.\n@ 300 SOA ns host 7 3600 600 86400 300\n@ NS ns\nns A 127.0.0.60\nin-child A 127.0.0.61\n', { file: 'sub.zone' })];
  const r = lcg(42);
  let dynamic = SETS.map((s) => answer(s, r));
  dynamic.push({ name: 'api.sub.example.test', type: 'A', ttl: 30, kind: 'values', values: ['127.0.0.9'] });
  let snap = buildSnapshot(zones, dynamic);
  for (let step = 0; step < 300; step++) {
    const next = dynamic.map((d, i) => (i < SETS.length && r() < 0.3 ? answer(SETS[i]!, r) : d));
    const built = buildSnapshot(zones, next, snap);
    assert.deepEqual(served(built), served(buildSnapshot(zones, next)), `step ${step}`);
    const changed = JSON.stringify(next) !== JSON.stringify(dynamic);
    const parent = (s: Snapshot) => s.zones.find((z) => z.origin === 'example.test')!.serial;
    assert.equal(parent(built), changed ? parent(snap) + 1 : parent(snap), `step ${step}: serial`);
    assert.equal(built.zones.find((z) => z.origin === 'sub.example.test')!.serial, 7, 'the child zone did not change');
    snap = built;
    dynamic = next;
  }
});

test('snapshot: static data is built once per zone file, not at every answer change', () => {
  const zones = [exampleZone()];
  const www = (v: string): DynamicRRset[] => [{ name: 'www.example.test', type: 'A', ttl: 30, kind: 'values', values: [v] }];
  const a = buildSnapshot(zones, www('127.0.0.1'));
  const b = buildSnapshot(zones, www('127.0.0.2'), a);
  const node = (s: Snapshot, name: string) => s.zones[0]!.nodes.get(name);
  assert.ok(node(a, 'static.example.test'), 'static name served');
  assert.equal(node(b, 'static.example.test'), node(a, 'static.example.test'), 'the static node is shared, not rebuilt');
  assert.notEqual(node(b, 'www.example.test'), node(a, 'www.example.test'), 'the changed name is rebuilt');
  // A reload (a new parse of the same file) builds it again, and keeps the serial (same data).
  const c = buildSnapshot([exampleZone()], www('127.0.0.2'), b);
  assert.notEqual(node(c, 'static.example.test'), node(b, 'static.example.test'));
  assert.equal(c.zones[0]!.serial, b.zones[0]!.serial);
});

test('snapshot: given serials (a cluster leader\'s) are served as given; a baseline built from them keeps its serial while the data stays', () => {
  const zones = [exampleZone()];
  const www = (v: string): DynamicRRset[] => [{ name: 'www.example.test', type: 'A', ttl: 30, kind: 'values', values: [v] }];
  const given = new Map([['example.test', 2026120050]]);
  const baseline = buildSnapshot(zones, www('127.0.0.1'), undefined, undefined, given);
  assert.equal(baseline.zones[0]!.serial, 2026120050);
  assert.equal(baseline.zones[0]!.soa.serial, 2026120050);
  // A new leader's first build from that baseline: same data, same serial; a change moves it by one.
  assert.equal(buildSnapshot(zones, www('127.0.0.1'), baseline).zones[0]!.serial, 2026120050);
  assert.equal(buildSnapshot(zones, www('127.0.0.2'), baseline).zones[0]!.serial, 2026120051);
  // Given serials win over prev and floor (a follower serves exactly the leader's serial, even a lower one).
  const lower = buildSnapshot(zones, www('127.0.0.2'), baseline, new Map([['example.test', 9000]]), new Map([['example.test', 17]]));
  assert.equal(lower.zones[0]!.serial, 17);
});
