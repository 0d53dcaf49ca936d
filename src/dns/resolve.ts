/**
 * The authoritative answer to one question from one snapshot (RFC 1034
 * §4.3.2, RFC 4592 wildcards, RFC 8482 minimal ANY, RFC 4035 §3.1.4.1 DS on
 * the parent side of a cut), shaped like NSD's answers. Pure: no sockets.
 */
import { findZone, nodeForList, type NodeTopology, type RRset, type Snapshot, type ZoneNode, type ZoneView } from '../records/snapshot.ts';
import { isInZone, parentName } from '../dns-model/names.ts';
import { RR_TYPE_BY_CODE, type RData, type RRType } from '../dns-model/records.ts';
import { CLASS_ANY, CLASS_IN, QTYPE_ANY, RCODE, TYPE_DS } from './wire/constants.ts';

export interface AnswerRR {
  owner: string;
  ttl: number;
  data: RData;
}

export interface Resolution {
  /** EDNS Client Subnet SCOPE PREFIX-LENGTH: set by the caller when the answer depended on the client (policy topology). */
  scope?: number;
  rcode: number;
  aa: boolean;
  answer: AnswerRR[];
  authority: AnswerRR[];
  additional: AnswerRR[];
}

/** Picks the index of one record of a weighted RRset. */
export type WeightedPicker = (weights: readonly number[]) => number;

/**
 * Policy topology: the site list index of the client for a name whose
 * answer depends on it (NodeTopology). Without one, every name answers as
 * for a client in no mapped network (the default list).
 */
export type ListChooser = (topology: NodeTopology) => number;

const MAX_CNAME_CHAIN = 8;
/**
 * RFC 8482 §4.1: ANY is answered with one RRset: the one of the lowest type
 * code, as Knot picks it (NSD picks by its storage order; at the apex both
 * give one set, failoverd the SOA as NSD).
 */
const ANY_ORDER: RRType[] = ['A', 'NS', 'CNAME', 'PTR', 'MX', 'TXT', 'AAAA', 'SRV', 'CAA'];

/**
 * @param qname the question name as asked (case kept, no trailing dot);
 *              answers are owned by it so the question's case is echoed.
 * @param qclass IN, or ANY (255): then the IN data as NSD gives it: AA clear
 *              (no server is authoritative for every class) except on a
 *              referral reached through a CNAME, no apex NS beside a
 *              positive answer, no SOA beside a negative one.
 */
export function resolveQuestion(snap: Snapshot, qname: string, qtype: number, pick: WeightedPicker, qclass = CLASS_IN, choose?: ListChooser): Resolution {
  if (qclass !== CLASS_ANY) return resolveIn(snap, qname, qtype, pick, true, choose);
  const res = resolveIn(snap, qname, qtype, pick, false, choose);
  const referral = res.authority.some((r) => r.data.type === 'NS');
  return { ...res, aa: res.aa && referral, authority: res.authority.filter((r) => r.data.type !== 'SOA') };
}

function resolveIn(snap: Snapshot, qname: string, qtype: number, pick: WeightedPicker, withApexNs: boolean, choose: ListChooser | undefined): Resolution {
  const res: Resolution = { rcode: RCODE.NOERROR, aa: true, answer: [], authority: [], additional: [] };
  let zone = zoneFor(snap, qname.toLowerCase(), qtype);
  if (!zone) return { ...res, rcode: RCODE.REFUSED, aa: false };

  let owner = qname;
  /** Owners of the CNAMEs in the answer (see the loop rule below). */
  const cnamed = new Set<string>();
  for (let hop = 0; hop <= MAX_CNAME_CHAIN; hop++) {
    const lower = owner.toLowerCase();
    const cut = findCut(zone, lower);
    // DS at the cut itself lives on the parent side: answered from this zone below.
    if (cut && !(qtype === TYPE_DS && cut === lower)) {
      const ns = zone.nodes.get(cut)!.rrsets.get('NS')!;
      if (res.answer.length === 0) res.aa = false;
      pushSet(res.authority, ns, ns.name, pick);
      addAddresses(zone, res, ns.rdata, pick);
      return res;
    }
    let node = zone.nodes.get(lower);
    const synthesized = !node;
    if (!node) {
      node = wildcardFor(zone, lower);
      if (!node) {
        res.rcode = RCODE.NXDOMAIN;
        res.authority.push(negativeSoa(zone));
        return res;
      }
    }
    if (node.topology && choose) node = nodeForList(node, choose(node.topology));
    const type = RR_TYPE_BY_CODE.get(qtype);
    if (node.servfail && (node.servfail === type || node.servfail === 'CNAME' || qtype === QTYPE_ANY)) {
      return { rcode: RCODE.SERVFAIL, aa: false, answer: [], authority: [], additional: [] };
    }
    if (lower === zone.origin && (type === 'SOA' || qtype === QTYPE_ANY)) {
      // RFC 8482: ANY at the apex answers the SOA alone.
      res.answer.push({ owner, ttl: zone.soaTtl, data: { type: 'SOA', ...zone.soa } });
      if (type === 'SOA' && withApexNs) addApexNs(zone, res, pick);
      return res;
    }
    const set = type ? node.rrsets.get(type) : undefined;
    if (set) {
      pushSet(res.answer, set, owner, pick);
      if (type === 'MX' || type === 'SRV' || type === 'NS') addAddresses(zone, res, set.rdata, pick);
      if (withApexNs && !(type === 'NS' && lower === zone.origin)) addApexNs(zone, res, pick);
      return res;
    }
    const cname = node.rrsets.get('CNAME');
    if (cname) {
      // A loop ends where the same CNAME would be added twice, as NSD and
      // Knot end it: a wildcard's CNAME synthesised for the question counts
      // apart from the same wildcard reached through the chain, so a
      // wildcard CNAME that matches its own target shows twice, an explicit
      // CNAME to itself once.
      const key = hop === 0 && synthesized ? ' question' : lower;
      if (cnamed.has(key)) return res;
      cnamed.add(key);
      pushSet(res.answer, cname, owner, pick);
      // ANY matches the CNAME itself (RFC 1034 §4.3.2 step 3a): not followed.
      if (qtype === QTYPE_ANY) return res;
      const target = (res.answer[res.answer.length - 1]!.data as { target: string }).target;
      // Followed into any zone served here (RFC 1034 §4.3.2 step 3a: back to
      // step 1, which picks the zone again), never out of them.
      const next = zoneFor(snap, target.toLowerCase(), qtype);
      if (!next) return res;
      zone = next;
      owner = target;
      continue;
    }
    if (qtype === QTYPE_ANY) {
      const first = ANY_ORDER.map((t) => node!.rrsets.get(t)).find(Boolean);
      if (first) {
        pushSet(res.answer, first, owner, pick);
        // The answered set's additional data, as for a question of its type.
        if (first.type === 'MX' || first.type === 'SRV' || first.type === 'NS') addAddresses(zone, res, first.rdata, pick);
        return res;
      }
    }
    res.authority.push(negativeSoa(zone));
    return res;
  }
  return res;
}

/** The SOA for negative answers: TTL = min(SOA TTL, SOA MINIMUM) (RFC 2308 §3). */
export function negativeSoa(zone: ZoneView): AnswerRR {
  return { owner: zone.origin, ttl: Math.min(zone.soaTtl, zone.soa.minimum), data: { type: 'SOA', ...zone.soa } };
}

/**
 * The zone that answers for `name`: the closest enclosing one, except that
 * DS at a zone's apex is the parent's data (RFC 4035 §3.1.4.1), so a parent
 * zone served too answers it.
 */
function zoneFor(snap: Snapshot, name: string, qtype: number): ZoneView | undefined {
  const zone = findZone(snap, name);
  if (!zone || qtype !== TYPE_DS || name !== zone.origin || name === '') return zone;
  return findZone(snap, parentName(name)) ?? zone;
}

/** The highest delegation point at or above `name` (below the apex), if any. */
function findCut(zone: ZoneView, name: string): string | undefined {
  if (zone.cuts.size === 0) return undefined;
  let found: string | undefined;
  for (let n = name; n !== zone.origin && n !== ''; n = parentName(n)) if (zone.cuts.has(n)) found = n;
  return found;
}

/** RFC 4592: the wildcard at the closest encloser, if there is one. */
function wildcardFor(zone: ZoneView, name: string): ZoneNode | undefined {
  let ce = parentName(name);
  for (let guard = 0; guard < 128 && !zone.nodes.has(ce); guard++) {
    if (ce === zone.origin || ce === '') break;
    ce = parentName(ce);
  }
  return zone.nodes.get(ce === '' ? '*' : `*.${ce}`);
}

function pushSet(out: AnswerRR[], set: RRset, owner: string, pick: WeightedPicker): void {
  if (set.weights && set.rdata.length > 1) {
    out.push({ owner, ttl: set.ttl, data: set.rdata[pick(set.weights)] ?? set.rdata[0]! });
    return;
  }
  for (const data of set.rdata) out.push({ owner, ttl: set.ttl, data });
}

/** As NSD does: a positive answer carries the apex NS in authority, their addresses in additional. */
function addApexNs(zone: ZoneView, res: Resolution, pick: WeightedPicker): void {
  const ns = zone.nodes.get(zone.origin)?.rrsets.get('NS');
  if (!ns) return;
  pushSet(res.authority, ns, zone.origin, pick);
  addAddresses(zone, res, ns.rdata, pick);
}

/** Additional-section addresses for NS/MX/SRV targets inside the zone (wildcards included). */
function addAddresses(zone: ZoneView, res: Resolution, rdata: RData[], pick: WeightedPicker): void {
  // RRsets already in the answer or additional section are not repeated
  // (an A in the answer still lets its AAAA in, as NSD does).
  const present = new Set<string>();
  for (const r of res.answer) if (r.data.type === 'A' || r.data.type === 'AAAA') present.add(`${r.owner.toLowerCase()}/${r.data.type}`);
  for (const r of res.additional) present.add(`${r.owner.toLowerCase()}/${r.data.type}`);
  const hosts = new Set<string>();
  for (const d of rdata) {
    const host = d.type === 'NS' ? d.host : d.type === 'MX' ? d.exchange : d.type === 'SRV' ? d.target : undefined;
    if (!host) continue;
    const h = host.toLowerCase();
    if (hosts.has(h) || !isInZone(h, zone.origin)) continue;
    hosts.add(h);
    // Below a delegation only glue lives, and it is no answer data: an MX or
    // SRV target there gets no addresses (as NSD; NS targets keep their glue).
    if (d.type !== 'NS' && findCut(zone, h)) continue;
    // A name that does not exist may be covered by a wildcard (RFC 4592), as NSD and Knot add it.
    const exact = zone.nodes.get(h);
    const node = exact ?? wildcardFor(zone, h);
    if (!node) continue;
    for (const t of ['A', 'AAAA'] as const) {
      const set = node.rrsets.get(t);
      if (set && !present.has(`${h}/${t}`)) pushSet(res.additional, set, exact ? set.name : h, pick);
    }
  }
}
