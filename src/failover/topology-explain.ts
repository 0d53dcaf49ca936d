/**
 * Policy topology, for one client: which map entry matched its address,
 * which sites of the list were skipped and why, which site answers and
 * what, and the scope an EDNS Client Subnet answer would carry. Pure: read
 * by `failoverd explain NAME --client ADDR` (GET /v1/explain?client=).
 */
import { lookupClientMap } from '../config/client-map.ts';
import { addressBytes, parseCidr } from '../config/client-networks.ts';
import type { RecordSetConfig } from '../config/types.ts';
import { describeAnswer } from './describe.ts';
import { chooseSite, topologyReason, type SkippedSite } from './policy-topology.ts';
import type { RecordSetState } from './types.ts';

export interface ClientExplanation {
  client: string;
  /**
   * The map entry that decided: its network that is the longest match, or
   * (no network matching, with a MaxMind database) the client's country or
   * else continent; undefined: the default list.
   */
  matched?: { entry: number; network?: string; country?: string; continent?: string };
  sites: string[];
  skipped: SkippedSite[];
  site: string;
  allDown: boolean;
  answer: string;
  /** The SCOPE PREFIX-LENGTH of an ECS answer for this client: the widest block around it with the same site list. */
  scope: number;
  explanation: string;
}

/** `client` is an address or a subnet (what a resolver sends as ECS). */
export function explainClient(rs: RecordSetConfig, state: RecordSetState, client: string): ClientExplanation | { problem: string } {
  const topo = rs.topology;
  if (!topo) return { problem: `${rs.name}/${rs.type} has policy ${rs.policy}: its answer does not depend on the client` };
  const c = client.includes('/') || addressBytes(client) ? parseCidr(client) : { problem: `${JSON.stringify(client)} is not an IP address or subnet` };
  if ('problem' in c) return { problem: c.problem };
  let matched: ClientExplanation['matched'];
  let best = -1;
  topo.map.entries.forEach((e, i) => {
    for (const n of e.networks) {
      const net = parseCidr(n);
      if ('problem' in net || net.family !== c.family || net.bits > c.bits || net.bits <= best) continue;
      if (covers(net.bytes, net.bits, c.bytes)) {
        best = net.bits;
        matched = { entry: i, network: n };
      }
    }
  });
  const found = lookupClientMap(topo.map, c.family, c.bytes);
  if (!matched && found.country !== undefined) matched = { entry: topo.map.entries.findIndex((e) => e.countries.includes(found.country!)), country: found.country };
  else if (!matched && found.continent !== undefined) matched = { entry: topo.map.entries.findIndex((e) => e.continents.includes(found.continent!)), continent: found.continent };
  const sites = matched ? topo.map.entries[matched.entry]!.sites : topo.map.default;
  const scope = found.scope;
  const choice = chooseSite(sites, state.sites);
  if (!choice) return { problem: `${rs.name}/${rs.type} has no answer for its sites yet` };
  const answer = describeAnswer(rs, choice.state.answer);
  const where = matched ? `map entry ${matched.entry} (${matchedKey(matched)})` : topo.map.geo ? 'no mapped network, country or continent: the default list' : 'no mapped network: the default list';
  const explanation = `Client ${client} matches ${where}; ${topologyReason('sites', sites, choice)}. It is answered ${answer} (an ECS answer for it carries scope /${scope}).`;
  return { client, ...(matched ? { matched } : {}), sites, skipped: choice.skipped, site: choice.site, allDown: choice.allDown, answer, scope, explanation };
}

function matchedKey(m: NonNullable<ClientExplanation['matched']>): string {
  if (m.network !== undefined) return m.network;
  return m.country !== undefined ? `country ${m.country}` : `continent ${m.continent}`;
}

/** True when the first `bits` bits of `addr` are those of `net`. */
function covers(net: Uint8Array, bits: number, addr: Uint8Array): boolean {
  for (let i = 0; i < bits; i++) {
    const m = 0x80 >> (i & 7);
    if ((net[i >> 3]! & m) !== (addr[i >> 3]! & m)) return false;
  }
  return true;
}
