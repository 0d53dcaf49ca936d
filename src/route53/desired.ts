/**
 * The input of the Route 53 sink: what failoverd wants published for each
 * dynamic record set, derived by the daemon from the current records snapshot
 * and the failover state machine.
 */
import type { DynamicType, Policy } from '../config/types.ts';
import type { GeoLocation } from './model.ts';

export interface DesiredTarget {
  id: string;
  /** IP address (A/AAAA) or host name (CNAME). */
  address: string;
}

export interface DesiredRecordSet {
  /** Canonical owner name: lower case, no trailing dot. */
  name: string;
  type: DynamicType;
  /** The TTL the embedded server answers with now (degradedTtl included). */
  ttl: number;
  /** What the embedded server answers now; empty = NODATA. */
  values: string[];
  /** The embedded server answers SERVFAIL (whenAllDown: servfail). */
  servfail?: boolean;
  policy: Policy;
  /** In config order; the first is the primary. */
  targets: DesiredTarget[];
  /** failoverd's verdict on the primary target (drives the health check in failover mode). */
  primaryHealthy: boolean;
  /** Policy topology: published as geolocation records, one per location of the map, and the default. */
  geo?: DesiredGeo;
}

/** Policy topology as Route 53 geolocation routing. */
export interface DesiredGeo {
  /** In map order (each entry's continents, then its countries); the default (CountryCode "*") last. */
  records: DesiredGeoRecord[];
  /** Every site, and failoverd's verdict on it (down: every target DOWN, drains included). */
  sites: Array<{ name: string; down: boolean }>;
}

export interface DesiredGeoRecord {
  location: GeoLocation;
  /** What the embedded server answers a client of this location's site list now; empty = NODATA. */
  values: string[];
  servfail?: boolean;
  ttl: number;
  /** The site answering: the list's first site that is not down (or its first site, when all are). */
  site: string;
  /** Every site of the list is down: `site`'s all-down answer. */
  allDown: boolean;
}

/** "<name>/<type>": the key of a record set in plans, logs and health check tags. */
export function recordKey(r: { name: string; type: string }): string {
  return `${r.name}/${r.type}`;
}

/** A stable fingerprint of what the sink publishes for one desired record set. */
export function fingerprint(d: DesiredRecordSet): string {
  return JSON.stringify([d.name, d.type, d.ttl, d.values, !!d.servfail, d.policy, d.targets.map((t) => t.address), d.primaryHealthy, d.geo ?? null]);
}

/** The part of a desired record set that only configuration changes (not health). */
export function shapeFingerprint(d: DesiredRecordSet): string {
  return JSON.stringify([d.name, d.type, d.policy, d.targets.map((t) => t.address), d.geo ? [d.geo.records.map((g) => g.location), d.geo.sites.map((s) => s.name)] : null]);
}
