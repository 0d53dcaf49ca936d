/**
 * Webhooks: a receiver in the test gets one JSON body per transition and per
 * override change, in order, retried after a 500; a Slack-format hook gets
 * text; a receiver that never answers delays neither the others nor DNS.
 * user:password in a webhook URL arrive as Authorization: Basic, and the
 * password is in no log line, /v1/status or /metrics, even when a delivery fails.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, test } from 'node:test';
import { AdminDaemon, metric, parsePrometheus, TestDir, TOKEN, until, wwwConfig } from './helpers/admin-daemon.ts';
import { httpBackendsOnOnePort, tcpBackend, type Backend } from './helpers/backends.ts';
import { freePort } from './helpers/ports.ts';
import { formatStatus } from '../src/cli/admin-commands.ts';

const dir = new TestDir();
let backends: Backend[] = [];
let hung: Backend;
let d: AdminDaemon;
let receiver: http.Server;
const received: Array<{ path: string; body: any; auth?: string }> = [];
let fail500 = 1;
/** Requests to /json and /slack. */
let requests = 0;
let closedPort: number;
/** As written in the URL (%-escaped); the receiver sees it decoded. */
const PASSWORD = 'pa%40ss%3Aw0rd-s3cret';
const SECRETS = [/pa%40ss/i, /pa@ss/, /w0rd-s3cret/, new RegExp(Buffer.from('hook user:pa@ss:w0rd-s3cret').toString('base64').slice(0, 16))];

before(async () => {
  backends = await httpBackendsOnOnePort(['127.0.0.1', '127.0.0.2']);
  hung = await tcpBackend('127.0.0.1');
  receiver = http.createServer((req, res) => {
    let text = '';
    req.on('data', (c) => (text += c));
    req.on('end', () => {
      if (req.url === '/basic') {
        received.push({ path: req.url, body: JSON.parse(text), auth: req.headers.authorization });
        res.writeHead(204).end();
        return;
      }
      requests++;
      if (req.url === '/json' && fail500 > 0) {
        fail500--;
        res.writeHead(500).end('try again');
        return;
      }
      received.push({ path: req.url!, body: JSON.parse(text), auth: req.headers.authorization });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const port = (receiver.address() as { port: number }).port;
  closedPort = await freePort();
  dir.write(wwwConfig(backends[0]!.port, { token: TOKEN, extra: `notify:
  - { url: "http://127.0.0.1:${hung.port}/never", timeout: 300ms, retries: 1, backoff: 50ms }
  - { url: "http://127.0.0.1:${port}/json", backoff: 50ms, headers: { Authorization: "Bearer hook-secret" } }
  - { url: "http://127.0.0.1:${port}/slack", format: slack, backoff: 50ms }
  - { url: "http://hook%20user:${PASSWORD}@127.0.0.1:${port}/basic", backoff: 50ms }
  - { url: "http://hook:${PASSWORD}@127.0.0.1:${closedPort}/closed", timeout: 300ms, retries: 1, backoff: 50ms }
` }));
  d = await AdminDaemon.start(dir);
});

after(async () => {
  await d?.stop();
  for (const b of [...backends, hung]) await b?.kill();
  receiver?.closeAllConnections();
  await new Promise((r) => receiver?.close(r));
  dir.remove();
});

const json = () => received.filter((r) => r.path === '/json').map((r) => r.body);

test('each transition and each override reaches the webhook, in order, after a retry', async (t) => {
  const t0 = Date.now();
  await backends[0]!.kill();
  const failover = await d.waitForAnswer('www.example.test', ['127.0.0.2'], 3000);
  t.diagnostic(`failover with a hung webhook: ${failover} ms`);
  await backends[0]!.revive();
  await d.waitForAnswer('www.example.test', ['127.0.0.1'], 3000);
  assert.equal((await d.api('POST', `/v1/targets/${encodeURIComponent('www.example.test/A/127.0.0.1')}/override`, { body: { state: 'down', reason: 'deploy', expires: '500ms' } })).status, 200);
  await d.waitForAnswer('www.example.test', ['127.0.0.2'], 2000);
  await d.waitForAnswer('www.example.test', ['127.0.0.1'], 3000);
  assert.ok(Date.now() - t0 < 8000, 'a webhook that never answers did not slow failover down');

  const events = (await until('6 events', () => (json().length >= 6 ? json() : undefined), 5000))!;
  assert.deepEqual(
    events.map((e: any) => (e.event === 'transition' ? [e.event, e.recordSet, e.from, e.to] : [e.event, e.action, e.target, e.state, e.reason, e.source])),
    [
      ['transition', 'www.example.test/A', '127.0.0.1', '127.0.0.2'],
      ['transition', 'www.example.test/A', '127.0.0.2', '127.0.0.1'],
      ['override', 'set', 'www.example.test/A/127.0.0.1', 'DOWN', 'deploy', 'api'],
      ['transition', 'www.example.test/A', '127.0.0.1', '127.0.0.2'],
      ['override', 'expired', 'www.example.test/A/127.0.0.1', 'DOWN', 'deploy', 'api'],
      ['transition', 'www.example.test/A', '127.0.0.2', '127.0.0.1'],
    ],
  );
  assert.match(events[0].reason, /^primary www\.example\.test\/A\/127\.0\.0\.1 is DOWN \(check web: (refused|reset)/);
  assert.match(events[3].reason, /drained by override \(api\): deploy/);
  assert.ok(!Number.isNaN(Date.parse(events[0].at)));
  assert.ok(Date.parse(events[2].expiresAt) > Date.parse(events[2].at));
  assert.equal(typeof events[0].host, 'string');
  assert.ok(received.filter((r) => r.path === '/json').every((r) => r.auth === 'Bearer hook-secret'), 'configured headers are sent');
  assert.equal(fail500, 0, 'the first delivery got a 500 ...');
  // ... and was retried: one more request than events for /json.
  const slack = (await until('6 slack messages', () => {
    const s = received.filter((r) => r.path === '/slack');
    return s.length >= 6 ? s : undefined;
  }))!;
  assert.equal(requests, json().length + slack.length + 1);
  assert.deepEqual(Object.keys(slack[0]!.body), ['text']);
  assert.match(slack[0]!.body.text, /^failoverd on .+: \*www\.example\.test\/A\* now answers \*127\.0\.0\.2\* \(was 127\.0\.0\.1\)\. primary /);
  assert.match(slack[2]!.body.text, /override \(drain\) on \*www\.example\.test\/A\/127\.0\.0\.1\* set until .* by api: deploy$/);
  // The hung webhook gave up after its retries, and said so.
  await d.proc.waitForLog((l) => l.msg === 'notification failed; giving up on it' && l.webhook === `http://127.0.0.1:${hung.port}/never`, 5000);
});

test('user:password in a webhook URL go as Authorization: Basic, and the password shows nowhere', async () => {
  const basic = (await until('a delivery with credentials', () => {
    const b = received.filter((r) => r.path === '/basic');
    return b.length >= 1 ? b : undefined;
  }, 5000))!;
  assert.equal(basic[0]!.auth, `Basic ${Buffer.from('hook user:pa@ss:w0rd-s3cret').toString('base64')}`);
  assert.equal(basic[0]!.body.event, 'transition');
  // The webhook on a closed port fails (refused), is retried once and given up: its log lines name it without the password.
  const gaveUp = await d.proc.waitForLog((l) => l.msg === 'notification failed; giving up on it' && l.webhook === `http://127.0.0.1:${closedPort}/closed`, 5000);
  assert.match(String(gaveUp.err), /ECONNREFUSED/);
  const status = await d.api('GET', '/v1/status');
  const metrics = await d.api('GET', '/metrics');
  assert.equal(metrics.status, 200);
  const places: Array<[string, string]> = [
    ['log lines', d.proc.logs.map((l) => JSON.stringify(l)).join('\n')],
    ['stderr', d.proc.stderr],
    ['/v1/status', status.text],
    ['/metrics', metrics.text],
  ];
  for (const [where, text] of places) for (const secret of SECRETS) assert.doesNotMatch(text, secret, `the password in ${where}`);
});

test('a webhook that gives up says so beyond the log: /v1/status webhooks[], a WARNING in failoverd status, failoverd_notifications_total{outcome="failed"}', async () => {
  const closed = `http://127.0.0.1:${closedPort}/closed`;
  await d.proc.waitForLog((l) => l.msg === 'notification failed; giving up on it' && l.webhook === closed, 5000);
  const s = (await d.api('GET', '/v1/status')).body;
  assert.deepEqual(s.webhooks.map((w: any) => w.webhook), [`http://127.0.0.1:${hung.port}/never`, `http://127.0.0.1:${(receiver.address() as { port: number }).port}/json`, `http://127.0.0.1:${(receiver.address() as { port: number }).port}/slack`, `http://127.0.0.1:${(receiver.address() as { port: number }).port}/basic`, closed]);
  const failing = s.webhooks.find((w: any) => w.webhook === closed);
  assert.ok(failing.failed >= 1);
  assert.equal(failing.sent, 0);
  assert.equal(failing.lastFailure.attempts, 2, 'retried once, then given up');
  assert.match(failing.lastFailure.error, /ECONNREFUSED/);
  assert.ok(!Number.isNaN(Date.parse(failing.lastFailure.at)));
  const json = s.webhooks.find((w: any) => w.webhook.endsWith('/json'));
  assert.equal(json.lastFailure, undefined, 'a 500 retried and then delivered is not a failure');
  assert.ok(json.sent >= 1);
  const text = formatStatus(s);
  assert.match(text, new RegExp(`^WARNING: webhook ${closed.replace(/\./g, '\\.')} FAILING: gave up on a \\w+ notification at \\S+ after 2 attempt\\(s\\): .*ECONNREFUSED`, 'm'));
  assert.doesNotMatch(text, /WARNING: webhook \S+\/json/);
  const m = parsePrometheus((await d.api('GET', '/metrics')).text);
  assert.ok((metric(m, 'failoverd_notifications_total', { outcome: 'failed' }) ?? 0) >= failing.failed);
});
