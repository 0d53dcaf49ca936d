/**
 * The one schema of failoverd.yaml. Every section lives here so later
 * features slot in beside the others; cross-checks that need the zone files
 * live in config/load.ts.
 */
import { adminFields, ADMIN_DEFAULTS } from './admin.ts';
import { isIP } from 'node:net';
import { validate as validateCron } from 'node-cron';
import { z } from 'zod';
import { quote } from '../errors.ts';
import { dnsNameSchema } from './dns-name.ts';
import { canonicalIp } from './ip-address.ts';
import { clusterSchema } from './cluster.ts';
import { rfc2136Schema } from './rfc2136.ts';
import { route53Schema } from './route53.ts';
import { secondariesSchema, transferSchema, tsigSchema } from './transfer.ts';
import { durationSchema } from './duration.ts';
import { SITE_NAME } from './topology.ts';
import { parseCidr } from './client-networks.ts';
import { continentCodeProblem, countryCodeProblem } from './geo-codes.ts';

const duration = durationSchema;

const hostPort = z.string().transform((v, ctx) => {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(v);
  const host = m?.[1] ?? m?.[2];
  const port = Number(m?.[3]);
  if (!m || !host || !isIP(host) || !(port >= 0 && port <= 65535)) {
    ctx.addIssue({ code: 'custom', message: `not an address:port: ${quote(v)} (use e.g. 127.0.0.1:5353 or [::1]:5353)` });
    return z.NEVER;
  }
  return { host: canonicalIp(host), port };
});
export type HostPort = { host: string; port: number };

/** An HTTP field name is a token (RFC 9110 §5.1, §5.6.2). */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Headers failoverd (or fetch) sets itself: a request that sets them fails or hangs (a GET with Content-Length waits for a body). */
const MANAGED_HEADERS = new Set(['content-length', 'transfer-encoding', 'connection', 'keep-alive', 'upgrade', 'expect', 'te', 'trailer']);

/** Field values: visible ASCII, Latin-1, space and tab; no CR, LF or NUL (what Node and fetch accept). */
function headerValueProblem(value: string): string | undefined {
  const bad = /[^\t\x20-\x7e\x80-\xff]/u.exec(value);
  if (!bad) return undefined;
  const c = bad[0];
  return c.codePointAt(0)! > 0xff ? `character ${JSON.stringify(c)} cannot be sent in an HTTP header (Latin-1 only)` : `control character ${JSON.stringify(c)} cannot be sent in an HTTP header`;
}

/** Extra request headers: names are HTTP tokens, given once (case-insensitively), values sendable; values are never echoed (they may be secrets). */
const headersSchema = z.record(z.string(), z.string()).superRefine((headers, ctx) => {
  const seen = new Map<string, string>();
  for (const [name, value] of Object.entries(headers)) {
    if (!HEADER_NAME.test(name)) {
      ctx.addIssue({ code: 'custom', path: [name], message: `header name ${quote(name)} is not an HTTP token (letters, digits and !#$%&'*+-.^_\`|~; no spaces or colons)` });
      continue;
    }
    const lower = name.toLowerCase();
    if (MANAGED_HEADERS.has(lower)) ctx.addIssue({ code: 'custom', path: [name], message: `header ${name} is set by failoverd itself; a request that sets it fails` });
    const other = seen.get(lower);
    if (other !== undefined) ctx.addIssue({ code: 'custom', path: [name], message: `header ${name} is also given as ${other} (header names ignore case)` });
    seen.set(lower, name);
    const problem = headerValueProblem(value);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', path: [name], message: `header ${name}: ${problem}` });
  }
});

const statusRange = z.string().regex(/^\d{3}(-\d{3})?$/, 'status must be like "200" or "200-399"');

export const checkSchema = z
  .strictObject({
    type: z.enum(['http', 'https', 'tcp']),
    port: z.number().int().min(1).max(65535),
    path: z.string().startsWith('/').default('/'),
    host: z
      .string()
      .min(1)
      .superRefine((v, ctx) => {
        const problem = headerValueProblem(v);
        if (problem !== undefined) ctx.addIssue({ code: 'custom', message: `host is sent as the Host header: ${problem}` });
      })
      .optional(),
    headers: headersSchema.default({}),
    expect: z
      .strictObject({
        status: z.array(statusRange).min(1).default(['200-399']),
        body: z.string().optional(),
      })
      .default({ status: ['200-399'] }),
    tlsVerify: z.boolean().default(true),
    interval: duration.default(1000),
    fastInterval: duration.default(100),
    timeout: duration.default(500),
    rise: z.number().int().min(1).max(100).default(2),
    fall: z.number().int().min(1).max(100).default(2),
    watch: z.boolean().default(true),
    /** Absent means false. */
    reuse: z.boolean().optional(),
  })
  .superRefine((c, ctx) => {
    if (c.timeout >= c.interval) ctx.addIssue({ code: 'custom', path: ['timeout'], message: `timeout (${c.timeout}ms) must be below interval (${c.interval}ms)` });
    if (c.fastInterval > c.interval) ctx.addIssue({ code: 'custom', path: ['fastInterval'], message: `fastInterval (${c.fastInterval}ms) must not exceed interval (${c.interval}ms)` });
    if (c.interval < 10) ctx.addIssue({ code: 'custom', path: ['interval'], message: 'interval must be at least 10ms' });
    if (c.reuse && c.type === 'tcp') ctx.addIssue({ code: 'custom', path: ['reuse'], message: 'reuse applies to http and https checks (a tcp check is a connection)' });
    if (c.fastInterval < 10) ctx.addIssue({ code: 'custom', path: ['fastInterval'], message: 'fastInterval must be at least 10ms' });
  });
export type CheckConfig = z.output<typeof checkSchema>;

export const targetSchema = z.strictObject({
  id: z.string().min(1).optional(),
  address: z.string().min(1),
  check: z.string().min(1),
  weight: z.number().int().min(0).max(255).default(1),
});

export const failbackSchema = z.union([
  z.enum(['auto', 'manual']),
  z.strictObject({ after: duration }),
]);
export type Failback = 'auto' | 'manual' | { after: number };

/** A site of a topology record set: a pool of targets with the failover, multivalue or weighted behaviour inside. */
export const siteSchema = z.strictObject({
  policy: z.enum(['failover', 'multivalue', 'weighted']).default('failover'),
  failback: failbackSchema.optional(),
  maxAnswers: z.number().int().min(1).max(8).optional(),
  targets: z.array(targetSchema).min(1),
});

/** A location code, upper-cased and checked (geo-codes.ts). */
const geoCode = (problem: (code: string) => string | undefined) =>
  z
    .string()
    .transform((v) => v.toUpperCase())
    .superRefine((v, ctx) => {
      const p = problem(v);
      if (p !== undefined) ctx.addIssue({ code: 'custom', message: p });
    });

export const topologyMapEntrySchema = z
  .strictObject({
    networks: z.array(z.string().min(1)).min(1).optional(),
    /** ISO 3166-1 alpha-2 codes: Route 53 geolocation, GeoIP databases. */
    countries: z.array(geoCode(countryCodeProblem)).min(1).optional(),
    continents: z.array(geoCode(continentCodeProblem)).min(1).optional(),
    sites: z.array(z.string().min(1)).min(1),
  })
  .superRefine((e, ctx) => {
    if (!e.networks && !e.countries && !e.continents) ctx.addIssue({ code: 'custom', path: ['networks'], message: 'a map entry needs networks, countries or continents: the clients it answers' });
  });

export const recordSetSchema = z
  .strictObject({
    name: dnsNameSchema,
    type: z.enum(['A', 'AAAA', 'CNAME']),
    ttl: z.number().int().min(0).max(2147483647).default(30),
    degradedTtl: z.number().int().min(0).max(2147483647).optional(),
    policy: z.enum(['failover', 'multivalue', 'weighted', 'topology']).default('failover'),
    failback: failbackSchema.default('auto'),
    whenAllDown: z.enum(['primary', 'all', 'none', 'servfail']).optional(),
    maxAnswers: z.number().int().min(1).max(8).default(8),
    /** Every policy but topology. */
    targets: z.array(targetSchema).min(1).optional(),
    /** Policy topology (config/topology.ts). */
    sites: z.record(z.string().regex(SITE_NAME, 'site names use letters, digits, _ . -'), siteSchema).optional(),
    map: z.array(topologyMapEntrySchema).optional(),
    default: z.array(z.string().min(1)).min(1).optional(),
    /** Policy topology: a MaxMind database for the map's countries and continents (relative to the config file's folder). */
    mmdb: z.string().min(1).optional(),
  })
  .superRefine((r, ctx) => {
    if (r.policy === 'topology') {
      if (r.targets !== undefined) ctx.addIssue({ code: 'custom', path: ['targets'], message: 'policy topology takes its targets from sites: give each site its targets' });
      if (r.sites === undefined || Object.keys(r.sites).length === 0) ctx.addIssue({ code: 'custom', path: ['sites'], message: 'policy topology needs sites (each a pool of targets)' });
      if (r.default === undefined) ctx.addIssue({ code: 'custom', path: ['default'], message: 'policy topology needs default: the sites, in order, for clients in no mapped network' });
      return;
    }
    if (r.targets === undefined) ctx.addIssue({ code: 'custom', path: ['targets'], message: 'targets is required' });
    for (const k of ['sites', 'map', 'default', 'mmdb'] as const) {
      if (r[k] !== undefined) ctx.addIssue({ code: 'custom', path: [k], message: `${k} applies to policy topology only (this record set has policy ${r.policy})` });
    }
  });

/** The admin HTTP API (src/admin/); its keys and their files are in config/admin.ts. */
export const adminSchema = z
  .strictObject({
    listen: hostPort.default({ host: '127.0.0.1', port: 8053 }),
    ...adminFields,
  })
  .default({ listen: { host: '127.0.0.1', port: 8053 }, ...ADMIN_DEFAULTS });

/** The persisted state file (src/state/); relative paths are from the config file's folder. */
export const stateSchema = z
  .strictObject({
    file: z.string().min(1).default('./state/failoverd.json'),
  })
  .default({ file: './state/failoverd.json' });

/** Webhooks told about every transition and override (src/notify/). */
export const notifySchema = z
  .strictObject({
    /** user:password in the URL is sent as an Authorization: Basic header (see notify/webhook.ts). */
    url: z.url({ protocol: /^https?$/, error: 'url must be an http:// or https:// URL' }),
    format: z.enum(['json', 'slack']).default('json'),
    headers: headersSchema.default({}),
    timeout: duration.default(5000),
    retries: z.number().int().min(0).max(20).default(5),
    backoff: duration.default(1000),
    queue: z.number().int().min(1).max(100_000).default(1000),
  })
  .superRefine((n, ctx) => {
    const u = new URL(n.url);
    if (!u.username && !u.password) return;
    const auth = Object.keys(n.headers).find((h) => h.toLowerCase() === 'authorization');
    if (auth !== undefined) ctx.addIssue({ code: 'custom', path: ['headers', auth], message: 'url has user:password (sent as Authorization: Basic) and headers sets Authorization too: give one' });
    if (safeDecode(u.username)?.includes(':') !== false) ctx.addIssue({ code: 'custom', path: ['url'], message: 'the user name in url cannot hold ":" (Basic authentication) or a bad %-escape' });
    if (safeDecode(u.password) === undefined) ctx.addIssue({ code: 'custom', path: ['url'], message: 'the password in url has a bad %-escape' });
  });

function safeDecode(s: string): string | undefined {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}

/** Scheduled drains (src/maintenance/): the targets are drained for `duration` at each `cron` time. */
export const maintenanceSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'names use letters, digits, _ . -').optional(),
  targets: z.array(z.string().min(1)).min(1),
  cron: z.string().refine((v) => validateCron(v), { message: 'not a valid cron expression (node-cron syntax, e.g. "0 3 * * 0"; 6 fields for seconds)' }),
  timezone: z.string().min(1).optional(),
  duration: duration.refine((ms) => ms >= 1000, { message: 'duration must be at least 1s' }),
  reason: z.string().min(1).max(500),
});

/** Bounds on DNS over TCP (src/dns/tcp-limits.ts); the defaults keep far below a 1,024-descriptor limit. */
export const DNS_TCP_DEFAULTS = { maxConnections: 256, maxPerClient: 32, messageTimeout: 5000, idleTimeout: 10_000 };
const dnsTcpSchema = z
  .strictObject({
    maxConnections: z.number().int().min(1).max(65_535).default(DNS_TCP_DEFAULTS.maxConnections),
    maxPerClient: z.number().int().min(1).max(65_535).default(DNS_TCP_DEFAULTS.maxPerClient),
    messageTimeout: duration
      .refine((ms) => ms >= 100, { message: 'messageTimeout must be at least 100ms' })
      .refine((ms) => ms <= 60_000, { message: 'messageTimeout must be at most 1m' })
      .default(DNS_TCP_DEFAULTS.messageTimeout),
    idleTimeout: duration
      .refine((ms) => ms >= 100, { message: 'idleTimeout must be at least 100ms' })
      .refine((ms) => ms <= 3_600_000, { message: 'idleTimeout must be at most 1h' })
      .default(DNS_TCP_DEFAULTS.idleTimeout),
  })
  .default(DNS_TCP_DEFAULTS);

/** A network in an allow list: "10.0.0.0/8", "2001:db8::/32" or one address (client-networks.ts says what is refused). */
const networkSchema = z.string().superRefine((v, ctx) => {
  const c = parseCidr(v);
  if ('problem' in c) ctx.addIssue({ code: 'custom', message: c.problem });
});

/** EDNS Client Subnet (dns/client-subnet.ts). */
const dnsEcsSchema = z
  .strictObject({
    allow: z.array(networkSchema).default([]),
    listeners: z.record(z.string(), z.enum(['allow', 'any', 'off'])).default({}),
  })
  .default({ allow: [], listeners: {} });

export const configSchema = z.strictObject({
  dns: z
    .strictObject({
      listen: z.array(hostPort).min(1).default([{ host: '127.0.0.1', port: 5353 }]),
      /** Processes serving UDP (sharing the port); "auto" = one per core. TCP stays in the main process. */
      workers: z.union([z.number().int().min(1).max(256), z.literal('auto')]).default(1),
      tcp: dnsTcpSchema,
      ecs: dnsEcsSchema,
    })
    .default({ listen: [{ host: '127.0.0.1', port: 5353 }], workers: 1, tcp: DNS_TCP_DEFAULTS, ecs: { allow: [], listeners: {} } }),
  zones: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).default('zones'),
  log: z
    .strictObject({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info') })
    .default({ level: 'info' }),
  startupTimeout: duration.default(5000),
  checks: z.record(z.string().regex(/^[A-Za-z0-9_.-]+$/, 'check names use letters, digits, _ . -'), checkSchema).default({}),
  records: z.array(recordSetSchema).default([]),
  route53: route53Schema.optional(),
  rfc2136: rfc2136Schema.optional(),
  admin: adminSchema,
  state: stateSchema,
  notify: z.array(notifySchema).default([]),
  maintenance: z.array(maintenanceSchema).default([]),
  secondaries: secondariesSchema,
  transfer: transferSchema,
  tsig: tsigSchema,
  cluster: clusterSchema.optional(),
});

export type RawConfig = z.output<typeof configSchema>;
export type RawRecordSet = z.output<typeof recordSetSchema>;
