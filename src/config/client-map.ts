/**
 * A topology record set's client map as the DNS server reads it: the CIDR
 * tries (client-networks.ts) and, when the record set names a MaxMind
 * database, the country and continent entries looked up in it.
 *
 * Precedence: a CIDR entry (the longest matching network) first, then the
 * client's country, then its continent, then the default list. The tries
 * of a map with a database have the leaf value GEO_LOOKUP wherever no CIDR
 * entry covers the client: there the database decides.
 *
 * The ECS SCOPE of a database answer is the prefix length of the database
 * network that matched (as mmdb-lib reports it), or the trie leaf's when
 * that is longer (a CIDR entry inside the database network answers another
 * list, so the answer only holds for the smaller block): the widest block
 * around the client over which neither source changes.
 */
import { lookupClientTrie, type ClientTrie } from './client-networks.ts';
import { geoDatabaseOf, type GeoDatabaseRef } from './geo-database.ts';

/** Trie leaf value: no CIDR entry covers the client; the database decides. */
export const GEO_LOOKUP = -1;

/** Country / continent code → index into the map's site lists. */
export interface GeoMap {
  db: GeoDatabaseRef;
  countries: Record<string, number>;
  continents: Record<string, number>;
}

export interface ClientMap {
  v4: ClientTrie;
  v6: ClientTrie;
  geo?: GeoMap;
}

export interface ClientMatch {
  /** Index into the map's site lists (0: default). */
  value: number;
  /** The ECS SCOPE PREFIX-LENGTH of the answer. */
  scope: number;
  /** What decided (only with a database): the database's country / continent of the client, when one was mapped. */
  country?: string;
  continent?: string;
}

export function lookupClientMap(map: ClientMap, family: 4 | 6, bytes: Uint8Array): ClientMatch {
  const r = lookupClientTrie(family === 4 ? map.v4 : map.v6, bytes);
  if (r.value !== GEO_LOOKUP) return r;
  const geo = map.geo;
  const db = geo && geoDatabaseOf(geo.db);
  // No database here (a map without one has no GEO_LOOKUP leaves; a cluster decision whose database this process does not hold): the default list.
  if (!geo || !db) return { value: 0, scope: r.scope };
  const a = db.lookup(family, bytes);
  const scope = a.prefix > r.scope ? a.prefix : r.scope;
  if (a.country !== undefined && Object.hasOwn(geo.countries, a.country)) return { value: geo.countries[a.country]!, scope, country: a.country };
  if (a.continent !== undefined && Object.hasOwn(geo.continents, a.continent)) return { value: geo.continents[a.continent]!, scope, continent: a.continent };
  return { value: 0, scope };
}
