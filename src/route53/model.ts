/**
 * Route 53 data as the sink sees it, independent of the SDK: record sets with
 * canonical names, health checks, and the ownership marker format.
 */
import { createHash } from 'node:crypto';

export type RoutingRole = 'PRIMARY' | 'SECONDARY';

export interface R53RecordSet {
  /** Canonical: lower case, no trailing dot, Route 53's \ooo escapes decoded. */
  name: string;
  type: string;
  ttl?: number;
  values: string[];
  setIdentifier?: string;
  failover?: RoutingRole;
  /** Geolocation routing (policy topology): a continent, a country, or the default (CountryCode "*"). */
  geoLocation?: GeoLocation;
  healthCheckId?: string;
  /** Fields failoverd does not manage (Weight, AliasTarget, Region, ...), kept so a DELETE matches exactly. */
  other?: Record<string, unknown>;
}

/** Route 53's GeoLocation element; failoverd writes ContinentCode or CountryCode, never both. */
export interface GeoLocation {
  continentCode?: string;
  countryCode?: string;
  subdivisionCode?: string;
}

/** "continent EU", "country FR", "default" (plans and logs). */
export function describeGeoLocation(g: GeoLocation): string {
  if (g.countryCode === '*') return 'default';
  if (g.continentCode) return `continent ${g.continentCode}`;
  return `country ${g.countryCode ?? '?'}${g.subdivisionCode ? `-${g.subdivisionCode}` : ''}`;
}

export type ChangeAction = 'CREATE' | 'UPSERT' | 'DELETE';

export interface R53Change {
  action: ChangeAction;
  recordSet: R53RecordSet;
}

export interface R53HealthCheck {
  id: string;
  callerReference: string;
  type: string;
  inverted: boolean;
  disabled: boolean;
  version?: number;
}

export const HEALTH_CHECK_TAG_OWNER = 'failoverd:owner';
export const HEALTH_CHECK_TAG_RECORD = 'failoverd:record';

/** Route 53 names: "www.example.test." with \ooo escapes → canonical. */
export function fromRoute53Name(name: string): string {
  let n = name.replace(/\\(\d{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8)));
  n = n.toLowerCase();
  if (n.endsWith('.')) n = n.slice(0, -1);
  return n;
}

export function toRoute53Name(name: string): string {
  return name + '.';
}

/** Values compare case-insensitively for names, without a trailing dot. */
export function canonicalValue(type: string, v: string): string {
  if (type === 'CNAME' || type === 'NS' || type === 'PTR') {
    const l = v.toLowerCase();
    return l.endsWith('.') ? l.slice(0, -1) : l;
  }
  if (type === 'AAAA') return v.toLowerCase();
  return v;
}

export function markerName(name: string): string {
  return `_failoverd.${name}`;
}

export function isMarkerName(name: string): boolean {
  return name.startsWith('_failoverd.');
}

export function markerValue(ownerId: string, type: string): string {
  return `"heritage=failoverd,owner=${ownerId},type=${type}"`;
}

export interface MarkerEntry {
  owner: string;
  type: string;
  /** The TXT value as stored. */
  value: string;
}

/** Parses one TXT value of a marker; undefined when it is not a failoverd marker. */
export function parseMarkerValue(value: string): MarkerEntry | undefined {
  const s = value.replace(/^"|"$/g, '');
  const kv = new Map<string, string>();
  for (const part of s.split(',')) {
    const i = part.indexOf('=');
    if (i > 0) kv.set(part.slice(0, i).trim(), part.slice(i + 1).trim());
  }
  if (kv.get('heritage') !== 'failoverd' || !kv.get('owner') || !kv.get('type')) return undefined;
  return { owner: kv.get('owner')!, type: kv.get('type')!.toUpperCase(), value };
}

/**
 * SetIdentifier of the failover records of one record set. Unique per zone
 * (type and name inside), readable, within Route 53's 128 characters.
 */
export function setIdentifierFor(role: RoutingRole, name: string, type: string): string {
  return setIdentifier(role.toLowerCase(), name, type);
}

/** SetIdentifier of the geolocation record of one location: "failoverd-geo-continent-EU-A-www.example.test", "failoverd-geo-default-A-...". */
export function geoSetIdentifier(g: GeoLocation, name: string, type: string): string {
  const where = g.countryCode === '*' ? 'default' : g.continentCode ? `continent-${g.continentCode}` : `country-${g.countryCode ?? ''}${g.subdivisionCode ? `-${g.subdivisionCode}` : ''}`;
  return setIdentifier(`geo-${where}`, name, type);
}

function setIdentifier(role: string, name: string, type: string): string {
  const id = `failoverd-${role}-${type}-${name}`;
  if (id.length <= 128) return id;
  return `failoverd-${role}-${type}-${createHash('sha256').update(name).digest('hex').slice(0, 32)}`;
}

/** CallerReference prefix of the health checks one owner creates (≤ 64 chars in all). */
export function callerReferencePrefix(ownerId: string): string {
  return `failoverd-${createHash('sha256').update(ownerId).digest('hex').slice(0, 12)}-`;
}
