/**
 * The `cluster:` section of failoverd.yaml: several failoverd instances on
 * one etcd cluster, one decision served by all (src/cluster/). Without the
 * section nothing changes. config/schema.ts adds the key; resolveCluster()
 * fills the defaults that need the machine (the hostname) and the config
 * file's folder (TLS and password files), and reports unreadable files.
 */
import { accessSync, constants } from 'node:fs';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { z } from 'zod';
import { durationSchema, formatDuration } from './duration.ts';

const NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/** etcd leases count whole seconds; below 1 s a lease would not outlive one keep-alive round. */
export const LEASE_TTL_MIN_MS = 1000;
export const LEASE_TTL_MAX_MS = 300_000;

const endpoint = z
  .url({ protocol: /^https?$/, error: 'an etcd endpoint is an http:// or https:// URL, e.g. http://127.0.0.1:2379' })
  // gRPC would read user:password as part of the host name, and the password would reach the logs.
  .refine((u) => !hasUserinfo(u), {
    message: 'an etcd endpoint takes no user:password@ (it cannot work there, and would be logged): give the user as cluster.etcd.auth.username and the password in a file named by cluster.etcd.auth.passwordFile',
  });

function hasUserinfo(url: string): boolean {
  try {
    const u = new URL(url);
    return u.username !== '' || u.password !== '';
  } catch {
    return false;
  }
}

export const clusterSchema = z
  .strictObject({
    /** etcd key prefix /failoverd/<name>/. */
    name: z.string().regex(NAME, 'cluster names use 1-64 letters, digits, _ . -'),
    /** This instance's name among the vantage points; the hostname when not given. */
    instance: z.string().regex(NAME, 'instance names use 1-64 letters, digits, _ . -').optional(),
    etcd: z.strictObject({
      endpoints: z.array(endpoint).min(1, 'at least one etcd endpoint'),
      tls: z
        .strictObject({
          ca: z.string().min(1),
          cert: z.string().min(1).optional(),
          key: z.string().min(1).optional(),
        })
        .refine((t) => (t.cert === undefined) === (t.key === undefined), { message: 'give cert and key together (client certificate), or neither' })
        .optional(),
      auth: z
        .strictObject({
          username: z.string().min(1),
          passwordFile: z.string().min(1),
        })
        .optional(),
      /** Operations per decision transaction: below etcd's --max-txn-ops (128 by default). */
      maxTxnOps: z.number().int().min(2, 'maxTxnOps must be at least 2').max(10_000).default(100),
      /** Bytes per decision transaction: below etcd's --max-request-bytes (1.5 MiB by default). */
      maxTxnBytes: z.number().int().min(16 * 1024, 'maxTxnBytes must be at least 16384').max(64 * 1024 * 1024).default(1024 * 1024),
    }),
    /** How many vantage points must see a target DOWN: majority | all | any | N. */
    quorum: z.union([z.enum(['majority', 'all', 'any']), z.number().int().min(1).max(64)]).default('majority'),
    leaseTtl: durationSchema
      .refine((ms) => ms % 1000 === 0, { message: 'leaseTtl must be whole seconds (etcd leases count seconds), e.g. 3s' })
      .refine((ms) => ms >= LEASE_TTL_MIN_MS && ms <= LEASE_TTL_MAX_MS, {
        message: `leaseTtl must be from ${formatDuration(LEASE_TTL_MIN_MS)} to ${formatDuration(LEASE_TTL_MAX_MS)}`,
      })
      .default(3000),
    /** Cut off from etcd: keep serving the last decisions (freeze) or this instance's own verdict (local). */
    onLoss: z.enum(['freeze', 'local']).default('freeze'),
  })
  .superRefine((c, ctx) => {
    const https = c.etcd.endpoints.some((e) => e.startsWith('https:'));
    const http = c.etcd.endpoints.some((e) => e.startsWith('http:'));
    if (https && http) ctx.addIssue({ code: 'custom', path: ['etcd', 'endpoints'], message: 'mix of http:// and https:// endpoints: use one scheme for every member' });
    if (c.etcd.tls && http) ctx.addIssue({ code: 'custom', path: ['etcd', 'tls'], message: 'etcd.tls is set but the endpoints are http://: use https:// endpoints' });
  });

export type RawClusterConfig = z.output<typeof clusterSchema>;

/** The resolved cluster section: instance named, file paths absolute. */
export interface ClusterConfig {
  name: string;
  instance: string;
  etcd: {
    endpoints: string[];
    tls?: { ca: string; cert?: string; key?: string };
    auth?: { username: string; passwordFile: string };
    /** Limits of one decision transaction (operations, bytes). */
    maxTxnOps: number;
    maxTxnBytes: number;
  };
  quorum: 'majority' | 'all' | 'any' | number;
  /** Milliseconds (whole seconds). */
  leaseTtl: number;
  onLoss: 'freeze' | 'local';
}

export interface ClusterProblem {
  path: string;
  message: string;
}

/** Fills the instance name and resolves file paths against the config file's folder; unreadable files are problems. */
export function resolveCluster(raw: RawClusterConfig, baseDir: string): { config: ClusterConfig; problems: ClusterProblem[] } {
  const problems: ClusterProblem[] = [];
  const file = (path: string, p: string): string => {
    const abs = resolve(baseDir, p);
    try {
      accessSync(abs, constants.R_OK);
    } catch (err) {
      problems.push({ path, message: `cannot read ${p}: ${(err as NodeJS.ErrnoException).code ?? 'unreadable'}` });
    }
    return abs;
  };
  const tls = raw.etcd.tls;
  const auth = raw.etcd.auth;
  const instance = raw.instance ?? hostname();
  if (!NAME.test(instance)) problems.push({ path: 'cluster.instance', message: `the hostname ${JSON.stringify(instance)} is not a usable instance name (1-64 letters, digits, _ . -): set cluster.instance` });
  return {
    config: {
      name: raw.name,
      instance,
      etcd: {
        endpoints: raw.etcd.endpoints,
        ...(tls
          ? {
              tls: {
                ca: file('cluster.etcd.tls.ca', tls.ca),
                ...(tls.cert !== undefined ? { cert: file('cluster.etcd.tls.cert', tls.cert) } : {}),
                ...(tls.key !== undefined ? { key: file('cluster.etcd.tls.key', tls.key) } : {}),
              },
            }
          : {}),
        ...(auth ? { auth: { username: auth.username, passwordFile: file('cluster.etcd.auth.passwordFile', auth.passwordFile) } } : {}),
        maxTxnOps: raw.etcd.maxTxnOps,
        maxTxnBytes: raw.etcd.maxTxnBytes,
      },
      quorum: raw.quorum,
      leaseTtl: raw.leaseTtl,
      onLoss: raw.onLoss,
    },
    problems,
  };
}
