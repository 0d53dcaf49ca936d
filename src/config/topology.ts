/**
 * Policy `topology`: a record set whose answer depends on where the client
 * is. It names sites (pools of targets, each with the failover, multivalue
 * or weighted behaviour inside) and maps client networks to an ordered list
 * of sites; clients in no listed network get `default`. The failover
 * machine skips a site that is down (every target DOWN, drains included).
 *
 * The keys' YAML shape is in schema.ts; this file holds their cross-checks
 * (site names, networks) and compiles the map into the tries that answer
 * a query (client-networks.ts).
 */
import { quote } from '../errors.ts';
import { geoKeysMappedTwice } from './topology-geo.ts';
import { buildClientTrie, formatCidr, parseCidr, type Cidr, type ClientTrie } from './client-networks.ts';

export const SITE_NAME = /^[A-Za-z0-9_.-]+$/;

/** The compiled map: which site list answers which client. */
export interface TopologyMap {
  /** The map entries as configured (explain reads them); countries and continents upper case. */
  entries: TopologyMapEntry[];
  default: string[];
  /** The distinct site lists; index 0 is `default`. Trie values index this. */
  lists: string[][];
  v4: ClientTrie;
  v6: ClientTrie;
}

/** One entry of the map: the clients (networks, countries, continents; any may be empty) and their sites. */
export interface TopologyMapEntry {
  networks: string[];
  countries: string[];
  continents: string[];
  sites: string[];
}

export interface TopologyProblem {
  path: PropertyKey[];
  message: string;
}

/**
 * Checks the map and default against the site names and compiles the map.
 * Problems: an unknown site, a site twice in one list, a network that is
 * not one (bad address, bad prefix, bits beyond the prefix), the same
 * network twice.
 */
export function compileTopologyMap(
  siteNames: readonly string[],
  entries: ReadonlyArray<{ networks?: string[]; countries?: string[]; continents?: string[]; sites: string[] }>,
  dflt: readonly string[],
  base: PropertyKey[],
): { map: TopologyMap; problems: TopologyProblem[] } {
  const problems: TopologyProblem[] = [];
  const known = new Set(siteNames);
  const checkList = (list: readonly string[], path: PropertyKey[]) => {
    const seen = new Set<string>();
    list.forEach((s, k) => {
      if (!known.has(s)) problems.push({ path: [...path, k], message: `unknown site ${quote(s)} (sites: ${siteNames.join(', ') || 'none'})` });
      if (seen.has(s)) problems.push({ path: [...path, k], message: `site ${quote(s)} is listed twice` });
      seen.add(s);
    });
  };
  checkList(dflt, [...base, 'default']);
  const lists: string[][] = [[...dflt]];
  const listIndex = new Map<string, number>([[dflt.join(','), 0]]);
  const networks: Array<{ cidr: Cidr; value: number }> = [];
  const firstSeen = new Map<string, PropertyKey[]>();
  entries.forEach((e, i) => {
    checkList(e.sites, [...base, 'map', i, 'sites']);
    const key = e.sites.join(',');
    let value = listIndex.get(key);
    if (value === undefined) {
      value = lists.length;
      lists.push([...e.sites]);
      listIndex.set(key, value);
    }
    (e.networks ?? []).forEach((text, j) => {
      const path = [...base, 'map', i, 'networks', j];
      const c = parseCidr(text);
      if ('problem' in c) {
        problems.push({ path, message: c.problem });
        return;
      }
      const canonical = formatCidr(c);
      const twin = firstSeen.get(canonical);
      if (twin) {
        problems.push({ path, message: `network ${canonical} is also ${formatKey(twin)}: each network is mapped once` });
        return;
      }
      firstSeen.set(canonical, path);
      networks.push({ cidr: c, value });
    });
  });
  problems.push(...geoKeysMappedTwice(entries, base, formatKey));
  const map: TopologyMap = {
    entries: entries.map((e) => ({ networks: [...(e.networks ?? [])], countries: [...(e.countries ?? [])], continents: [...(e.continents ?? [])], sites: [...e.sites] })),
    default: [...dflt],
    lists,
    v4: problems.length ? 0 : buildClientTrie(networks.filter((n) => n.cidr.family === 4), 0),
    v6: problems.length ? 0 : buildClientTrie(networks.filter((n) => n.cidr.family === 6), 0),
  };
  return { map, problems };
}

function formatKey(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) out += typeof seg === 'number' ? `[${seg}]` : (out ? '.' : '') + String(seg);
  return out;
}
