/**
 * The `secondaries:`, `transfer:` and `tsig:` sections of failoverd.yaml
 * (secondaries support: NOTIFY, AXFR/IXFR, TSIG). config/schema.ts adds the
 * three keys; resolveTransferConfig() does what needs the whole config and
 * the file system (served zones, key references, secret files).
 *
 * Secrets are held in a TsigSecret, which prints and serialises as
 * "[redacted]": a config object can be logged or shown in a status page
 * without leaking a key.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { z } from 'zod';
import { errorText, quote } from '../errors.ts';
import { canonicalName } from '../dns-model/names.ts';
import { dnsNameSchema } from './dns-name.ts';
import { Redacted } from './redacted.ts';
import { canonicalIp } from './ip-address.ts';

export const TSIG_ALGORITHMS = ['hmac-sha256', 'hmac-sha384', 'hmac-sha512', 'hmac-sha224', 'hmac-sha1'] as const;
export type TsigAlgorithm = (typeof TSIG_ALGORITHMS)[number];

/** A TSIG secret: the bytes are reachable only through bytes(). */
export class TsigSecret extends Redacted {
  readonly #bytes: Buffer;
  constructor(bytes: Buffer) {
    super();
    this.#bytes = Buffer.from(bytes);
  }
  bytes(): Buffer {
    return this.#bytes;
  }
}


/** "192.0.2.1:53", "[2001:db8::1]:53", or an address alone (port 53). */
export const secondaryAddress = z.string().transform((v, ctx) => {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+))(?::(\d{1,5}))?$/.exec(v);
  const host = m?.[1] ?? m?.[2] ?? (isIP(v) === 6 ? v : undefined);
  const port = m?.[3] !== undefined ? Number(m[3]) : 53;
  if (!host || !isIP(host) || !(port >= 1 && port <= 65535)) {
    ctx.addIssue({ code: 'custom', message: `not an address[:port]: ${quote(v)} (use e.g. 192.0.2.1:53 or [2001:db8::1]:53)` });
    return z.NEVER;
  }
  return { host: canonicalIp(host), port };
});

/** "10.0.0.0/8", "2001:db8::/32", or one address (a /32 or /128); no IPv6 zone id (a client address has none to match). */
const cidr = z.string().refine((v) => {
  const [addr, bits, ...rest] = v.split('/');
  const family = isIP(addr ?? '');
  if (!family || rest.length || addr!.includes('%')) return false;
  if (bits === undefined) return true;
  return /^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128);
}, 'not an address or CIDR block (use e.g. 127.0.0.1/32, 10.0.0.0/8, ::1/128)');

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export const tsigKeySchema = z
  .strictObject({
    algorithm: z.enum(TSIG_ALGORITHMS).default('hmac-sha256'),
    /** Base64, as tsig-keygen and keymgr print it. */
    secret: z.string().optional(),
    /** A file holding the base64 secret (alone, or in a BIND key clause or a Knot key entry). */
    secretFile: z.string().min(1).optional(),
  })
  .superRefine((k, ctx) => {
    if ((k.secret === undefined) === (k.secretFile === undefined)) ctx.addIssue({ code: 'custom', message: 'give exactly one of secret or secretFile' });
    // The value is never echoed back: it is a secret.
    if (k.secret !== undefined && !validSecret(k.secret)) ctx.addIssue({ code: 'custom', path: ['secret'], message: 'secret must be base64 of at least 16 bytes (e.g. from `tsig-keygen -a hmac-sha256` or `keymgr -t name`)' });
  });

export const tsigSchema = z.record(z.string().regex(/^[A-Za-z0-9_.-]+$/, 'key names use letters, digits, _ . -'), tsigKeySchema).default({});

export const secondarySchema = z.strictObject({
  /** Where NOTIFY is sent. */
  address: secondaryAddress,
  zones: z.array(dnsNameSchema).min(1),
  /** The name of a key in `tsig:` that signs NOTIFY to this secondary. */
  tsig: z.string().min(1).optional(),
});

export const secondariesSchema = z.array(secondarySchema).default([]);

export const transferSchema = z
  .strictObject({
    /** Who may AXFR/IXFR without a key; nobody by default. A request signed with a configured key is always allowed. */
    allow: z.array(cidr).default([]),
    /** How many serial changes per zone the IXFR journal keeps. */
    journal: z.number().int().min(0).max(100_000).default(100),
  })
  .default({ allow: [], journal: 100 });

export interface TsigKey {
  /** Canonical key name (lower case, no trailing dot), as on the wire. */
  name: string;
  algorithm: TsigAlgorithm;
  secret: TsigSecret;
}

export interface SecondaryConfig {
  address: { host: string; port: number };
  zones: string[];
  /** Canonical key name, when NOTIFY to it is signed. */
  tsig?: string;
}

export interface TransferConfig {
  allow: string[];
  journal: number;
}

/** What the rest of failoverd reads (config.secondaries, config.transfer, config.tsig). */
export interface TransferSettings {
  secondaries: SecondaryConfig[];
  transfer: TransferConfig;
  tsig: TsigKey[];
}

export interface TransferProblem {
  path: string;
  message: string;
}

type RawSections = {
  secondaries: z.output<typeof secondariesSchema>;
  transfer: z.output<typeof transferSchema>;
  tsig: z.output<typeof tsigSchema>;
};

/**
 * The keys of a key map (`tsig:`, `rfc2136.keys`): secrets read from their
 * files (relative to the config's directory), names made canonical; problems
 * are pushed with paths under `at`. `byName` maps each canonical name to its
 * label as written.
 */
export function resolveTsigKeys(raw: z.output<typeof tsigSchema>, baseDir: string, at: string, problems: TransferProblem[]): { keys: TsigKey[]; byName: Map<string, string> } {
  const keys: TsigKey[] = [];
  const byName = new Map<string, string>();
  for (const [label, k] of Object.entries(raw)) {
    const name = canonicalName(label);
    if (byName.has(name)) problems.push({ path: `${at}.${label}`, message: `key name ${name} is also given as ${byName.get(name)}` });
    byName.set(name, label);
    let text = k.secret;
    if (k.secretFile !== undefined) {
      try {
        text = extractSecret(readFileSync(resolve(baseDir, k.secretFile), 'utf8'));
        if (!validSecret(text)) problems.push({ path: `${at}.${label}.secretFile`, message: `${k.secretFile} holds no base64 secret of at least 16 bytes` });
      } catch (err) {
        problems.push({ path: `${at}.${label}.secretFile`, message: `cannot read ${k.secretFile}: ${errorText(err)}` });
        continue;
      }
    }
    if (text === undefined) continue;
    keys.push({ name, algorithm: k.algorithm, secret: new TsigSecret(Buffer.from(text, 'base64')) });
  }
  return { keys, byName };
}

/**
 * Reads secret files (relative to the config's directory), checks that
 * secondaries name served zones (not when `servedZones` is undefined: a
 * zone file failed to load, and is reported) and configured keys.
 */
export function resolveTransferConfig(raw: RawSections, baseDir: string, servedZones: readonly string[] | undefined): { settings: TransferSettings; problems: TransferProblem[] } {
  const problems: TransferProblem[] = [];
  const { keys, byName } = resolveTsigKeys(raw.tsig, baseDir, 'tsig', problems);
  const served = new Set(servedZones ?? []);
  const secondaries: SecondaryConfig[] = raw.secondaries.map((s, i) => {
    s.zones.forEach((z, j) => {
      if (servedZones !== undefined && !served.has(z)) problems.push({ path: `secondaries[${i}].zones[${j}]`, message: `${z} is not a served zone (served: ${[...served].join(', ') || 'none'})` });
    });
    const tsig = s.tsig === undefined ? undefined : canonicalName(s.tsig);
    if (tsig !== undefined && !byName.has(tsig)) problems.push({ path: `secondaries[${i}].tsig`, message: `unknown key ${quote(s.tsig!)} (defined in tsig: ${Object.keys(raw.tsig).join(', ') || 'none'})` });
    return { address: s.address, zones: [...new Set(s.zones)], tsig };
  });
  return { settings: { secondaries, transfer: { allow: raw.transfer.allow, journal: raw.transfer.journal }, tsig: keys }, problems };
}

function validSecret(text: string): boolean {
  const t = text.trim();
  return BASE64.test(t) && Buffer.from(t, 'base64').length >= 16;
}

/** The base64 secret in a file: alone, `secret "..."` (BIND) or `secret: ...` (Knot). */
function extractSecret(text: string): string {
  const m = /secret\s*[:\s]\s*"?([A-Za-z0-9+/=]+)"?/.exec(text);
  return (m ? m[1]! : text).trim();
}
