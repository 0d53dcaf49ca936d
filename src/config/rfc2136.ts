/**
 * The `rfc2136:` section of failoverd.yaml: push failoverd's answers into
 * existing authoritative servers (BIND, Knot, PowerDNS, ...) with RFC 2136
 * UPDATE signed with TSIG. config/schema.ts adds `rfc2136:`;
 * resolveRfc2136() does what needs the whole config and the file system
 * (record sets per zone, key references, secret files).
 *
 * Keys live in this section (`rfc2136.keys`), not in `tsig:`: a key in
 * `tsig:` may also transfer zones from the embedded server, and a key that
 * may write to BIND should not. Secrets are TsigSecrets: logged and shown
 * as "[redacted]".
 */
import { z } from 'zod';
import { quote } from '../errors.ts';
import { canonicalName, isInZone } from '../dns-model/names.ts';
import { dnsNameSchema } from './dns-name.ts';
import { durationSchema } from './duration.ts';
import { resolveTsigKeys, secondaryAddress, tsigSchema, type TsigKey, type TransferProblem } from './transfer.ts';

const keyRef = z.string().regex(/^[A-Za-z0-9_.-]+$/, 'key names use letters, digits, _ . -');

export const rfc2136ZoneSchema = z.strictObject({
  /** The zone's apex, as the servers know it (the zone section of each UPDATE). */
  zone: dnsNameSchema,
  /** primary: UPDATE goes to the first server (it NOTIFYs its secondaries); all: to each server, each tracked apart. */
  mode: z.enum(['primary', 'all']).default('primary'),
  /** "192.0.2.1", "192.0.2.1:53", "[2001:db8::1]:53". */
  servers: z.array(secondaryAddress).min(1),
  /** The key in rfc2136.keys that signs UPDATE. */
  updateKey: keyRef,
  /** The key that signs SOA queries and IXFR/AXFR (default: updateKey). */
  readKey: keyRef.optional(),
  /** The record sets failoverd owns in this zone (default: every record set in the zone). */
  records: z.array(dnsNameSchema).optional(),
  /** Names whose existing, unmarked records failoverd may take over. */
  adopt: z.array(dnsNameSchema).default([]),
});

export const rfc2136Schema = z.strictObject({
  /** Written into the ownership markers; failoverd changes only what this owner id owns. */
  ownerId: z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'ownerId: 1-64 of letters, digits, _ . : -'),
  keys: tsigSchema,
  zones: z.array(rfc2136ZoneSchema).min(1),
  /** How often each server's SOA serial is read (and the zone read back when it moved). */
  reconcile: durationSchema.refine((ms) => ms >= 1000, { message: 'reconcile must be at least 1s' }).default(60_000),
  /** One request's deadline (UDP retransmits within it; TCP for what does not fit). */
  timeout: durationSchema.refine((ms) => ms >= 50 && ms <= 60_000, { message: 'timeout must be from 50ms to 1m' }).default(2000),
  /** TTL of the ownership TXT records. */
  markerTtl: z.number().int().min(0).max(2147483647).default(300),
  dryRun: z.boolean().default(false),
  /** The plan guard, as route53.guard. */
  guard: z
    .strictObject({
      maxChangeRatio: z.number().min(0).max(1).default(0.3),
      minOwned: z.number().int().min(1).default(10),
    })
    .default({ maxChangeRatio: 0.3, minOwned: 10 }),
});

export type Rfc2136Input = z.output<typeof rfc2136Schema>;

export interface Rfc2136ZoneConfig {
  zone: string;
  mode: 'primary' | 'all';
  servers: Array<{ host: string; port: number }>;
  updateKey: TsigKey;
  readKey: TsigKey;
  /** Canonical names of the record sets published to this zone. */
  records: string[];
  adopt: string[];
}

export interface Rfc2136Config {
  ownerId: string;
  zones: Rfc2136ZoneConfig[];
  reconcile: number;
  timeout: number;
  markerTtl: number;
  dryRun: boolean;
  guard: { maxChangeRatio: number; minOwned: number };
}

/** The record sets' parts read here (a structural type: config/types.ts imports this file). */
export interface Rfc2136CheckedRecordSet {
  name: string;
  type: string;
}

/** Keys read from their files, references checked, record sets assigned to zones. */
export function resolveRfc2136(raw: Rfc2136Input, records: readonly Rfc2136CheckedRecordSet[], baseDir: string): { config: Rfc2136Config; problems: TransferProblem[] } {
  const problems: TransferProblem[] = [];
  const { keys } = resolveTsigKeys(raw.keys, baseDir, 'rfc2136.keys', problems);
  const key = (label: string, at: string): TsigKey | undefined => {
    const k = keys.find((x) => x.name === canonicalName(label));
    // A key given but not usable (its secret file unreadable) has its own problem at rfc2136.keys.
    const given = Object.keys(raw.keys).some((n) => canonicalName(n) === canonicalName(label));
    if (!k && !given) problems.push({ path: at, message: `unknown key ${quote(label)} (defined in rfc2136.keys: ${Object.keys(raw.keys).join(', ') || 'none'})` });
    return k;
  };
  const seen = new Map<string, number>();
  const zones: Rfc2136ZoneConfig[] = [];
  raw.zones.forEach((z, i) => {
    const at = `rfc2136.zones[${i}]`;
    const servers = z.servers.map((s) => `${s.host}:${s.port}`);
    for (const s of servers) {
      const k = `${z.zone}@${s}`;
      if (seen.has(k)) problems.push({ path: `${at}.servers`, message: `zone ${z.zone} on ${s} is also given in rfc2136.zones[${seen.get(k)}]` });
      seen.set(k, i);
    }
    const inZone = records.filter((r) => isInZone(r.name, z.zone));
    const names = z.records ?? [...new Set(inZone.map((r) => r.name))];
    (z.records ?? []).forEach((n, j) => {
      if (!isInZone(n, z.zone)) problems.push({ path: `${at}.records[${j}]`, message: `${n} is not in zone ${z.zone}` });
      else if (!inZone.some((r) => r.name === n)) problems.push({ path: `${at}.records[${j}]`, message: `${n} is not a record set (records:) of failoverd` });
    });
    if (names.length === 0) problems.push({ path: `${at}.zone`, message: `no record set lives in zone ${quote(z.zone)}: nothing to publish` });
    z.adopt.forEach((n, j) => {
      if (!names.includes(n)) problems.push({ path: `${at}.adopt[${j}]`, message: `${n} is not a record set published to zone ${z.zone}` });
    });
    for (const n of names) if (n.split('.').includes('*')) problems.push({ path: `${at}.zone`, message: `${n}: a wildcard name cannot carry an ownership marker; publish it from the embedded server only` });
    const updateKey = key(z.updateKey, `${at}.updateKey`);
    const readKey = z.readKey === undefined ? updateKey : key(z.readKey, `${at}.readKey`);
    if (updateKey && readKey) zones.push({ zone: z.zone, mode: z.mode, servers: z.servers, updateKey, readKey, records: names, adopt: z.adopt });
  });
  return { config: { ownerId: raw.ownerId, zones, reconcile: raw.reconcile, timeout: raw.timeout, markerTtl: raw.markerTtl, dryRun: raw.dryRun, guard: raw.guard }, problems };
}
