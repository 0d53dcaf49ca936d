/**
 * Random zones and queries from a seed, for the differential test against
 * NSD and Knot (test/dns-differential.test.ts). The zones are valid for all
 * three servers: a CNAME owns nothing else and has no names below it, only
 * glue (A/AAAA) lies below a delegation, every RRset has one TTL and no
 * duplicate records.
 *
 * What they hold: a parent zone and its child served together (the parent
 * delegates to it), apex NS with in-zone and out-of-zone servers,
 * delegations at depth 1 and 2 (below empty non-terminals, beside
 * wildcards, with and without glue), data at depth 1 to 3 (so empty
 * non-terminals), wildcards at the apex and deeper (some with a CNAME,
 * some with names beside and below their parent), CNAME chains ending at
 * data, at nothing, at a wildcard, at a delegation, at the child's apex or
 * out of every zone, CNAME loops, MX and SRV targets with and without
 * addresses, long TXT records and big RRsets (truncation). About a third
 * of the A/AAAA/CNAME sets are also handed out as dynamic record sets, which
 * failoverd serves from its failover stage instead of the zone file.
 */
import { buildQuery } from './raw-dns.ts';

/** mulberry32: a small, fast PRNG with a 32-bit state; the same seed gives the same run. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class Dice {
  constructor(readonly next: () => number) {}
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)]!;
  }
  /** Picks by weight: [[value, weight], ...]. */
  weighted<T>(xs: ReadonlyArray<readonly [T, number]>): T {
    let total = 0;
    for (const [, w] of xs) total += w;
    let r = this.next() * total;
    for (const [v, w] of xs) if ((r -= w) < 0) return v;
    return xs[xs.length - 1]![0];
  }
}

const LABELS = ['a', 'b', 'c', 'd', 'www', 'mail', 'x', 'y', 'api', 'n1', 'n2', 'deep'];
const TTLS = [60, 300, 3600];

interface GenRRset {
  ttl: number;
  rdata: string[];
}

/** One zone under construction: owners → type → RRset, with the rules above enforced. */
class ZoneBuilder {
  readonly rrsets = new Map<string, Map<string, GenRRset>>();
  readonly cuts = new Set<string>();
  readonly cnames = new Set<string>();
  readonly wildcards: string[] = [];
  /** Names with an A or AAAA RRset. */
  readonly addressed: string[] = [];
  soa = '';

  constructor(
    readonly origin: string,
    private readonly dice: Dice,
  ) {}

  name(rel: string): string {
    return rel === '' ? this.origin : `${rel}.${this.origin}`;
  }

  /** Every existing name: owners and their ancestors up to the apex (empty non-terminals). */
  existing(): Set<string> {
    const out = new Set<string>([this.origin]);
    for (const owner of this.rrsets.keys()) {
      for (let n = owner; n.length > this.origin.length; n = n.slice(n.indexOf('.') + 1)) out.add(n);
    }
    return out;
  }

  private ancestorsOrSelf(name: string): string[] {
    const out: string[] = [];
    for (let n = name; n.length >= this.origin.length; n = n.slice(n.indexOf('.') + 1)) {
      out.push(n);
      if (n === this.origin) break;
    }
    return out;
  }

  /** True when `name` may own an RRset of `type` without breaking the rules. */
  canOwn(name: string, type: string, glue = false): boolean {
    const anc = this.ancestorsOrSelf(name);
    // Nothing below a CNAME; nothing beside one.
    if (anc.slice(1).some((n) => this.cnames.has(n))) return false;
    if (this.cnames.has(name)) return false;
    const below = anc.slice(1).some((n) => this.cuts.has(n));
    if (below && !(glue && (type === 'A' || type === 'AAAA'))) return false;
    if (this.cuts.has(name) && type !== 'NS') return false;
    if (type === 'CNAME' && (this.rrsets.has(name) || this.existing().has(name))) return false;
    if (type === 'NS' && name !== this.origin) {
      // A new cut: nothing may exist below it yet.
      for (const owner of this.rrsets.keys()) if (owner !== name && owner.endsWith(`.${name}`)) return false;
      if (this.rrsets.get(name)?.size) return false;
    }
    return true;
  }

  add(name: string, type: string, rdata: string, ttl?: number): void {
    let byType = this.rrsets.get(name);
    if (!byType) this.rrsets.set(name, (byType = new Map()));
    let set = byType.get(type);
    if (!set) byType.set(type, (set = { ttl: ttl ?? this.dice.pick(TTLS), rdata: [] }));
    if (!set.rdata.includes(rdata)) set.rdata.push(rdata);
    if (type === 'NS' && name !== this.origin) this.cuts.add(name);
    if (type === 'CNAME') this.cnames.add(name);
    if ((type === 'A' || type === 'AAAA') && !this.addressed.includes(name)) this.addressed.push(name);
    if (name.startsWith('*.') && !this.wildcards.includes(name)) this.wildcards.push(name);
  }

  /** The master file, without the RRsets in `skip` ("owner/type"). */
  render(skip: ReadonlySet<string> = new Set()): string {
    const lines = [`$ORIGIN ${this.origin}.`, `${this.origin}. ${this.soa}`];
    for (const [owner, byType] of this.rrsets) {
      for (const [type, set] of byType) {
        if (skip.has(`${owner}/${type}`)) continue;
        for (const r of set.rdata) lines.push(`${owner}. ${set.ttl} IN ${type} ${r}`);
      }
    }
    return lines.join('\n') + '\n';
  }
}

export interface GeneratedZone {
  origin: string;
  /** The whole zone, as NSD and Knot serve it. */
  text: string;
  /** The zone without `dynamic`: failoverd serves those as failover answers. */
  staticText: string;
  /** A, AAAA and CNAME RRsets failoverd serves as dynamic record sets (values without the trailing dot). */
  dynamic: Array<{ name: string; type: 'A' | 'AAAA' | 'CNAME'; ttl: number; values: string[] }>;
}

export interface Generated {
  zones: GeneratedZone[];
  /** Names worth asking about: every existing name, wildcard matches, names below cuts, misses. */
  names: string[];
}

/** A parent zone and its child (and, sometimes, the child's own child), from the dice. */
export function generateZones(dice: Dice): Generated {
  const parent = 'diff.test';
  const kid = `kid.${parent}`;
  const grandkid = dice.chance(0.4) ? `g.${kid}` : undefined;
  const origins = [parent, kid, ...(grandkid ? [grandkid] : [])];
  const builders = origins.map((o) => new ZoneBuilder(o, dice));
  const [p, k, g] = builders as [ZoneBuilder, ZoneBuilder, ZoneBuilder | undefined];
  // Delegations to the served children first (nothing may be below a cut).
  delegate(p, kid);
  if (g) delegate(k, grandkid!);
  builders.forEach((b, i) => fill(b, dice, builders, i === 0 ? 1 : 0.5));
  const names = new Set<string>();
  for (const b of builders) {
    for (const n of b.existing()) names.add(n);
    for (const w of b.wildcards) {
      const base = w.slice(2);
      names.add(`q${dice.int(0, 99)}.${base}`);
      names.add(`a.q${dice.int(0, 99)}.${base}`);
    }
    for (const c of b.cuts) {
      names.add(`below.${c}`);
      names.add(`ns.${c}`);
    }
    names.add(b.name('nx'));
    names.add(b.name('nx.nx'));
    for (let i = 0; i < 6; i++) names.add(randomName(dice, b.origin, dice.int(1, 4)));
  }
  for (const n of ['elsewhere.invalid', 'test', 'diff', '', `www.other-${dice.int(0, 9)}.test`]) names.add(n);
  return { zones: builders.map((b) => withDynamic(b, dice)), names: [...names] };
}

/**
 * About a third of the A, AAAA and CNAME RRsets (not wildcards, not glue
 * below a cut) become dynamic: failoverd gets them as failover answers on
 * top of the static zone, the way its record sets reach the snapshot.
 */
function withDynamic(b: ZoneBuilder, dice: Dice): GeneratedZone {
  const dynamic: GeneratedZone['dynamic'] = [];
  const skip = new Set<string>();
  for (const [owner, byType] of b.rrsets) {
    if (owner.startsWith('*.') || [...b.cuts].some((c) => owner === c || owner.endsWith(`.${c}`))) continue;
    for (const [type, set] of byType) {
      if ((type !== 'A' && type !== 'AAAA' && type !== 'CNAME') || !dice.chance(0.35)) continue;
      dynamic.push({ name: owner, type, ttl: set.ttl, values: set.rdata.map((r) => r.replace(/\.$/, '')) });
      skip.add(`${owner}/${type}`);
    }
  }
  return { origin: b.origin, text: b.render(), staticText: b.render(skip), dynamic };
}

function delegate(parent: ZoneBuilder, child: string): void {
  parent.add(child, 'NS', `ns1.${child}.`, 3600);
  parent.add(`ns1.${child}`, 'A', `127.0.${parent.origin.length}.61`, 3600);
}

function randomName(dice: Dice, origin: string, depth: number): string {
  const labels: string[] = [];
  for (let i = 0; i < depth; i++) labels.push(dice.pick(LABELS));
  return `${labels.join('.')}.${origin}`;
}

/** A random name inside `b` that may own `type`, or undefined after a few tries. */
function freeName(b: ZoneBuilder, dice: Dice, type: string, depth: [number, number] = [1, 3]): string | undefined {
  for (let i = 0; i < 20; i++) {
    const n = randomName(dice, b.origin, dice.int(depth[0], depth[1]));
    if (b.canOwn(n, type)) return n;
  }
  return undefined;
}

function address(dice: Dice): string {
  return `127.${dice.int(0, 255)}.${dice.int(0, 255)}.${dice.int(1, 254)}`;
}
function address6(dice: Dice): string {
  return `2001:db8::${dice.int(1, 0xffff).toString(16)}`;
}

function txt(dice: Dice): string {
  const len = dice.weighted([
    [dice.int(1, 20), 6],
    [dice.int(100, 254), 2],
    [dice.int(256, 600), 1],
  ] as const);
  let s = '';
  for (let i = 0; i < len; i++) s += String.fromCharCode(97 + dice.int(0, 25));
  // Character-strings of at most 255 octets, as every server wants them.
  const parts: string[] = [];
  for (let i = 0; i < s.length; i += 255) parts.push(`"${s.slice(i, i + 255)}"`);
  return parts.join(' ');
}

/** Names an MX, SRV or CNAME may point at: with addresses, without, missing, elsewhere. */
function target(b: ZoneBuilder, dice: Dice, all: ZoneBuilder[]): string {
  const other = dice.pick(all);
  const kind = dice.weighted([
    ['addressed', 5],
    ['existing', 2],
    ['missing', 2],
    ['wildcard', 1],
    ['cut', 1],
    ['apex', 1],
    ['outside', 1],
  ] as const);
  switch (kind) {
    case 'addressed':
      return other.addressed.length ? dice.pick(other.addressed) : other.name('nx');
    case 'existing':
      return dice.pick([...other.existing()]);
    case 'missing':
      return other.name(`gone${dice.int(0, 9)}`);
    case 'wildcard':
      return other.wildcards.length ? `m${dice.int(0, 9)}.${dice.pick(other.wildcards).slice(2)}` : other.name('nx');
    case 'cut':
      return other.cuts.size ? dice.pick([...other.cuts]) : other.origin;
    case 'apex':
      return other.origin;
    case 'outside':
      return `t${dice.int(0, 9)}.elsewhere.invalid`;
  }
}

function fill(b: ZoneBuilder, dice: Dice, all: ZoneBuilder[], scale: number): void {
  const o = b.origin;
  b.soa = `${dice.pick(TTLS)} IN SOA ns1.${o}. hostmaster.${o}. ${dice.int(1, 100000)} 3600 600 1209600 ${dice.pick([30, 300, 3600])}`;
  // Apex NS: in-zone servers with addresses, sometimes one out of zone.
  const nsTtl = dice.pick(TTLS);
  b.add(o, 'NS', `ns1.${o}.`, nsTtl);
  b.add(`ns1.${o}`, 'A', address(dice));
  if (dice.chance(0.5)) {
    b.add(o, 'NS', `ns2.${o}.`, nsTtl);
    b.add(`ns2.${o}`, 'A', address(dice));
    b.add(`ns2.${o}`, 'AAAA', address6(dice));
  }
  if (dice.chance(0.3)) b.add(o, 'NS', 'ns.elsewhere.invalid.', nsTtl);
  if (dice.chance(0.4)) b.add(o, 'MX', `10 mail.${o}.`);
  if (dice.chance(0.3)) b.add(o, 'TXT', txt(dice));

  // Delegations before other data: at depth 1 or 2 (below an empty non-terminal).
  for (let i = dice.int(1, Math.round(3 * scale)); i > 0; i--) {
    const cut = freeName(b, dice, 'NS', [1, 2]);
    if (!cut) continue;
    const nsTtl = dice.pick(TTLS);
    const how = dice.weighted([
      ['glue', 3],
      ['outside', 1],
      ['sibling', 1],
    ] as const);
    if (how === 'glue') {
      b.add(cut, 'NS', `ns.${cut}.`, nsTtl);
      b.add(`ns.${cut}`, 'A', address(dice));
      if (dice.chance(0.3)) b.add(`ns.${cut}`, 'AAAA', address6(dice));
    } else if (how === 'outside') b.add(cut, 'NS', `ns${i}.elsewhere.invalid.`, nsTtl);
    else b.add(cut, 'NS', `ns1.${o}.`, nsTtl);
    if (dice.chance(0.3)) b.add(cut, 'NS', `ns.elsewhere.invalid.`, nsTtl);
  }

  // Data at depth 1 to 3.
  for (let i = dice.int(6, Math.round(14 * scale)); i > 0; i--) {
    const type = dice.weighted([
      ['A', 6],
      ['AAAA', 3],
      ['TXT', 3],
      ['MX', 2],
      ['SRV', 1],
      ['CAA', 1],
      ['PTR', 1],
    ] as const);
    const name = freeName(b, dice, type);
    if (!name) continue;
    addData(b, dice, name, type, all);
    if (dice.chance(0.4)) {
      const more = dice.pick(['A', 'AAAA', 'TXT', 'MX'] as const);
      if (b.canOwn(name, more)) addData(b, dice, name, more, all);
    }
  }
  if (dice.chance(0.6)) {
    const name = freeName(b, dice, 'A', [1, 1]);
    if (name) for (let i = dice.int(25, 70); i > 0; i--) b.add(name, 'A', address(dice), 300);
  }

  // Wildcards: at the apex sometimes, else below a name (existing or not).
  for (let i = dice.int(1, Math.round(3 * scale)); i > 0; i--) {
    const base = dice.chance(0.15) ? o : randomName(dice, o, dice.int(1, 2));
    const w = `*.${base}`;
    const type = dice.weighted([
      ['A', 4],
      ['CNAME', 2],
      ['TXT', 1],
      ['MX', 1],
      ['AAAA', 1],
    ] as const);
    if (!b.canOwn(w, type)) continue;
    addData(b, dice, w, type, all);
    // Names beside the wildcard, and one further below its parent (a closer encloser).
    if (dice.chance(0.5)) {
      const side = `${dice.pick(LABELS)}.${base}`;
      if (b.canOwn(side, 'A')) b.add(side, 'A', address(dice));
    }
    if (dice.chance(0.4)) {
      const deep = `${dice.pick(LABELS)}.${dice.pick(LABELS)}.${base}`;
      if (b.canOwn(deep, 'TXT')) b.add(deep, 'TXT', txt(dice));
    }
  }

  // CNAME chains of 1 to 4 links, then loops.
  for (let i = dice.int(2, Math.round(5 * scale)); i > 0; i--) {
    const len = dice.int(1, 4);
    const chain: string[] = [];
    for (let j = 0; j < len; j++) {
      const n = freeName(b, dice, 'CNAME', [1, 2]);
      if (n && !chain.includes(n)) chain.push(n);
    }
    if (chain.length === 0) continue;
    const end = target(b, dice, all);
    chain.forEach((n, j) => {
      if (b.canOwn(n, 'CNAME')) b.add(n, 'CNAME', `${chain[j + 1] ?? end}.`);
    });
  }
  if (dice.chance(0.6)) {
    const x = freeName(b, dice, 'CNAME', [1, 1]);
    const y = freeName(b, dice, 'CNAME', [1, 1]);
    if (x && y && x !== y) {
      b.add(x, 'CNAME', `${y}.`);
      if (b.canOwn(y, 'CNAME')) b.add(y, 'CNAME', `${x}.`);
    }
  }
  if (dice.chance(0.3)) {
    const self = freeName(b, dice, 'CNAME', [1, 1]);
    if (self) b.add(self, 'CNAME', `${self}.`);
  }
}

function addData(b: ZoneBuilder, dice: Dice, name: string, type: 'A' | 'AAAA' | 'TXT' | 'MX' | 'SRV' | 'CAA' | 'PTR' | 'CNAME', all: ZoneBuilder[]): void {
  const count = dice.weighted([
    [1, 6],
    [2, 2],
    [3, 1],
  ] as const);
  for (let i = 0; i < count; i++) {
    switch (type) {
      case 'A':
        b.add(name, 'A', address(dice));
        break;
      case 'AAAA':
        b.add(name, 'AAAA', address6(dice));
        break;
      case 'TXT':
        b.add(name, 'TXT', txt(dice));
        break;
      case 'MX':
        b.add(name, 'MX', `${dice.int(0, 50)} ${target(b, dice, all)}.`);
        break;
      case 'SRV':
        b.add(name, 'SRV', `${dice.int(0, 20)} ${dice.int(0, 100)} ${dice.int(1, 65535)} ${target(b, dice, all)}.`);
        break;
      case 'CAA':
        b.add(name, 'CAA', `0 issue "ca${dice.int(0, 9)}.example"`);
        break;
      case 'PTR':
        b.add(name, 'PTR', `${target(b, dice, all)}.`);
        break;
      case 'CNAME':
        b.add(name, 'CNAME', `${target(b, dice, all)}.`);
        return;
    }
  }
}

// --- queries ---

export interface DiffQuery {
  name: string;
  qtype: number;
  transport: 'udp' | 'tcp';
  bytes: Buffer;
  /** A readable line for failure reports. */
  text: string;
}

/** Types asked: the ones zones hold, DS, ANY, DNSSEC types and types nobody knows. */
const QTYPES: ReadonlyArray<readonly [number, number]> = [
  [1, 14], // A
  [28, 6], // AAAA
  [5, 4], // CNAME
  [2, 5], // NS
  [6, 4], // SOA
  [15, 5], // MX
  [16, 5], // TXT
  [33, 3], // SRV
  [257, 2], // CAA
  [12, 2], // PTR
  [43, 9], // DS
  [255, 8], // ANY
  [46, 1], // RRSIG
  [48, 1], // DNSKEY
  [47, 1], // NSEC
  [65, 1], // HTTPS (unknown to failoverd's zones)
  [99, 1], // SPF
  [4242, 1], // unassigned
  [65280, 1], // private use
  [0, 1], // reserved
  [41, 1], // OPT as a question
  [128, 1], // meta range
  [253, 1], // MAILB
];

const TYPE_NAMES: Record<number, string> = { 1: 'A', 2: 'NS', 5: 'CNAME', 6: 'SOA', 12: 'PTR', 15: 'MX', 16: 'TXT', 28: 'AAAA', 33: 'SRV', 43: 'DS', 46: 'RRSIG', 47: 'NSEC', 48: 'DNSKEY', 252: 'AXFR', 255: 'ANY', 257: 'CAA' };

/** 0x20: each letter's case flipped at random. */
function mixCase(dice: Dice, name: string): string {
  let out = '';
  for (const c of name) out += dice.chance(0.5) ? c.toUpperCase() : c;
  return out;
}

export function randomQuery(dice: Dice, names: readonly string[], id: number): DiffQuery {
  const name = dice.chance(0.4) ? mixCase(dice, dice.pick(names)) : dice.pick(names);
  const qtype = dice.weighted(QTYPES);
  const transport = dice.chance(0.15) ? 'tcp' : 'udp';
  // RD, and sometimes AD and CD (RFC 6840 §5.7).
  let flags = (dice.chance(0.5) ? 0x0100 : 0) | (dice.chance(0.1) ? 0x0020 : 0) | (dice.chance(0.1) ? 0x0010 : 0);
  const odd: string[] = [];
  // Now and then a header bit a query should not carry (TC, Z, AA), or an opcode other than QUERY.
  if (dice.chance(0.04)) {
    const bit = dice.pick([0x0200, 0x0040, 0x0400] as const);
    flags |= bit;
    odd.push(`bit 0x${bit.toString(16)}`);
  }
  if (dice.chance(0.02)) {
    const opcode = dice.pick([1, 2, 5] as const);
    flags |= opcode << 11;
    odd.push(`opcode ${opcode}`);
  }
  // Class IN mostly; CHAOS, NONE and ANY now and then.
  const qclass = dice.chance(0.05) ? dice.pick([3, 254, 255] as const) : 1;
  if (qclass !== 1) odd.push(`class ${qclass}`);
  let opt: { size: number; do: boolean; version?: number; options?: Buffer } | undefined = dice.chance(0.3) ? undefined : { size: dice.pick([512, 600, 1200, 1232, 1400, 4096]), do: dice.chance(0.3) };
  if (opt && dice.chance(0.03)) {
    opt.version = 1;
    odd.push('EDNS version 1');
  }
  // EDNS options the servers must ignore here: an unassigned code, an empty NSID request (both hide their identity).
  if (opt && dice.chance(0.05)) {
    opt.options = dice.pick([Buffer.from([0xfd, 0xe9, 0, 2, 1, 2]), Buffer.from([0, 3, 0, 0])]);
    odd.push(`EDNS option ${opt.options.readUInt16BE(0)}`);
  }
  const bytes = buildQuery(name, qtype, { id, flags, qclass, opt });
  const text = `${name === '' ? '.' : name} ${TYPE_NAMES[qtype] ?? `TYPE${qtype}`} over ${transport}, flags 0x${flags.toString(16)}, ${opt ? `EDNS ${opt.size}${opt.do ? ' DO' : ''}` : 'no EDNS'}${odd.length ? `; ${odd.join(', ')}` : ''}`;
  return { name, qtype, transport, bytes, text };
}

/** AXFR over UDP of every zone and of a name inside one: NOTIMP from all. */
export function fixedQueries(zones: readonly GeneratedZone[], firstId: number): DiffQuery[] {
  const out: DiffQuery[] = [];
  for (const name of [...zones.map((z) => z.origin), `www.${zones[0]!.origin}`]) {
    out.push({ name, qtype: 252, transport: 'udp', bytes: buildQuery(name, 252, { id: firstId + out.length }), text: `${name} AXFR over udp` });
  }
  return out;
}
