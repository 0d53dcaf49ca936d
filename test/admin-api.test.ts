/**
 * The admin API of a daemon started from the CLI, over real HTTP: every
 * endpoint, auth, bad bodies (400 and nothing changed), drains that move
 * the DNS answer (read through node:dns) and back, expiring overrides,
 * manual failback, and the CLI commands over the API.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { httpBackendsOnOnePort, tcpBackend, type Backend } from './helpers/backends.ts';
import { AdminDaemon, FAST, TestDir, TOKEN, until } from './helpers/admin-daemon.ts';
import { runCli } from './helpers/cli.ts';
import { freePort } from './helpers/ports.ts';

const dir = new TestDir();
let backends: Backend[] = [];
let d: AdminDaemon;
const PRIMARY = 'www.example.test/A/127.0.0.1';
const enc = encodeURIComponent;

before(async () => {
  backends = await httpBackendsOnOnePort(['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4']);
  dir.write(`dns: { listen: ["127.0.0.1:0"] }
zones: zones
log: { level: info }
admin: { listen: "127.0.0.1:0", token: "${TOKEN}" }
startupTimeout: 5s
checks:
  web: { type: http, port: ${backends[0]!.port}, ${FAST} }
records:
  - name: www.example.test
    type: A
    ttl: 30
    targets: [{ address: 127.0.0.1, check: web }, { address: 127.0.0.2, check: web }]
  - name: manual.example.test
    type: A
    failback: manual
    targets: [{ address: 127.0.0.3, check: web }, { address: 127.0.0.4, check: web, id: manual-backup }]
`);
  d = await AdminDaemon.start(dir);
});

after(async () => {
  await d?.stop();
  for (const b of backends) await b.kill();
  dir.remove();
});

test('GET /healthz and /readyz answer 200 once serving', async () => {
  const h = await d.api('GET', '/healthz');
  assert.equal(h.status, 200);
  assert.deepEqual(h.body, { status: 'ok' });
  const r = await d.api('GET', '/readyz');
  assert.equal(r.status, 200);
  assert.deepEqual(r.body, { status: 'ready' });
});

test('GET /v1/status: record sets with answer, policy, since and why; targets with real and effective health and the last probes', async () => {
  const { status, body } = await d.api('GET', '/v1/status');
  assert.equal(status, 200);
  assert.equal(body.ready, true);
  assert.equal(body.route53, null, 'Route 53 is not configured');
  assert.deepEqual(body.zones.map((z: any) => z.origin), ['example.test']);
  assert.ok(Number.isInteger(body.zones[0].serial));
  const www = body.recordSets.find((r: any) => r.key === 'www.example.test/A');
  assert.equal(www.answer, '127.0.0.1');
  assert.deepEqual(www.addresses, ['127.0.0.1']);
  assert.equal(www.policy, 'failover');
  assert.equal(www.ttl, 30);
  assert.equal(www.degraded, false);
  assert.match(www.reason, /^initial answer: primary www\.example\.test\/A\/127\.0\.0\.1 is UP \(check web: status 200\)$/);
  assert.ok(Date.parse(www.since) <= Date.now());
  assert.deepEqual(www.targets, [PRIMARY, 'www.example.test/A/127.0.0.2']);
  assert.deepEqual(body.targets.map((t: any) => t.id), [PRIMARY, 'www.example.test/A/127.0.0.2', 'manual.example.test/A/127.0.0.3', 'manual-backup']);
  const p = body.targets[0];
  assert.equal(p.role, 'primary');
  assert.equal(p.probe, 'web@127.0.0.1');
  assert.equal(p.answered, true);
  assert.equal(p.real.health, 'UP');
  assert.deepEqual(p.effective, { health: 'UP', since: p.effective.since, overridden: false, why: 'probes: UP' });
  assert.equal(p.override, null);
  assert.ok(p.history.length >= 2 && p.history.length <= 10, `history of ${p.history.length}`);
  assert.deepEqual(Object.keys(p.history[0]).sort(), ['at', 'latencyMs', 'ok', 'reason']);
  assert.equal(p.history[0].ok, true);
  assert.equal(p.history[0].reason, 'status 200');
  assert.ok(Date.parse(p.history[0].at) >= Date.parse(p.history[p.history.length - 1].at), 'newest first');
  assert.deepEqual(body.overrides, []);
});

test('GET /v1/explain: a paragraph and JSON; 400 without a name, 404 for names failoverd does not manage', async () => {
  const r = await d.api('GET', '/v1/explain?name=WWW.example.test.&type=a');
  assert.equal(r.status, 200);
  assert.equal(r.body.name, 'www.example.test');
  assert.match(r.body.explanation, /^www\.example\.test\/A \(policy failover\) answers 127\.0\.0\.1 with TTL 30 since \d{4}-.* because at start primary www\.example\.test\/A\/127\.0\.0\.1 is UP \(check web: status 200\)\. The primary www\.example\.test\/A\/127\.0\.0\.1 is UP since \d+s ago; last probe ok \(status 200, \d+ms\) \d+s ago\. The secondary .* Failback is automatic\.$/);
  assert.equal(r.body.recordSets[0].answer, '127.0.0.1');
  assert.equal((await d.api('GET', '/v1/explain')).status, 400);
  assert.equal((await d.api('GET', '/v1/explain?name=www.example.test&type=MX')).body.error.code, 'BAD_REQUEST');
  const stat = await d.api('GET', '/v1/explain?name=ns1.example.test');
  assert.equal(stat.status, 404);
  assert.match(stat.body.error.message, /static data of zone example\.test/);
  assert.match((await d.api('GET', '/v1/explain?name=nope.example.test')).body.error.message, /NXDOMAIN/);
  assert.match((await d.api('GET', '/v1/explain?name=www.other.test')).body.error.message, /outside every zone/);
});

test('GET /v1/transitions: empty at start; limit is checked', async () => {
  const r = await d.api('GET', '/v1/transitions?limit=5');
  assert.equal(r.status, 200);
  assert.deepEqual(r.body, { transitions: [] });
  for (const bad of ['0', '501', 'x', '1.5']) {
    const b = await d.api('GET', `/v1/transitions?limit=${bad}`);
    assert.equal(b.status, 400, bad);
    assert.equal(b.body.error.code, 'BAD_REQUEST');
  }
});

test('unknown paths are 404 and wrong methods 405, as JSON errors', async () => {
  const nf = await d.api('GET', '/v1/nope');
  assert.equal(nf.status, 404);
  assert.deepEqual(nf.body, { error: { code: 'NOT_FOUND', message: 'no such endpoint: GET /v1/nope' } });
  const na = await d.api('GET', '/v1/reload');
  assert.equal(na.status, 405);
  assert.equal(na.headers.get('allow'), 'POST');
  assert.equal(na.body.error.code, 'METHOD_NOT_ALLOWED');
  assert.equal((await d.api('PUT', '/v1/status')).status, 405);
});

async function unchanged(): Promise<void> {
  const s = (await d.api('GET', '/v1/status')).body;
  assert.deepEqual(s.overrides, []);
  assert.equal(s.targets[0].effective.health, 'UP');
  assert.deepEqual((await d.api('GET', '/v1/transitions')).body.transitions, []);
  assert.deepEqual(await d.answer('www.example.test'), ['127.0.0.1']);
}

test('mutations without the token, or with a wrong one, are refused with 401 and change nothing', async () => {
  const paths: Array<[string, string]> = [
    ['POST', `/v1/targets/${enc(PRIMARY)}/override`],
    ['DELETE', `/v1/targets/${enc(PRIMARY)}/override`],
    ['POST', '/v1/records/www.example.test/failback'],
    ['POST', '/v1/reload'],
  ];
  for (const [method, path] of paths) {
    for (const token of [null, 'wrong-token', TOKEN + 'x']) {
      const r = await d.api(method, path, { token, body: { state: 'down', reason: 'no token' } });
      assert.equal(r.status, 401, `${method} ${path} with ${token}`);
      assert.equal(r.body.error.code, 'UNAUTHORIZED');
      assert.equal(r.headers.get('www-authenticate'), 'Bearer realm="failoverd"');
    }
  }
  const basic = await d.api('POST', `/v1/targets/${enc(PRIMARY)}/override`, { token: null, headers: { authorization: `Basic ${Buffer.from('x:' + TOKEN).toString('base64')}` }, body: { state: 'down', reason: 'x' } });
  assert.equal(basic.status, 401);
  await unchanged();
});

test('bad override bodies are refused with 400 (413 when too large) and change nothing', async () => {
  const path = `/v1/targets/${enc(PRIMARY)}/override`;
  const cases: Array<[string, string, RegExp]> = [
    ['not JSON', '{"state": "down", ', /not JSON/],
    ['empty', '', /body: /],
    ['array', '[]', /body: /],
    ['bad state', '{"state":"sideways","reason":"x"}', /state must be "up" \(pin\) or "down" \(drain\)/],
    ['no reason', '{"state":"down"}', /reason: /],
    ['blank reason', '{"state":"down","reason":"   "}', /reason is required/],
    ['unknown key', '{"state":"down","reason":"x","until":"5m"}', /until/],
    ['bad expiry', '{"state":"down","reason":"x","expires":"tomorrow"}', /neither a duration/],
    ['past expiry', '{"state":"down","reason":"x","expires":"2001-01-01T00:00:00Z"}', /must be in the future/],
    ['far expiry', '{"state":"down","reason":"x","expires":"9000h"}', /at most one year/],
    ['reason type', '{"state":"down","reason":5}', /reason/],
  ];
  for (const [what, raw, message] of cases) {
    const r = await d.api('POST', path, { raw, headers: { 'content-type': 'application/json' } });
    assert.equal(r.status, 400, what);
    assert.equal(r.body.error.code, what === 'not JSON' ? 'BAD_JSON' : 'BAD_REQUEST', what);
    assert.match(r.body.error.message, message, what);
  }
  const big = await d.api('POST', path, { raw: JSON.stringify({ state: 'down', reason: 'x'.repeat(70_000) }) });
  assert.equal(big.status, 413);
  assert.equal(big.body.error.code, 'BODY_TOO_LARGE');
  const unknown = await d.api('POST', `/v1/targets/${enc('www.example.test/A/10.9.9.9')}/override`, { body: { state: 'down', reason: 'x' } });
  assert.equal(unknown.status, 404);
  assert.equal(unknown.body.error.code, 'UNKNOWN_TARGET');
  const none = await d.api('DELETE', `/v1/targets/${enc(PRIMARY)}/override`);
  assert.equal(none.status, 404);
  assert.equal(none.body.error.code, 'NO_OVERRIDE');
  // Malformed HTTP is answered too, and the daemon keeps going.
  assert.equal((await d.api('GET', '/v1/targets/%E0%A4%A/override')).status, 405);
  await unchanged();
});

test('a drain moves the DNS answer to the secondary; undrain moves it back; both are shown', async (t) => {
  const t0 = Date.now();
  const r = await d.api('POST', `/v1/targets/${enc(PRIMARY)}/override`, { body: { state: 'down', reason: 'kernel update' } });
  assert.equal(r.status, 200);
  assert.equal(r.body.effective, 'DOWN');
  assert.equal(r.body.real, 'UP');
  assert.equal(r.body.override.source, 'api');
  assert.equal(r.body.override.expiresAt, undefined);
  const took = await d.waitForAnswer('www.example.test', ['127.0.0.2'], 2000);
  t.diagnostic(`drain request to new DNS answer: ${Date.now() - t0} ms (after the reply: ${took} ms)`);
  const ttl = (await d.resolver.resolve4('www.example.test', { ttl: true }))[0]!.ttl;
  assert.equal(ttl, 30);

  const s = (await d.api('GET', '/v1/status')).body;
  const p = s.targets.find((t: any) => t.id === PRIMARY);
  assert.equal(p.real.health, 'UP');
  assert.equal(p.effective.health, 'DOWN');
  assert.equal(p.effective.overridden, true);
  assert.ok(Date.parse(p.effective.since) >= t0 - 5, 'effective since moved to the drain');
  assert.ok(Date.parse(p.real.since) < t0, 'real since did not move');
  assert.equal(p.override.reason, 'kernel update');
  assert.deepEqual(s.overrides.map((o: any) => [o.target, o.state, o.reason]), [[PRIMARY, 'DOWN', 'kernel update']]);
  const www = s.recordSets.find((x: any) => x.key === 'www.example.test/A');
  assert.equal(www.answer, '127.0.0.2');
  assert.equal(www.reason, 'primary www.example.test/A/127.0.0.1 is DOWN (drained by override (api): kernel update); failed over to: secondary www.example.test/A/127.0.0.2 is UP (check web: status 200)');

  // Draining the last UP target too: the API warns that whenAllDown now decides.
  const both = await d.api('POST', `/v1/targets/${enc('www.example.test/A/127.0.0.2')}/override`, { body: { state: 'down', reason: 'both' } });
  assert.equal(both.body.warning, 'every target of www.example.test/A is now DOWN: whenAllDown (primary) decides the answer (127.0.0.1)');
  assert.equal((await d.api('DELETE', `/v1/targets/${enc('www.example.test/A/127.0.0.2')}/override`)).status, 200);
  assert.equal(r.body.warning, undefined);

  // Undrain through the unencoded path form.
  const u = await d.api('DELETE', `/v1/targets/${PRIMARY}/override`);
  assert.equal(u.status, 200);
  assert.deepEqual(u.body.removed, { state: 'DOWN', reason: 'kernel update', source: 'api' });
  assert.equal(u.body.effective, 'UP');
  await d.waitForAnswer('www.example.test', ['127.0.0.1'], 2000);
  const tr = (await d.api('GET', '/v1/transitions?limit=2')).body.transitions;
  assert.deepEqual(tr.map((t: any) => [t.recordSet, t.from, t.to]), [
    ['www.example.test/A', '127.0.0.2', '127.0.0.1'],
    ['www.example.test/A', '127.0.0.1', '127.0.0.2'],
  ]);
  assert.match(tr[1].reason, /drained by override \(api\): kernel update/);
  assert.equal((await d.api('GET', '/v1/transitions?limit=1')).body.transitions.length, 1);
});

test('an override with an expiry ends by itself', async () => {
  const r = await d.api('POST', `/v1/targets/${enc(PRIMARY)}/override`, { body: { state: 'DOWN', reason: 'short', expires: '1s' } });
  assert.equal(r.status, 200);
  const exp = Date.parse(r.body.override.expiresAt) - Date.parse(r.body.override.createdAt);
  assert.equal(exp, 1000);
  await d.waitForAnswer('www.example.test', ['127.0.0.2'], 2000);
  await d.waitForAnswer('www.example.test', ['127.0.0.1'], 3000);
  const expired = await d.proc.waitForLog((l) => l.msg === 'override expired' && l.target === PRIMARY, 1000);
  assert.equal(expired.reason, 'short');
  assert.deepEqual((await d.api('GET', '/v1/status')).body.overrides, []);
});

test('a pin (state up) keeps a failing target answered, and shows both healths', async () => {
  const r = await d.api('POST', `/v1/targets/${enc(PRIMARY)}/override`, { body: { state: 'up', reason: 'known false alarm', expires: '10m' } });
  assert.equal(r.status, 200);
  backends[0]!.mode = 'status503';
  const s = await until('primary real DOWN', async () => {
    const b = (await d.api('GET', '/v1/status')).body;
    return b.targets[0].real.health === 'DOWN' ? b : undefined;
  });
  assert.equal(s.targets[0].effective.health, 'UP');
  assert.deepEqual(await d.answer('www.example.test'), ['127.0.0.1']);
  backends[0]!.mode = 'ok';
  assert.equal((await d.api('DELETE', `/v1/targets/${enc(PRIMARY)}/override`)).status, 200);
  await until('primary real UP', async () => (await d.api('GET', '/v1/status')).body.targets[0].real.health === 'UP');
  assert.deepEqual(await d.answer('www.example.test'), ['127.0.0.1']);
});

test('POST /v1/records/{name}/failback: manual failback refused while the primary is down, applied once it is up', async () => {
  assert.equal((await d.api('POST', '/v1/records/manual.example.test/failback')).body.results[0].changed, false, 'already on the primary');
  await backends[2]!.kill();
  await d.waitForAnswer('manual.example.test', ['127.0.0.4']);
  const refused = await d.api('POST', '/v1/records/manual.example.test/failback');
  assert.equal(refused.status, 409);
  assert.equal(refused.body.error.code, 'FAILBACK_NOT_POSSIBLE');
  assert.match(refused.body.error.message, /manual\.example\.test\/A: no target before the active one is UP: manual\.example\.test\/A\/127\.0\.0\.3 is DOWN/);
  await backends[2]!.revive();
  const pending = await until('failback pending', async () => (await d.api('GET', '/v1/status')).body.recordSets.find((r: any) => r.key === 'manual.example.test/A').pending);
  assert.match(pending, /failback is manual/);
  assert.deepEqual(await d.answer('manual.example.test'), ['127.0.0.4'], 'held on the secondary');
  const ok = await d.api('POST', '/v1/records/manual.example.test/failback?type=A');
  assert.equal(ok.status, 200);
  assert.deepEqual(ok.body.results.map((r: any) => [r.recordSet, r.changed, r.from, r.to]), [['manual.example.test/A', true, '127.0.0.4', '127.0.0.3']]);
  assert.match(ok.body.results[0].reason, /^failback command: primary manual\.example\.test\/A\/127\.0\.0\.3 is UP/);
  await d.waitForAnswer('manual.example.test', ['127.0.0.3'], 1000);
  assert.equal((await d.api('POST', '/v1/records/nope.example.test/failback')).status, 404);
});

test('GET /metrics answers Prometheus text', async () => {
  const r = await d.api('GET', '/metrics');
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  assert.match(r.text, /^failoverd_target_health\{target="www\.example\.test\/A\/127\.0\.0\.1",record_set="www\.example\.test\/A",view="effective",state="UP"\} 1$/m);
});

test('CLI: status, explain, drain, undrain, failback over the API; errors exit non-zero with the API message', async () => {
  const admin = ['--admin', d.adminUrl];
  const closed = await freePort();
  const [st, denied, gone] = await Promise.all([
    runCli(['status', ...admin]),
    runCli(['drain', PRIMARY, '--reason', 'cli', ...admin], { env: { FAILOVERD_ADMIN_TOKEN: '' } }),
    runCli(['status', '--admin', `http://127.0.0.1:${closed}`]),
  ]);
  assert.equal(st.code, 0, st.stderr);
  assert.match(st.stdout, /^RECORD SET +POLICY +ANSWER +SINCE +WHY$/m);
  assert.match(st.stdout, /^www\.example\.test\/A +failover +127\.0\.0\.1 +\d+s ago +/m);
  assert.match(st.stdout, /^www\.example\.test\/A\/127\.0\.0\.1 +UP +UP +yes +- +ok status 200/m);
  assert.equal(denied.code, 1);
  assert.match(denied.stderr, /^failoverd: this endpoint changes state: send Authorization: Bearer <token>.*\(UNAUTHORIZED\)$/m);
  assert.equal(gone.code, 1);
  assert.match(gone.stderr, new RegExp(`cannot reach the admin API at http://127\\.0\\.0\\.1:${closed}: ECONNREFUSED`));

  const drain = await runCli(['drain', PRIMARY, '--reason', 'cli drain', '--for', '30m', ...admin, '--token', TOKEN]);
  assert.equal(drain.code, 0, drain.stderr);
  assert.match(drain.stdout, /^drained www\.example\.test\/A\/127\.0\.0\.1 until \d{4}-.*\(real health UP\); www\.example\.test\/A answers 127\.0\.0\.2: primary .* is DOWN \(drained by override \(api\): cli drain\)/);
  assert.equal(drain.stderr, '');
  await d.waitForAnswer('www.example.test', ['127.0.0.2'], 2000);
  const ex = await runCli(['explain', 'www.example.test', 'A', ...admin]);
  assert.equal(ex.code, 0);
  assert.match(ex.stdout, /answers 127\.0\.0\.2 .* drained by api \(cli drain\) until /);
  const undrain = await runCli(['undrain', PRIMARY, ...admin], { env: { FAILOVERD_ADMIN_TOKEN: TOKEN } });
  assert.equal(undrain.code, 0, undrain.stderr);
  assert.match(undrain.stdout, /removed the override of www\.example\.test\/A\/127\.0\.0\.1 \(was DOWN: cli drain\); effective health now UP/);
  await d.waitForAnswer('www.example.test', ['127.0.0.1'], 2000);
  const [again, fb] = await Promise.all([runCli(['undrain', PRIMARY, ...admin, '--token', TOKEN]), runCli(['failback', 'www.example.test', ...admin, '--token', TOKEN, '--json'])]);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /has no override \(NO_OVERRIDE\)/);
  assert.equal(fb.code, 0);
  assert.equal(JSON.parse(fb.stdout).results[0].changed, false);
  // By now (seconds later) the history ring is full: it keeps the last 10.
  await until('10 results in the history', async () => (await d.api('GET', '/v1/status')).body.targets[0].history.length === 10, 8000);
});

test('/readyz is 503 until the first probe round is done; DNS opens after it', async () => {
  const slow = new TestDir();
  const hung = await tcpBackend('127.0.0.9');
  try {
    slow.write(`dns: { listen: ["127.0.0.1:0"] }
zones: zones
admin: { listen: "127.0.0.1:0" }
startupTimeout: 10s
checks:
  slow: { type: http, port: ${hung.port}, interval: 1500ms, fastInterval: 1s, timeout: 900ms, rise: 2, fall: 2, watch: false }
records:
  - { name: www.example.test, type: A, targets: [{ address: 127.0.0.9, check: slow }] }
`);
    const s = new AdminDaemon(slow);
    try {
      await s.waitAdmin();
      const early = await s.api('GET', '/readyz');
      assert.equal(early.status, 503);
      assert.deepEqual(early.body, { error: { code: 'NOT_READY', message: 'starting: zones are loaded; waiting for the first probe round' } });
      assert.equal((await s.api('GET', '/healthz')).status, 200);
      assert.equal((await s.api('GET', '/v1/status')).body.ready, false);
      assert.ok(!s.proc.logs.some((l) => l.msg === 'serving DNS'));
      await s.proc.waitForLog((l) => l.msg === 'serving DNS', 8000);
      assert.equal((await s.api('GET', '/readyz')).status, 200);
    } finally {
      assert.equal(await s.stop(), 0);
    }
  } finally {
    await hung.kill();
    slow.remove();
  }
});

test('the daemon refuses to start with a non-loopback admin.listen and no token', async () => {
  const open = new TestDir();
  try {
    open.write(`admin: { listen: "0.0.0.0:0" }\nzones: zones\n`);
    const r = await runCli(['run', '--config', open.config], { env: { FAILOVERD_ADMIN_TOKEN: '' } });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /admin\.listen: admin\.listen 0\.0\.0\.0 is not a loopback address: set admin\.tokens \(or admin\.token, FAILOVERD_ADMIN_TOKEN\)/);
    assert.match(r.stderr, /admin\.listen 0\.0\.0\.0 is not a loopback address and admin\.tls is not set: tokens and changes would cross the network in clear\. Set admin\.tls \(cert, key\), or admin\.allowPlaintext: true/);
  } finally {
    open.remove();
  }
});

test('GET /v1/status pages and filters (?limit, ?cursor, ?state, ?name); without them the whole document', async () => {
  const whole = (await d.api('GET', '/v1/status')).body;
  assert.deepEqual(whole.recordSets.map((r: any) => r.key), ['www.example.test/A', 'manual.example.test/A']);
  assert.equal(whole.targets.length, 4);
  assert.equal(whole.page, undefined);
  const p1 = (await d.api('GET', '/v1/status?limit=1')).body;
  assert.deepEqual(p1.recordSets.map((r: any) => r.key), ['www.example.test/A']);
  assert.deepEqual(p1.targets.map((t: any) => t.recordSet), ['www.example.test/A', 'www.example.test/A']);
  assert.deepEqual(p1.page, { matched: 2, total: 2, limit: 1, next: 'www.example.test/A' });
  const p2 = (await d.api('GET', `/v1/status?limit=1&cursor=${encodeURIComponent(p1.page.next)}`)).body;
  assert.deepEqual(p2.recordSets.map((r: any) => r.key), ['manual.example.test/A']);
  assert.equal(p2.page.next, null);
  assert.deepEqual((await d.api('GET', '/v1/status?name=manual')).body.recordSets.map((r: any) => r.key), ['manual.example.test/A']);
  const ok = (await d.api('GET', '/v1/status?state=ok')).body;
  const attention = (await d.api('GET', '/v1/status?state=attention')).body;
  assert.equal(ok.page.matched + attention.page.matched, 2);
  assert.deepEqual(attention.recordSets.map((r: any) => r.degraded || r.allDown), attention.recordSets.map(() => true));
  assert.equal((await d.api('GET', '/v1/status?state=sideways')).status, 400);
  assert.equal((await d.api('GET', '/v1/status?limit=0')).status, 400);
  assert.equal((await d.api('GET', '/v1/status?cursor=nope.example.test/A')).status, 400);
});
