/**
 * The one schema of failoverd.yaml. Every section lives here so later
 * features slot in beside the others; cross-checks that need the zone files
 * live in config/load.ts.
 */
import { isIP } from 'node:net';
import { validate as validateCron } from 'node-cron';
import { z } from 'zod';
import { clusterSchema } from './cluster.ts';
import { route53Schema } from './route53.ts';
import { secondariesSchema, transferSchema, tsigSchema } from './transfer.ts';
import { durationSchema } from './duration.ts';

const duration = durationSchema;

const hostPort = z.string().transform((v, ctx) => {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(v);
  const host = m?.[1] ?? m?.[2];
  const port = Number(m?.[3]);
  if (!m || !host || !isIP(host) || !(port >= 0 && port <= 65535)) {
    ctx.addIssue({ code: 'custom', message: `not an address:port: ${JSON.stringify(v)} (use e.g. 127.0.0.1:5353 or [::1]:5353)` });
    return z.NEVER;
  }
  return { host, port };
});
export type HostPort = { host: string; port: number };

const statusRange = z.string().regex(/^\d{3}(-\d{3})?$/, 'status must be like "200" or "200-399"');

export const checkSchema = z
  .strictObject({
    type: z.enum(['http', 'https', 'tcp']),
    port: z.number().int().min(1).max(65535),
    path: z.string().startsWith('/').default('/'),
    host: z.string().min(1).optional(),
    headers: z.record(z.string(), z.string()).default({}),
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

export const recordSetSchema = z.strictObject({
  name: z.string().min(1),
  type: z.enum(['A', 'AAAA', 'CNAME']),
  ttl: z.number().int().min(0).max(2147483647).default(30),
  degradedTtl: z.number().int().min(0).max(2147483647).optional(),
  policy: z.enum(['failover', 'multivalue', 'weighted']).default('failover'),
  failback: failbackSchema.default('auto'),
  whenAllDown: z.enum(['primary', 'all', 'none', 'servfail']).optional(),
  maxAnswers: z.number().int().min(1).max(8).default(8),
  targets: z.array(targetSchema).min(1),
});

/** The admin HTTP API (src/admin/). The token may also come from FAILOVERD_ADMIN_TOKEN. */
export const adminSchema = z
  .strictObject({
    listen: hostPort.default({ host: '127.0.0.1', port: 8053 }),
    token: z.string().min(1).optional(),
    statusPage: z.boolean().default(true),
  })
  .default({ listen: { host: '127.0.0.1', port: 8053 }, statusPage: true });

/** The persisted state file (src/state/); relative paths are from the config file's folder. */
export const stateSchema = z
  .strictObject({
    file: z.string().min(1).default('./state/failoverd.json'),
  })
  .default({ file: './state/failoverd.json' });

/** Webhooks told about every transition and override (src/notify/). */
export const notifySchema = z.strictObject({
  url: z.url({ protocol: /^https?$/, error: 'url must be an http:// or https:// URL' }),
  format: z.enum(['json', 'slack']).default('json'),
  headers: z.record(z.string(), z.string()).default({}),
  timeout: duration.default(5000),
  retries: z.number().int().min(0).max(20).default(5),
  backoff: duration.default(1000),
  queue: z.number().int().min(1).max(100_000).default(1000),
});

/** Scheduled drains (src/maintenance/): the targets are drained for `duration` at each `cron` time. */
export const maintenanceSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'names use letters, digits, _ . -').optional(),
  targets: z.array(z.string().min(1)).min(1),
  cron: z.string().refine((v) => validateCron(v), { message: 'not a valid cron expression (node-cron syntax, e.g. "0 3 * * 0"; 6 fields for seconds)' }),
  timezone: z.string().min(1).optional(),
  duration: duration.refine((ms) => ms >= 1000, { message: 'duration must be at least 1s' }),
  reason: z.string().min(1).max(500),
});

export const configSchema = z.strictObject({
  dns: z
    .strictObject({
      listen: z.array(hostPort).min(1).default([{ host: '127.0.0.1', port: 5353 }]),
      /** Processes serving UDP (sharing the port); "auto" = one per core. TCP stays in the main process. */
      workers: z.union([z.number().int().min(1).max(256), z.literal('auto')]).default(1),
    })
    .default({ listen: [{ host: '127.0.0.1', port: 5353 }], workers: 1 }),
  zones: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).default('zones'),
  log: z
    .strictObject({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info') })
    .default({ level: 'info' }),
  startupTimeout: duration.default(5000),
  checks: z.record(z.string().regex(/^[A-Za-z0-9_.-]+$/, 'check names use letters, digits, _ . -'), checkSchema).default({}),
  records: z.array(recordSetSchema).default([]),
  route53: route53Schema.optional(),
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
