/**
 * The `route53:` section of failoverd.yaml. The integrator adds
 * `route53: route53Schema.optional()` to config/schema.ts; the cross-checks
 * that need the whole config are in validateRoute53().
 *
 * Adoption is a list of names in this section (`adopt: [www.example.test]`)
 * rather than a flag on each record set, so the Route 53 sink stays
 * self-contained and the record set schema stays sink-agnostic.
 */
import { isIP } from 'node:net';
import { validate as validateCron } from 'node-cron';
import { z } from 'zod';
import { quote } from '../errors.ts';
import { dnsNameSchema, isHostName, readsAsIpAddress } from './dns-name.ts';
import { durationSchema } from './duration.ts';
import { canonicalName, isInZone } from '../dns-model/names.ts';

const duration = durationSchema;

export const route53Schema = z.strictObject({
  /** "Z0123456789ABC" or "/hostedzone/Z0123456789ABC". */
  hostedZoneId: z
    .string()
    .transform((v) => v.replace(/^\/hostedzone\//, ''))
    .pipe(z.string().regex(/^[A-Z0-9]{1,32}$/, 'hostedZoneId must look like Z0123456789ABC')),
  /** Which served zone maps to the hosted zone. */
  zone: dnsNameSchema,
  mode: z.enum(['records', 'failover']).default('records'),
  /** Written into the ownership markers and health check tags. */
  ownerId: z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'ownerId: 1-64 of letters, digits, _ . : -'),
  reconcile: z
    .string()
    .default('*/1 * * * *')
    .refine((v) => validateCron(v), { message: 'not a valid cron expression (node-cron syntax, e.g. "*/1 * * * *")' }),
  maxRequestsPerSecond: z.number().positive().max(100).default(4),
  endpoint: z.url({ protocol: /^https?$/ }).optional(),
  region: z.string().min(1).default('us-east-1'),
  dryRun: z.boolean().default(false),
  /** Names whose existing, unowned Route 53 records failoverd may take over. */
  adopt: z.array(dnsNameSchema).default([]),
  /** The plan guard: refuse a plan touching more than maxChangeRatio of the owned record sets when at least minOwned are owned. */
  guard: z
    .strictObject({
      maxChangeRatio: z.number().min(0).max(1).default(0.3),
      minOwned: z.number().int().min(1).default(10),
    })
    .default({ maxChangeRatio: 0.3, minOwned: 10 }),
  /** How long to poll GetChange for INSYNC after a change. */
  insyncTimeout: duration.default(300_000),
});

export type Route53Config = z.output<typeof route53Schema>;
export type Route53ConfigInput = z.input<typeof route53Schema>;

export interface Route53Problem {
  path: string;
  message: string;
}

/**
 * Rules that need the whole config, and rules Route 53 enforces that are
 * better reported at validation time than as a rejected batch.
 */
/** The parts of a record set Route 53 validation reads (a structural type: config/types.ts imports this file). */
export interface Route53CheckedRecordSet {
  name: string;
  type: string;
  ttl: number;
  policy: string;
  maxAnswers: number;
  targets: Array<{ address: string }>;
  /** Policy topology: its map (networks cannot be geolocation records). */
  topology?: { map: { entries: Array<{ networks: string[] }> } };
}

export function validateRoute53(r53: Route53Config, records: Route53CheckedRecordSet[], servedZones: string[]): Route53Problem[] {
  const problems: Route53Problem[] = [];
  const zone = r53.zone;
  const served = servedZones.map(canonicalName);
  if (!served.includes(zone)) {
    problems.push({ path: 'route53.zone', message: `zone ${quote(zone)} is not a served zone (served: ${served.join(', ') || 'none'})` });
  }
  const inZone = records.filter((r) => isInZone(r.name, zone));
  if (inZone.length === 0) {
    problems.push({ path: 'route53.zone', message: `no record set lives in zone ${quote(zone)}: nothing to publish` });
  }
  records.forEach((r, i) => {
    const at = `records[${i}]`;
    if (!isInZone(r.name, zone)) return; // published elsewhere (embedded only)
    r.topology?.map.entries.forEach((e, j) => {
      if (e.networks.length === 0) return;
      problems.push({
        path: `${at}.map[${j}].networks`,
        message: `${r.name}: Route 53 publishes policy topology as geolocation records, which route by continent and country, not by client network (that is Route 53 CIDR routing, which failoverd does not manage); map this entry by countries or continents, or keep the record set out of route53.zone`,
      });
    });
    if (r.name.split('.').some((l) => l === '*')) {
      problems.push({ path: `${at}.name`, message: `${r.name}: wildcard names cannot carry an ownership marker in Route 53; publish them from the embedded server only` });
    }
    if (r.type === 'CNAME' && r.name === zone) {
      problems.push({ path: `${at}.type`, message: `${r.name}: Route 53 does not allow a CNAME at the zone apex` });
    }
    if (r.ttl > 2147483647) problems.push({ path: `${at}.ttl`, message: 'TTL above 2147483647' });
    r.targets.forEach((t, j) => {
      const ok = r.type === 'A' ? isIP(t.address) === 4 : r.type === 'AAAA' ? isIP(t.address) === 6 : isHostName(t.address) && !readsAsIpAddress(t.address);
      if (!ok) problems.push({ path: `${at}.targets[${j}].address`, message: `${quote(t.address)} is not a valid ${r.type} value for Route 53` });
    });
    if (r.type === 'CNAME' && r.policy !== 'failover' && r.maxAnswers > 1 && r.targets.length > 1) {
      problems.push({ path: `${at}.maxAnswers`, message: `${r.name}: a CNAME holds one value; set maxAnswers: 1 or use policy failover` });
    }
    if (r53.mode === 'failover' && r.policy === 'failover' && r.targets.length < 2) {
      problems.push({
        path: `${at}.targets`,
        message: `${r.name}: route53 failover mode needs at least 2 targets (a PRIMARY and a SECONDARY record)`,
      });
    }
  });
  if (r53.mode === 'failover' && inZone.length > 0 && !inZone.some((r) => r.policy === 'failover' || r.policy === 'topology')) {
    problems.push({ path: 'route53.mode', message: 'mode failover but no record set in the zone uses policy failover or topology (the policies with Route 53 health checks); use mode records' });
  }
  r53.adopt.forEach((n, i) => {
    if (!inZone.some((r) => r.name === n)) problems.push({ path: `route53.adopt[${i}]`, message: `${n} is not a record set of zone ${zone}` });
  });
  return problems;
}
