/**
 * Policy `topology`: a record set whose answer depends on where the client
 * is. It names sites (pools of targets, each with the failover, multivalue
 * or weighted behaviour inside) and maps client networks to an ordered list
 * of sites; clients in no listed network get `default`. The failover
 * machine skips a site that is down (every target DOWN, drains included).
 *
 * Map entries name CIDR networks, countries and continents (codes checked
 * in schema.ts with geo-codes.ts). Route 53 publishes countries and
 * continents as geolocation records; the embedded server places clients by
 * them only with a MaxMind database (`mmdb`), client-map.ts gives the
 * precedence. Without one it places clients by networks alone.
 *
 * The keys' YAML shape is in schema.ts; this file holds their cross-checks
 * (site names, networks, locations mapped once) and compiles the map into
 * the tries and location tables that answer a query (client-map.ts).
 */
import { quote } from '../errors.ts';
import { geoKeysMappedTwice } from './topology-geo.ts';
import { GEO_LOOKUP, type GeoMap } from './client-map.ts';
import type { GeoDatabase } from './geo-database.ts';
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
  /** With `mmdb`: the database and which list each country and continent gets (client-map.ts). */
  geo?: GeoMap;
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
  /** The record set's `mmdb`, loaded; null when it is named but failed to load (reported already). */
  db?: GeoDatabase | null,
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
  /** Location code → site list (the schema upper-cased the codes). */
  const countries: Record<string, number> = {};
  const continents: Record<string, number> = {};
  entries.forEach((e, i) => {
    checkList(e.sites, [...base, 'map', i, 'sites']);
    const key = e.sites.join(',');
    let value = listIndex.get(key);
    if (value === undefined) {
      value = lists.length;
      lists.push([...e.sites]);
      listIndex.set(key, value);
    }
    for (const c of e.countries ?? []) countries[c] ??= value;
    for (const c of e.continents ?? []) continents[c] ??= value;
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
  if (db && Object.keys(countries).length + Object.keys(continents).length === 0) problems.push({ path: [...base, 'mmdb'], message: 'mmdb names a MaxMind database, but no map entry has countries or continents to look up in it' });
  // With a database, clients in no mapped network are looked up in it (GEO_LOOKUP) before the default list.
  const fallback = db ? GEO_LOOKUP : 0;
  const map: TopologyMap = {
    entries: entries.map((e) => ({ networks: [...(e.networks ?? [])], countries: [...(e.countries ?? [])], continents: [...(e.continents ?? [])], sites: [...e.sites] })),
    default: [...dflt],
    lists,
    v4: problems.length ? 0 : buildClientTrie(networks.filter((n) => n.cidr.family === 4), fallback),
    v6: problems.length ? 0 : buildClientTrie(networks.filter((n) => n.cidr.family === 6), fallback),
    ...(db ? { geo: { db, countries, continents } } : {}),
  };
  return { map, problems };
}

function formatKey(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) out += typeof seg === 'number' ? `[${seg}]` : (out ? '.' : '') + String(seg);
  return out;
}
