/**
 * The reload table (src/config/reload-effects.ts), key by key: every
 * top-level key of the schema (and admin.listen) is changed in turn; a key
 * the table applies reaches the config the daemon runs, a key that needs a
 * restart keeps its running value and is named. The table covers every key
 * of the schema, and docs/configuration.md prints it per key.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { configKeys } from '../src/config/config-keys.ts';
import { renderConfigReference } from '../scripts/config-reference.ts';
import { planReload, reloadRuleOf, RELOAD_EFFECTS } from '../src/config/reload-effects.ts';
import { configSchema } from '../src/config/schema.ts';
import { AdminSecret, type AdminTls } from '../src/config/admin.ts';
import { TsigSecret } from '../src/config/transfer.ts';
import type { Config } from '../src/config/types.ts';

const check = { type: 'http', port: 80, path: '/', expect: { status: ['200'] }, tlsVerify: true, interval: 1000, fastInterval: 200, timeout: 500, rise: 2, fall: 2, watch: true } as unknown as Config['checks'][string];

const base: Config = {
  file: 'failoverd.yaml',
  dns: { listen: [{ host: '127.0.0.1', port: 5353 }], workers: 1, tcp: { maxConnections: 256, maxPerClient: 32, messageTimeout: 5000, idleTimeout: 10_000 } },
  zoneFiles: ['zones/example.test.zone'],
  log: { level: 'info' },
  startupTimeout: 5000,
  checks: { web: check },
  records: [],
  admin: { listen: { host: '127.0.0.1', port: 8053 }, statusPage: true, allowedHosts: [], allowedOrigins: [], tokens: [], clients: [], openReads: true, allowPlaintext: false },
  state: { file: '/var/lib/failoverd/state.json' },
  notify: [],
  maintenance: [],
  secondaries: [],
  transfer: { allow: [], journal: 100 },
  tsig: [],
};

/** One change per top-level key of the schema (and per sub-key with a rule of its own). */
const CHANGES: Record<string, (c: Config) => Config> = {
  dns: (c) => ({ ...c, dns: { ...c.dns, listen: [...c.dns.listen, { host: '::1', port: 5353 }], workers: 2 } }),
  zones: (c) => ({ ...c, zoneFiles: [...c.zoneFiles, 'zones/other.test.zone'] }),
  log: (c) => ({ ...c, log: { level: 'debug' } }),
  startupTimeout: (c) => ({ ...c, startupTimeout: 10_000 }),
  checks: (c) => ({ ...c, checks: { ...c.checks, api: check } }),
  records: (c) => ({ ...c, records: [{ name: 'www.example.test' } as Config['records'][number]] }),
  route53: (c) => ({ ...c, route53: { hostedZoneId: 'Z1' } as unknown as Config['route53'] }),
  rfc2136: (c) => ({ ...c, rfc2136: { ownerId: 'o1' } as unknown as Config['rfc2136'] }),
  admin: (c) => ({ ...c, admin: { ...c.admin, tokens: [{ name: 'ops', scope: 'operate', secret: new AdminSecret('a-new-token-0123456789') }], statusPage: false, allowedHosts: ['failoverd.example.com'] } }),
  'admin.listen': (c) => ({ ...c, admin: { ...c.admin, listen: { host: '127.0.0.1', port: 9053 } } }),
  state: (c) => ({ ...c, state: { file: '/srv/state.json' } }),
  notify: (c) => ({ ...c, notify: [{ url: 'https://hooks.example.com/x', format: 'json', headers: {}, timeout: 5000, retries: 5, backoff: 1000, queue: 1000 }] }),
  maintenance: (c) => ({ ...c, maintenance: [{ name: 'weekly', targets: ['t'], cron: '0 3 * * 0', duration: 60_000, reason: 'patching' }] }),
  secondaries: (c) => ({ ...c, secondaries: [{ address: { host: '192.0.2.53', port: 53 }, zones: ['example.test'] }] }),
  transfer: (c) => ({ ...c, transfer: { allow: ['192.0.2.0/24'], journal: 100 } }),
  tsig: (c) => ({ ...c, tsig: [{ name: 'xfr', algorithm: 'hmac-sha256', secret: new TsigSecret(Buffer.alloc(32, 1)) }] }),
  cluster: (c) => ({ ...c, cluster: { name: 'edge', instance: 'fo-1', etcd: { endpoints: ['http://127.0.0.1:2379'], maxTxnOps: 100, maxTxnBytes: 1048576 }, quorum: 'majority', leaseTtl: 3000, onLoss: 'freeze' } }),
};

const topLevel = Object.keys(configSchema.shape);

test('the table has a rule for every top-level key and for every key of the schema, and names no key the schema lacks', () => {
  assert.deepEqual(topLevel.filter((k) => !RELOAD_EFFECTS[k]), [], 'top-level keys missing from RELOAD_EFFECTS');
  const paths = new Set(configKeys().map((r) => r.path));
  assert.deepEqual(configKeys().filter((r) => !reloadRuleOf(r.path)).map((r) => r.path), []);
  assert.deepEqual(Object.keys(RELOAD_EFFECTS).filter((k) => !paths.has(k)), [], 'RELOAD_EFFECTS names keys the schema does not have');
  assert.equal(reloadRuleOf('admin.listen')!.effect, 'restart');
  assert.equal(reloadRuleOf('admin.statusPage')!.effect, 'applied');
  assert.equal(reloadRuleOf('records[].targets[].address')!.effect, 'applied');
  assert.equal(reloadRuleOf('dns.tcp.maxConnections')!.effect, 'restart');
});

test('every top-level key, changed: applied, or kept and named as needing a restart', () => {
  assert.deepEqual(topLevel.filter((k) => !CHANGES[k]), [], 'a top-level key without a change in this table: add one');
  for (const [key, change] of Object.entries(CHANGES)) {
    const next = change(base);
    const plan = planReload(base, next);
    const rule = reloadRuleOf(key)!;
    const value = (c: Config) => JSON.stringify(key.split('.').reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k === 'zones' ? 'zoneFiles' : k], c));
    if (rule.effect === 'applied') {
      assert.deepEqual(plan.needsRestart, [], `${key}: applied, nothing waits for a restart`);
      assert.equal(value(plan.applied), value(next), `${key}: the new value runs`);
    } else {
      assert.ok(plan.needsRestart.length > 0, `${key}: named as needing a restart`);
      for (const r of plan.needsRestart) {
        assert.ok(r.key === key || r.key.startsWith(key + '.'), `${key}: names ${r.key}`);
        assert.equal(r.why, rule.why);
      }
      assert.equal(value(plan.applied), value(base), `${key}: the running value stays`);
    }
    // Nothing else moves: every other key is the new config's (they are the same as the base's here).
    for (const other of topLevel.filter((k) => k !== key.split('.')[0])) {
      const v = (c: Config) => JSON.stringify((c as unknown as Record<string, unknown>)[other === 'zones' ? 'zoneFiles' : other]);
      assert.equal(v(plan.applied), v(base), `${key} changed ${other}`);
    }
  }
  // A section names the keys that changed in it.
  assert.deepEqual(planReload(base, CHANGES.dns!(base)).needsRestart.map((r) => r.key), ['dns.listen', 'dns.workers']);
  // The applied part of a section still applies when its restart part changed too.
  const both = planReload(base, CHANGES['admin.listen']!(CHANGES.admin!(base)));
  assert.deepEqual(both.needsRestart.map((r) => r.key), ['admin.listen']);
  assert.deepEqual([both.applied.admin.listen, both.applied.admin.statusPage, both.applied.admin.tokens.map((t) => t.name)], [base.admin.listen, false, ['ops']]);
  // admin.tls: new files are applied (rotation); turning TLS or client certificates on or off waits for a restart.
  const tls = (cert: string, clientCA?: string): AdminTls => ({ certFile: 'c.pem', keyFile: 'k.pem', cert: Buffer.from(cert), key: new AdminSecret('k'), ...(clientCA ? { clientCA: Buffer.from(clientCA), clientCAFile: 'ca.pem' } : {}) });
  const withTls = (c: Config, t: AdminTls | undefined): Config => ({ ...c, admin: { ...c.admin, ...(t ? { tls: t } : {}) } });
  const rotated = planReload(withTls(base, tls('old')), withTls(base, tls('new')));
  assert.deepEqual(rotated.needsRestart, []);
  assert.equal(rotated.applied.admin.tls!.cert.toString(), 'new');
  const turnedOn = planReload(base, withTls(base, tls('new')));
  assert.deepEqual(turnedOn.needsRestart.map((r) => r.key), ['admin.tls']);
  assert.equal(turnedOn.applied.admin.tls, undefined);
  assert.deepEqual(planReload(withTls(base, tls('a')), withTls(base, tls('a', 'ca'))).needsRestart.map((r) => r.key), ['admin.tls']);
  // A cluster section removed stays until a restart.
  const withCluster = CHANGES.cluster!(base);
  assert.deepEqual(planReload(withCluster, base).applied.cluster, withCluster.cluster);
});

test('docs/configuration.md says per key what a reload does', () => {
  const doc = renderConfigReference();
  assert.match(doc, /\| `admin\.listen` \|[^\n]*\| restart \|/);
  assert.match(doc, /\| `admin\.statusPage` \|[^\n]*\| applied \|/);
  assert.match(doc, /\| `transfer\.allow` \|[^\n]*\| applied \|/);
  assert.match(doc, /\| `dns\.tcp\.maxConnections` \|[^\n]*\| restart \|/);
});
