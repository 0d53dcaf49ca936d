/**
 * The admin API over TLS with certificates made by openssl at test time:
 * HTTPS only (plain HTTP and TLS 1.1 refused); named tokens read from files,
 * each with a scope, enforced per route (a read token gets 403 on drain);
 * an audit line for every change and refused attempt, without token
 * values; the CLI with --cacert and a token file; certificate rotation by
 * SIGHUP with requests running all along and none failed. Then mutual TLS:
 * no client certificate or one of another CA refused in the handshake, a
 * listed one allowed its scope, an unlisted one 403.
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { request, type RequestOptions } from 'node:https';
import { join } from 'node:path';
import { test } from 'node:test';
import { connect } from 'node:tls';
import { AdminDaemon, FAST, TestDir } from './helpers/admin-daemon.ts';
import { httpBackendsOnOnePort, type Backend } from './helpers/backends.ts';
import { runCli } from './helpers/cli.ts';
import { makePki } from './helpers/tls.ts';
import { scaled } from './helpers/eventually.ts';

const PRIMARY = 'www.example.test/A/127.0.0.1';
const DRAIN = `/v1/targets/${encodeURIComponent(PRIMARY)}/override`;
const TOKENS = { reader: 'reader-token-0123456789abcdef', oncall: 'oncall-token-0123456789abcdef', root: 'root-token-0123456789abcdef01' };

interface Reply {
  status: number;
  body: any;
  /** SHA-256 fingerprint of the server's certificate. */
  served: string;
}

function https(port: number, method: string, path: string, opts: RequestOptions & { token?: string; body?: unknown } = {}): Promise<Reply> {
  const payload = opts.body === undefined ? undefined : JSON.stringify(opts.body);
  const { token, body: _b, ...tls } = opts;
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, method, path, agent: false, timeout: 5000, ...tls, headers: { ...(method !== 'GET' ? { 'content-type': 'application/json' } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}) } },
      (res) => {
        const served = (res.socket as import('node:tls').TLSSocket).getPeerCertificate().fingerprint256;
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text.startsWith('{') ? JSON.parse(text) : text, served }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer in 5 s`)));
    req.on('error', reject);
    req.end(payload);
  });
}

async function start(t: import('node:test').TestContext, admin: (dir: string) => string): Promise<{ d: AdminDaemon; dir: TestDir; port: number } | undefined> {
  const backends: Backend[] = await httpBackendsOnOnePort(['127.0.0.1', '127.0.0.2']);
  const dir = new TestDir();
  let d: AdminDaemon | undefined;
  t.after(async () => {
    await d?.stop();
    for (const b of backends) await b.kill();
    dir.remove();
  });
  const section = admin(dir.dir);
  dir.write(`dns: { listen: ["127.0.0.1:0"] }
zones: zones
admin:
  listen: "127.0.0.1:0"
${section}checks:
  web: { type: http, port: ${backends[0]!.port}, ${FAST} }
records:
  - name: www.example.test
    type: A
    targets: [{ address: 127.0.0.1, check: web }, { address: 127.0.0.2, check: web }]
`);
  d = await AdminDaemon.start(dir, { FAILOVERD_ADMIN_TOKEN: '' }, 20_000);
  const listening = d.proc.logs.find((l) => l.msg === 'admin API listening')!;
  return { d, dir, port: (listening.listen as { port: number }).port };
}

const fingerprint = (file: string) => new X509Certificate(readFileSync(file)).fingerprint256;

test('HTTPS only, token scopes per route, audit lines, the CLI with --cacert and a token file, rotation by SIGHUP with no failed request', { timeout: scaled(90_000) }, async (t) => {
  let pki: ReturnType<typeof makePki>;
  const up = await start(t, (dir) => {
    pki = makePki(t, dir);
    if (!pki) return '';
    pki.issue('server', { cn: 'localhost', san: 'IP:127.0.0.1,DNS:localhost' });
    for (const [name, value] of Object.entries(TOKENS)) writeFileSync(join(dir, `${name}.token`), `${value}\n`);
    return `  tls: { cert: server.crt, key: server.key }
  openReads: false
  tokens:
    - { name: reader, scope: read, file: reader.token }
    - { name: oncall, scope: operate, file: oncall.token }
    - { name: root, scope: admin, file: root.token }
`;
  });
  if (!pki! || !up) return;
  const { d, port } = up;
  const ca = readFileSync(pki.ca);
  const tls = { ca, servername: 'localhost' };

  // HTTPS only: plain HTTP gets no answer; TLS 1.1 is refused.
  await assert.rejects(fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(5000) }));
  await assert.rejects(
    new Promise((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port, ca, servername: 'localhost', minVersion: 'TLSv1', maxVersion: 'TLSv1.1' }, () => resolve(s.getProtocol()));
      s.on('error', reject);
    }),
  );
  assert.equal((await https(port, 'GET', '/healthz', tls)).status, 200, '/healthz needs no credentials');

  // Scopes per route.
  assert.equal((await https(port, 'GET', '/v1/status', tls)).status, 401, 'openReads: false');
  assert.equal((await https(port, 'GET', '/v1/status', { ...tls, token: 'not-a-token-0123456789' })).status, 401);
  assert.equal((await https(port, 'GET', '/v1/status', { ...tls, token: TOKENS.reader })).status, 200);
  assert.equal((await https(port, 'GET', '/metrics', { ...tls, token: TOKENS.reader })).status, 200);
  const readDrain = await https(port, 'POST', DRAIN, { ...tls, token: TOKENS.reader, body: { state: 'down', reason: 'reader tries' } });
  assert.equal(readDrain.status, 403);
  assert.equal(readDrain.body.error.code, 'FORBIDDEN');
  assert.match(readDrain.body.error.message, /token "reader" has the read scope; this endpoint needs operate/);
  assert.equal((await https(port, 'POST', DRAIN, { ...tls, token: TOKENS.oncall, body: { state: 'down', reason: 'oncall drains' } })).status, 200);
  assert.equal((await https(port, 'POST', '/v1/reload', { ...tls, token: TOKENS.oncall })).status, 403);
  assert.equal((await https(port, 'DELETE', DRAIN, { ...tls, token: TOKENS.root })).status, 200);
  assert.equal((await https(port, 'POST', '/v1/reload', { ...tls, token: TOKENS.root })).status, 200);

  // The audit trail: who, what, from where, result; no token value anywhere in the log.
  await d.proc.waitForLog((l) => l.msg === 'admin change' && l.who === 'root' && l.path === '/v1/reload', 5000);
  const audit = d.proc.logs.filter((l) => l.msg === 'admin change').map((l) => [l.who, l.method, l.path, l.from, l.status, l.result]);
  assert.deepEqual(audit, [
    ['reader', 'POST', DRAIN, '127.0.0.1', 403, 'refused: FORBIDDEN'],
    ['oncall', 'POST', DRAIN, '127.0.0.1', 200, 'done'],
    ['oncall', 'POST', '/v1/reload', '127.0.0.1', 403, 'refused: FORBIDDEN'],
    ['root', 'DELETE', DRAIN, '127.0.0.1', 200, 'done'],
    ['root', 'POST', '/v1/reload', '127.0.0.1', 200, 'done'],
  ]);
  const logText = JSON.stringify(d.proc.logs) + d.proc.stderr;
  for (const value of Object.values(TOKENS)) assert.ok(!logText.includes(value), 'a token value is in the log');

  // The CLI: --cacert, the token from a file (option) or from FAILOVERD_ADMIN_TOKEN_FILE.
  const admin = `https://localhost:${port}`;
  const status = await runCli(['status', '--admin', admin, '--cacert', pki.ca, '--token-file', join(pki.dir, 'reader.token')]);
  assert.equal(status.code, 0, status.stderr);
  assert.match(status.stdout, /www\.example\.test\/A/);
  const denied = await runCli(['drain', PRIMARY, '--reason', 'x', '--admin', admin, '--cacert', pki.ca], { env: { FAILOVERD_ADMIN_TOKEN_FILE: join(pki.dir, 'reader.token') } });
  assert.equal(denied.code, 1);
  assert.match(denied.stderr, /has the read scope; this endpoint needs operate \(FORBIDDEN\)/);
  const untrusted = await runCli(['status', '--admin', admin, '--token-file', join(pki.dir, 'reader.token')]);
  assert.equal(untrusted.code, 1);
  assert.match(untrusted.stderr, /for a private CA give --cacert/);

  // Rotation: a new certificate in the same files, SIGHUP; requests on new connections run all along.
  const before = fingerprint(join(pki.dir, 'server.crt'));
  const next = pki.issue('server2', { cn: 'localhost', san: 'IP:127.0.0.1,DNS:localhost' });
  let stop = false;
  let failed = 0;
  const seen = new Set<string>();
  let requests = 0;
  const load = (async () => {
    for (let i = 0; i < 2000 && !stop; i++) {
      try {
        const r = await https(port, 'GET', '/v1/status', { ...tls, token: TOKENS.reader });
        if (r.status !== 200) failed++;
        seen.add(r.served);
      } catch {
        failed++;
      }
      requests++;
    }
  })();
  copyFileSync(next.cert, join(pki.dir, 'server.crt'));
  copyFileSync(next.key, join(pki.dir, 'server.key'));
  const since = d.proc.logs.length;
  d.proc.child.kill('SIGHUP');
  await d.proc.waitForLog((l) => l.msg === 'config reloaded', 15_000, since);
  const after = fingerprint(next.cert);
  for (let i = 0; i < 500 && !seen.has(after); i++) await new Promise((r) => setTimeout(r, 20));
  stop = true;
  await load;
  t.diagnostic(`rotation: ${requests} requests during it, ${failed} failed; certificates served: ${seen.size}`);
  assert.equal(failed, 0);
  assert.ok(seen.has(before) && seen.has(after), 'both the old and the new certificate were served');
  assert.equal((await https(port, 'GET', '/v1/status', { ...tls, token: TOKENS.reader })).served, after);

  // Rotation to broken files: a truncated certificate, then a key that is not the certificate's. The reload is refused
  // saying why (its reply and a log line), and the certificate before it keeps serving.
  const pkiDir = pki.dir;
  const good = { cert: readFileSync(join(pkiDir, 'server.crt')), key: readFileSync(join(pkiDir, 'server.key')) };
  const other = pki.issue('server3', { cn: 'localhost', san: 'IP:127.0.0.1,DNS:localhost' });
  const broken: Array<[string, () => void, RegExp]> = [
    ['a truncated certificate', () => writeFileSync(join(pkiDir, 'server.crt'), good.cert.subarray(0, good.cert.length / 2)), /certificate, key.* do not make a TLS setup/],
    ['a key that is not the certificate\'s', () => (writeFileSync(join(pkiDir, 'server.crt'), good.cert), copyFileSync(other.key, join(pkiDir, 'server.key'))), /do not make a TLS setup: .*(key values mismatch|KEY_VALUES_MISMATCH)/i],
  ];
  for (const [what, breakIt, why] of broken) {
    breakIt();
    const from = d.proc.logs.length;
    const r = await https(port, 'POST', '/v1/reload', { ...tls, token: TOKENS.root });
    assert.equal(r.status, 422, `${what}: ${JSON.stringify(r.body)}`);
    const problem = (r.body.error.details as Array<{ path?: string; message: string }>).find((p) => p.path === 'admin.tls');
    assert.ok(problem, `${what}: no admin.tls problem in ${JSON.stringify(r.body)}`);
    assert.match(problem.message, why, what);
    const line = await d.proc.waitForLog((l) => l.msg === 'reload refused: still serving the previous config', 5000, from);
    assert.equal(line.level, 50);
    assert.ok(d.proc.logs.slice(from).some((l) => l.path === 'admin.tls' && why.test(String(l.problem))), `${what}: a log line says why`);
    assert.equal((await https(port, 'GET', '/v1/status', { ...tls, token: TOKENS.reader })).served, after, `${what}: the certificate before it still serves`);
  }
  writeFileSync(join(pki.dir, 'server.key'), good.key);
});

test('mutual TLS: no client certificate or one of another CA refused in the handshake; a listed one gets its scope, an unlisted one 403', { timeout: scaled(60_000) }, async (t) => {
  let pki: ReturnType<typeof makePki>;
  let other: ReturnType<typeof makePki>;
  const up = await start(t, (dir) => {
    pki = makePki(t, dir);
    other = makePki(t, dir, 'other-ca');
    if (!pki || !other) return '';
    pki.issue('server', { cn: 'localhost', san: 'IP:127.0.0.1,DNS:localhost' });
    pki.issue('ops', { cn: 'ops.example.com', clientAuth: true });
    pki.issue('viewer', { cn: 'viewer', san: 'DNS:grafana.example.com', clientAuth: true });
    pki.issue('stranger', { cn: 'stranger', clientAuth: true });
    other.issue('forged', { cn: 'ops.example.com', clientAuth: true });
    return `  tls: { cert: server.crt, key: server.key, clientCA: ca.crt }
  clients:
    - { name: ops.example.com, scope: operate }
    - { name: grafana.example.com, scope: read }
`;
  });
  if (!pki! || !other! || !up) return;
  const { d, port } = up;
  const ca = readFileSync(pki.ca);
  const dirOf = pki.dir;
  const client = (name: string, dir = dirOf) => ({ ca, servername: 'localhost', cert: readFileSync(join(dir, `${name}.crt`)), key: readFileSync(join(dir, `${name}.key`)) });

  await assert.rejects(https(port, 'GET', '/healthz', { ca, servername: 'localhost' }), 'no client certificate');
  await assert.rejects(https(port, 'GET', '/healthz', client('forged')), 'a certificate of another CA');
  await d.proc.waitForLog((l) => l.msg === 'admin TLS handshake refused', 5000);
  assert.equal((await https(port, 'GET', '/v1/status', client('viewer'))).status, 200, 'a DNS subjectAltName names the client');
  assert.equal((await https(port, 'POST', DRAIN, { ...client('viewer'), body: { state: 'down', reason: 'viewer' } })).status, 403);
  assert.equal((await https(port, 'POST', DRAIN, { ...client('stranger'), body: { state: 'down', reason: 'stranger' } })).status, 403);
  assert.equal((await https(port, 'POST', DRAIN, { ...client('ops'), body: { state: 'down', reason: 'ops drains' } })).status, 200);
  assert.equal((await https(port, 'POST', '/v1/reload', client('ops'))).status, 403, 'operate is not admin');
  await d.proc.waitForLog((l) => l.msg === 'admin change' && l.who === 'ops.example.com' && l.path === '/v1/reload', 5000);
  const audit = d.proc.logs.filter((l) => l.msg === 'admin change').map((l) => [l.who, l.via, l.path, l.status]);
  assert.deepEqual(audit, [
    ['viewer', 'certificate', DRAIN, 403],
    ['stranger', 'certificate', DRAIN, 403],
    ['ops.example.com', 'certificate', DRAIN, 200],
    ['ops.example.com', 'certificate', '/v1/reload', 403],
  ]);
  // The CLI with a client certificate.
  const undrain = await runCli(['undrain', PRIMARY, '--admin', `https://localhost:${port}`, '--cacert', pki.ca, '--cert', join(pki.dir, 'ops.crt'), '--key', join(pki.dir, 'ops.key')]);
  assert.equal(undrain.code, 0, undrain.stderr);
  assert.deepEqual((await https(port, 'GET', '/v1/status', client('viewer'))).body.overrides, []);
});
