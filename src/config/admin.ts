/**
 * The `admin:` section of failoverd.yaml: where the admin API listens, TLS
 * (and client certificates), and who may do what. config/schema.ts adds the
 * key; resolveAdmin() reads the token and certificate files (relative to the
 * config file's folder) and reports what is wrong with them.
 *
 * Scopes, each including the ones before it: `read` (status, explain,
 * transitions, metrics, the status page), `operate` (drain, undrain, pin,
 * failback), `admin` (reload). Token values are held in an AdminSecret,
 * which prints and serialises as "[redacted]".
 */
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { resolve } from 'node:path';
import { z } from 'zod';
import { errorText } from '../errors.ts';
import { Redacted } from './redacted.ts';

export const SCOPES = ['read', 'operate', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

/** Does `have` include `need`? (admin ⊃ operate ⊃ read) */
export function scopeIncludes(have: Scope, need: Scope): boolean {
  return SCOPES.indexOf(have) >= SCOPES.indexOf(need);
}

/** A secret value: reachable only through value(); logs and JSON show "[redacted]". */
export class AdminSecret extends Redacted {
  readonly #value: string;
  constructor(value: string) {
    super();
    this.#value = value;
  }
  value(): string {
    return this.#value;
  }
}

const NAME = z.string().regex(/^[A-Za-z0-9_.@-]{1,64}$/, 'names use 1-64 letters, digits, _ . @ -');
const scope = z.enum(SCOPES, { error: 'scope is read, operate or admin' });

/** The smallest token accepted: 16 characters (e.g. `openssl rand -hex 16` gives 32). */
export const MIN_TOKEN_LENGTH = 16;

/** The keys of `admin:` but listen (schema.ts adds it, with the other address:port keys). */
export const adminFields = {
    token: z.string().min(1).optional(),
    statusPage: z.boolean().default(true),
    /** Names the Host header may carry besides the listen address and localhost. */
    allowedHosts: z.array(z.string().regex(/^[A-Za-z0-9_.-]+$/, 'a host name (letters, digits, _ . -), without port or scheme')).default([]),
    /** Origins (scheme://host[:port]) whose pages may call the API. */
    allowedOrigins: z
      .array(
        z.url({ protocol: /^https?$/, error: 'an origin is http(s)://host[:port], e.g. https://grafana.example.com' }).refine(
          (u) => {
            const x = new URL(u);
            return x.pathname === '/' && !x.search && !x.hash && !x.username && !x.password;
          },
          { message: 'an origin is scheme://host[:port] only, without a path' },
        ),
      )
      .default([]),
    tls: z
      .strictObject({
        cert: z.string().min(1),
        key: z.string().min(1),
        /** Clients must present a certificate signed by this CA (mutual TLS). */
        clientCA: z.string().min(1).optional(),
      })
      .optional(),
    /** Named tokens, each read from a file, with a scope. */
    tokens: z.array(z.strictObject({ name: NAME, scope, file: z.string().min(1) })).default([]),
    /** Client certificate names (subject CN or a DNS subjectAltName) and their scope; with tls.clientCA. */
    clients: z.array(z.strictObject({ name: z.string().min(1).max(255), scope })).default([]),
    /** Reads (status, metrics, the page) without credentials. false: they need a read token or certificate. */
    openReads: z.boolean().default(true),
    /** A listen address beyond loopback without tls: allowed only with this (tokens would cross the network in clear). */
    allowPlaintext: z.boolean().default(false),
};

export const ADMIN_DEFAULTS = { statusPage: true, allowedHosts: [], allowedOrigins: [], tokens: [], clients: [], openReads: true, allowPlaintext: false };

export type RawAdmin = { listen: { host: string; port: number } } & z.output<z.ZodObject<typeof adminFields>>;

export interface AdminToken {
  name: string;
  scope: Scope;
  secret: AdminSecret;
}

export interface AdminTls {
  certFile: string;
  keyFile: string;
  clientCAFile?: string;
  cert: Buffer;
  key: AdminSecret;
  clientCA?: Buffer;
}

/** What the rest of failoverd reads as config.admin. */
export interface AdminConfig {
  listen: { host: string; port: number };
  statusPage: boolean;
  allowedHosts: string[];
  allowedOrigins: string[];
  /** Every token: named ones, and admin.token / FAILOVERD_ADMIN_TOKEN as "admin.token" with scope admin. */
  tokens: AdminToken[];
  clients: Array<{ name: string; scope: Scope }>;
  tls?: AdminTls;
  openReads: boolean;
  allowPlaintext: boolean;
}

export interface AdminProblem {
  path: string;
  message: string;
}

export function isLoopback(host: string): boolean {
  return /^127\./.test(host) || host === '::1' || host === 'localhost';
}

/** Reads the files of the admin section; every problem with its key path. */
export function resolveAdmin(raw: RawAdmin, baseDir: string, env: NodeJS.ProcessEnv = process.env): { config: AdminConfig; problems: AdminProblem[] } {
  const problems: AdminProblem[] = [];
  const read = (path: string, file: string): Buffer | undefined => {
    try {
      return readFileSync(resolve(baseDir, file));
    } catch (err) {
      problems.push({ path, message: `cannot read ${file}: ${errorText(err)}` });
      return undefined;
    }
  };
  const tokens: AdminToken[] = [];
  const legacy = raw.token ?? (env.FAILOVERD_ADMIN_TOKEN || undefined);
  if (legacy !== undefined) tokens.push({ name: raw.token !== undefined ? 'admin.token' : 'FAILOVERD_ADMIN_TOKEN', scope: 'admin', secret: new AdminSecret(legacy) });
  const names = new Set<string>();
  raw.tokens.forEach((t, i) => {
    if (names.has(t.name)) problems.push({ path: `admin.tokens[${i}].name`, message: `token name ${t.name} is given twice` });
    names.add(t.name);
    const bytes = read(`admin.tokens[${i}].file`, t.file);
    if (!bytes) return;
    const value = bytes.toString('utf8').trim();
    // The value is never echoed back: it is a secret.
    if (value.length < MIN_TOKEN_LENGTH || /\s/.test(value)) {
      problems.push({ path: `admin.tokens[${i}].file`, message: `${t.file} must hold one token of at least ${MIN_TOKEN_LENGTH} characters without spaces (e.g. from \`openssl rand -hex 24\`)` });
      return;
    }
    if (tokens.some((o) => o.secret.value() === value)) problems.push({ path: `admin.tokens[${i}].file`, message: `${t.file} holds the same token as another one: give each its own` });
    tokens.push({ name: t.name, scope: t.scope, secret: new AdminSecret(value) });
  });
  let tls: AdminTls | undefined;
  if (raw.tls) {
    const cert = read('admin.tls.cert', raw.tls.cert);
    const key = read('admin.tls.key', raw.tls.key);
    const clientCA = raw.tls.clientCA !== undefined ? read('admin.tls.clientCA', raw.tls.clientCA) : undefined;
    if (cert && key && (raw.tls.clientCA === undefined || clientCA)) {
      try {
        createSecureContext({ cert, key, ...(clientCA ? { ca: clientCA } : {}) });
        tls = { certFile: raw.tls.cert, keyFile: raw.tls.key, cert, key: new AdminSecret(key.toString('utf8')), ...(clientCA ? { clientCA, clientCAFile: raw.tls.clientCA } : {}) };
      } catch (err) {
        problems.push({ path: 'admin.tls', message: `the certificate, key${clientCA ? ' and client CA' : ''} do not make a TLS setup: ${errorText(err)} (PEM files; the key must be the certificate's)` });
      }
    }
  }
  if (raw.clients.length > 0 && !raw.tls?.clientCA) problems.push({ path: 'admin.clients', message: 'client certificate names need admin.tls.clientCA (the CA that signs the clients\' certificates)' });
  const credentials = tokens.length > 0 || raw.clients.length > 0;
  if (!isLoopback(raw.listen.host)) {
    if (!credentials) problems.push({ path: 'admin.listen', message: `admin.listen ${raw.listen.host} is not a loopback address: set admin.tokens (or admin.token, FAILOVERD_ADMIN_TOKEN) or admin.clients so that changes need credentials` });
    if (!raw.tls && !raw.allowPlaintext) {
      problems.push({ path: 'admin.listen', message: `admin.listen ${raw.listen.host} is not a loopback address and admin.tls is not set: tokens and changes would cross the network in clear. Set admin.tls (cert, key), or admin.allowPlaintext: true to accept that (behind a TLS proxy, on a private network)` });
    }
  }
  if (!raw.openReads && !credentials) problems.push({ path: 'admin.openReads', message: 'openReads: false needs admin.tokens or admin.clients: else nobody could read' });
  return {
    config: { listen: raw.listen, statusPage: raw.statusPage, allowedHosts: raw.allowedHosts, allowedOrigins: raw.allowedOrigins, tokens, clients: raw.clients, ...(tls ? { tls } : {}), openReads: raw.openReads, allowPlaintext: raw.allowPlaintext },
    problems,
  };
}

/** What the start log line says about access: names and scopes, never a token. */
export function adminAccessSummary(a: AdminConfig): Record<string, unknown> {
  return {
    tls: a.tls ? (a.tls.clientCA ? 'on, client certificates required' : 'on') : 'off',
    tokens: a.tokens.map((t) => `${t.name} (${t.scope})`),
    clients: a.clients.map((c) => `${c.name} (${c.scope})`),
    auth: a.tokens.length || a.clients.length ? (a.openReads ? 'changes need credentials; reads open' : 'every request needs credentials') : 'none (loopback only)',
  };
}
