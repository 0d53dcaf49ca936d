/**
 * What a reload (SIGHUP, POST /v1/reload, `failoverd reload`) does with each
 * key of failoverd.yaml: applies it, or keeps the running value until a
 * restart and says so (a warn line and `needsRestart` in the reload's
 * reply). The one table: the daemon's reload reads it (planReload), the
 * config reference (docs/configuration.md) prints it per key, and
 * test/reload-effects.test.ts checks that every top-level key is in it.
 *
 * A key's effect is the entry of its longest listed prefix: `admin.listen`
 * needs a restart while the rest of `admin` is applied.
 */
import type { Config } from './types.ts';

export type ReloadEffect = 'applied' | 'restart';

export interface ReloadRule {
  effect: ReloadEffect;
  /** Why it needs a restart, or how it is applied (docs and warn lines). */
  why: string;
  /** An applied key some of whose changes still need a restart: those, and why. */
  restartWhen?: { changed: (before: unknown, after: unknown) => boolean; why: string };
}

export const RELOAD_EFFECTS: Record<string, ReloadRule> = {
  dns: { effect: 'restart', why: 'the listening sockets and UDP worker processes are opened once, at start' },
  zones: { effect: 'applied', why: 'zone files are read again; every changed zone is served with a new serial' },
  log: { effect: 'applied', why: 'the level is set on the running logger' },
  startupTimeout: { effect: 'restart', why: 'used once, while the daemon starts' },
  checks: { effect: 'applied', why: 'probes whose settings did not change keep their health; changed ones start again' },
  records: { effect: 'applied', why: 'record sets are added, changed and removed; unchanged ones keep their state' },
  route53: { effect: 'restart', why: 'the Route 53 client and its hosted zone state are set up once, at start' },
  rfc2136: { effect: 'restart', why: 'the servers, keys and what was read back from them are set up once, at start' },
  admin: { effect: 'applied', why: 'read at each request (admin.listen needs a restart)' },
  'admin.listen': { effect: 'restart', why: 'the listening socket is opened once, at start' },
  'admin.tls': {
    effect: 'applied',
    why: 'the certificate, key and client CA files are read again and used for new connections; the listener stays open',
    restartWhen: {
      changed: (a, b) => !a !== !b || !(a as { clientCA?: unknown } | undefined)?.clientCA !== !(b as { clientCA?: unknown } | undefined)?.clientCA,
      why: 'turning TLS or client certificates (clientCA) on or off changes the listener, opened once at start',
    },
  },
  state: { effect: 'restart', why: 'the state file is read once, at start, and written where it was read' },
  notify: { effect: 'applied', why: 'webhooks are replaced; deliveries queued for removed ones are dropped' },
  maintenance: { effect: 'applied', why: 'windows are scheduled again; a drain of a removed window is released' },
  secondaries: { effect: 'applied', why: 'NOTIFY goes to the new list; an added secondary is notified at once' },
  transfer: { effect: 'applied', why: 'the next AXFR/IXFR is checked against the new allow list and keys' },
  tsig: { effect: 'applied', why: 'the next signed message is checked with the new keys' },
  cluster: { effect: 'restart', why: 'the etcd client, lease and election are set up once, at start' },
};

/** The rule of a config key path ("admin.listen", "records[].ttl", "checks.<name>.port"): its longest listed prefix. */
export function reloadRuleOf(path: string): ReloadRule | undefined {
  let p = path;
  for (let i = 0; i < 32 && p; i++) {
    const rule = RELOAD_EFFECTS[p];
    if (rule) return rule;
    const cut = p.endsWith('[]') ? p.length - 2 : p.lastIndexOf('.');
    if (cut <= 0) return undefined;
    p = p.slice(0, cut);
  }
  return undefined;
}

function get(config: Config, path: string): unknown {
  let v: unknown = config;
  for (const seg of path.split('.')) v = v === undefined || v === null ? undefined : (v as Record<string, unknown>)[seg];
  return v;
}

function set(config: Config, path: string, value: unknown): Config {
  const [head, ...rest] = path.split('.');
  const out = { ...config } as Record<string, unknown>;
  if (rest.length === 0) {
    if (value === undefined) delete out[head!];
    else out[head!] = value;
  } else out[head!] = set((out[head!] ?? {}) as Config, rest.join('.'), value) as unknown;
  return out as unknown as Config;
}

/** A stable comparison: JSON of the values (TSIG secrets print as "[redacted]", and tsig is applied, so never compared here). */
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

export interface ReloadPlan {
  /** The config to run: the new one, with the running value of every key that needs a restart. */
  applied: Config;
  /** Keys whose new value waits for a restart, with why. */
  needsRestart: Array<{ key: string; why: string }>;
}

/** What a reload from `running` to `next` applies, and which changed keys wait for a restart. */
export function planReload(running: Config, next: Config): ReloadPlan {
  let applied = next;
  const needsRestart: ReloadPlan['needsRestart'] = [];
  for (const [key, rule] of Object.entries(RELOAD_EFFECTS)) {
    const before = get(running, key);
    if (rule.restartWhen) {
      if (!rule.restartWhen.changed(before, get(next, key))) continue;
      needsRestart.push({ key, why: rule.restartWhen.why });
      applied = set(applied, key, before);
      continue;
    }
    if (rule.effect !== 'restart') continue;
    if (same(before, get(next, key))) continue;
    const after = get(next, key);
    // A section names its changed keys (dns.listen, not dns).
    const section = (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v);
    const keys = !key.includes('.') && section(before) && section(after) ? [...new Set([...Object.keys(before as object), ...Object.keys(after as object)])].filter((k) => !same((before as Record<string, unknown>)[k], (after as Record<string, unknown>)[k])).map((k) => `${key}.${k}`) : [key];
    for (const k of keys) needsRestart.push({ key: k, why: rule.why });
    applied = set(applied, key, before);
  }
  return { applied, needsRestart };
}

/** The warn line (and the reply's text) for a key that waits for a restart. */
export function restartWarning(r: { key: string }): string {
  return `${r.key} changed: needs a restart (the running value stays until then)`;
}
