/**
 * /metrics parses as Prometheus text, and its figures follow a failover:
 * probes, health (real and effective), the active answer, transitions,
 * DNS queries by rcode and transport, the zone serial.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { AdminDaemon, metric, parsePrometheus, TestDir, wwwConfig } from './helpers/admin-daemon.ts';
import { httpBackendsOnOnePort, type Backend } from './helpers/backends.ts';

const dir = new TestDir();
let backends: Backend[] = [];
let d: AdminDaemon;
const RS = 'www.example.test/A';
const P = 'www.example.test/A/127.0.0.1';
const S = 'www.example.test/A/127.0.0.2';

before(async () => {
  backends = await httpBackendsOnOnePort(['127.0.0.1', '127.0.0.2']);
  dir.write(wwwConfig(backends[0]!.port));
  d = await AdminDaemon.start(dir);
});

after(async () => {
  await d?.stop();
  for (const b of backends) await b.kill();
  dir.remove();
});

async function scrape() {
  const r = await d.api('GET', '/metrics');
  assert.equal(r.status, 200);
  return parsePrometheus(r.text);
}

test('every line parses; every name is prefixed failoverd_; the figures describe the running daemon', async () => {
  const m = await scrape();
  assert.ok(m.length > 50);
  for (const s of m) assert.ok(s.name.startsWith('failoverd_'), s.name);
  assert.ok(metric(m, 'failoverd_process_cpu_user_seconds_total')! >= 0, 'default process metrics');
  assert.equal(metric(m, 'failoverd_ready'), 1);
  assert.equal(metric(m, 'failoverd_target_health', { target: P, view: 'real', state: 'UP' }), 1);
  assert.equal(metric(m, 'failoverd_target_health', { target: P, view: 'effective', state: 'UP' }), 1);
  assert.equal(metric(m, 'failoverd_target_health', { target: P, view: 'real', state: 'DOWN' }), 0);
  assert.equal(metric(m, 'failoverd_record_set_answer', { record_set: RS, target: P, address: '127.0.0.1' }), 1);
  assert.equal(metric(m, 'failoverd_record_set_answer', { record_set: RS, target: S }), 0);
  assert.equal(metric(m, 'failoverd_record_set_state', { record_set: RS, flag: 'degraded' }), 0);
  assert.equal(metric(m, 'failoverd_transitions_total', { record_set: RS }), 0, 'no transition yet (exported as 0)');
  assert.equal(metric(m, 'failoverd_zone_serial', { zone: 'example.test' }), await d.serial());
  assert.ok(metric(m, 'failoverd_probes_total', { target: 'web@127.0.0.1', outcome: 'ok' })! >= 2);
  assert.equal(metric(m, 'failoverd_probes_total', { target: 'web@127.0.0.1', outcome: 'fail' }), 0);
  assert.ok(metric(m, 'failoverd_probe_duration_seconds_count', { check: 'web' })! >= 2, 'probe latency by check');
  assert.equal(metric(m, 'failoverd_probe_duration_seconds_bucket', { check: 'web', le: '+Inf' }), metric(m, 'failoverd_probe_duration_seconds_count', { check: 'web' }));
  assert.ok(!m.some((s) => s.name.startsWith('failoverd_probe_duration_seconds') && 'target' in s.labels), 'no latency histogram per probed target');
  assert.ok(metric(m, 'failoverd_state_writes_total', { outcome: 'ok' })! >= 1);
});

test('every counter whose label values are known in advance has its series (at 0) from the start', async () => {
  const r = await d.api('GET', '/metrics');
  const counters = [...r.text.matchAll(/^# TYPE (\S+) counter$/gm)].map((x) => x[1]!);
  const samples = parsePrometheus(r.text);
  // Not configured here (no route53, rfc2136, cluster or maintenance section): documented to have no series at all.
  const unconfigured = /^failoverd_(route53|rfc2136|cluster|maintenance)_/;
  const empty = counters.filter((n) => !unconfigured.test(n) && !samples.some((s) => s.name === n));
  assert.ok(counters.length >= 8, counters.join(', '));
  assert.deepEqual(empty, [], 'counters without a series at start');
  for (const outcome of ['success', 'failure']) assert.equal(metric(samples, 'failoverd_config_reloads_total', { outcome }) !== undefined, true, outcome);
  for (const outcome of ['sent', 'retried', 'failed', 'dropped']) assert.equal(metric(samples, 'failoverd_notifications_total', { outcome }), 0, outcome);
  for (const code of ['EMFILE', 'ENFILE', 'EADDRNOTAVAIL', 'ENOBUFS']) assert.equal(metric(samples, 'failoverd_probe_local_errors_total', { code }), 0, code);
  assert.equal(metric(samples, 'failoverd_dns_queries_total', { rcode: 'SERVFAIL', transport: 'tcp' }), 0);
  assert.equal(metric(samples, 'failoverd_state_writes_total', { outcome: 'error' }), 0);
  assert.equal(metric(samples, 'failoverd_probes_total', { target: 'web@127.0.0.1', outcome: 'fail' }), 0);
});

test('DNS queries are counted by rcode and transport', async () => {
  const q = async () => {
    const m = await scrape();
    return { ok: metric(m, 'failoverd_dns_queries_total', { rcode: 'NOERROR', transport: 'udp' }) ?? 0, nx: metric(m, 'failoverd_dns_queries_total', { rcode: 'NXDOMAIN', transport: 'udp' }) ?? 0 };
  };
  const before = await q();
  for (let i = 0; i < 5; i++) assert.deepEqual(await d.answer('www.example.test'), ['127.0.0.1']);
  assert.deepEqual(await d.answer('nope.example.test'), ['ENOTFOUND']);
  const after = await q();
  assert.equal(after.ok - before.ok, 5);
  assert.equal(after.nx - before.nx, 1);
});

test('the figures follow a failover and the way back', async () => {
  const serial0 = await d.serial();
  await backends[0]!.kill();
  await d.waitForAnswer('www.example.test', ['127.0.0.2'], 3000);
  let m = await scrape();
  assert.equal(metric(m, 'failoverd_transitions_total', { record_set: RS }), 1);
  assert.equal(metric(m, 'failoverd_record_set_answer', { record_set: RS, target: P }), 0);
  assert.equal(metric(m, 'failoverd_record_set_answer', { record_set: RS, target: S }), 1);
  assert.equal(metric(m, 'failoverd_record_set_state', { record_set: RS, flag: 'degraded' }), 1);
  assert.equal(metric(m, 'failoverd_target_health', { target: P, view: 'real', state: 'DOWN' }), 1);
  assert.equal(metric(m, 'failoverd_target_health', { target: P, view: 'effective', state: 'DOWN' }), 1);
  assert.ok(metric(m, 'failoverd_probes_total', { target: 'web@127.0.0.1', outcome: 'fail' })! >= 2);
  assert.equal(metric(m, 'failoverd_zone_serial', { zone: 'example.test' }), serial0 + 1);
  const since = metric(m, 'failoverd_record_set_answer_since_seconds', { record_set: RS })!;
  assert.ok(Math.abs(since - Date.now() / 1000) < 5);

  await backends[0]!.revive();
  await d.waitForAnswer('www.example.test', ['127.0.0.1'], 3000);
  m = await scrape();
  assert.equal(metric(m, 'failoverd_transitions_total', { record_set: RS }), 2);
  assert.equal(metric(m, 'failoverd_record_set_answer', { record_set: RS, target: P }), 1);
  assert.equal(metric(m, 'failoverd_record_set_state', { record_set: RS, flag: 'degraded' }), 0);
  assert.equal(metric(m, 'failoverd_target_health', { target: P, view: 'real', state: 'UP' }), 1);

  // An override shows in effective health and the override gauge, not in real health.
  assert.equal((await d.api('POST', `/v1/targets/${encodeURIComponent(S)}/override`, { body: { state: 'down', reason: 'metrics' } })).status, 200);
  m = await scrape();
  assert.equal(metric(m, 'failoverd_target_health', { target: S, view: 'real', state: 'UP' }), 1);
  assert.equal(metric(m, 'failoverd_target_health', { target: S, view: 'effective', state: 'DOWN' }), 1);
  assert.equal(metric(m, 'failoverd_target_override', { target: S, state: 'DOWN', source: 'api' }), 1);
  assert.equal(metric(m, 'failoverd_transitions_total', { record_set: RS }), 2, 'draining the secondary changes no answer');
});

test('DNS over TCP: connections open now, and those refused by a bound, by reason', async () => {
  const { connect } = await import('node:net');
  // The default share of one client is 32 connections: the 33rd and 34th are closed at once.
  let closed = 0;
  let twoClosed: () => void = () => {};
  const done = new Promise<void>((resolve) => (twoClosed = resolve));
  const sockets = Array.from({ length: 34 }, () => {
    const s = connect({ host: '127.0.0.1', port: d.dnsPort });
    s.on('error', () => {});
    s.on('close', () => ++closed === 2 && twoClosed());
    return s;
  });
  try {
    await Promise.race([done, new Promise((_, reject) => setTimeout(() => reject(new Error(`${closed} of 34 connections closed after 5 s; 2 expected`)), 5000))]);
    const m = await scrape();
    assert.equal(metric(m, 'failoverd_dns_tcp_closed_total', { reason: 'max-per-client' }), 2);
    assert.equal(metric(m, 'failoverd_dns_tcp_connections'), 32);
    assert.equal(closed, 2, 'the 32 within the share stay open');
  } finally {
    for (const s of sockets) s.destroy();
  }
});
