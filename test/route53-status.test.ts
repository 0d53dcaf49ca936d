/**
 * The Route 53 sink is visible when it fails: a fake Route 53 (its real XML
 * error format on loopback, reached through the SDK's HTTP path) refuses
 * every request with AccessDenied, and /v1/status, `failoverd status` and
 * /metrics all show the sink out of sync with the error.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { runCli } from './helpers/cli.ts';
import { route53Daemon } from './helpers/route53-daemon.ts';

const NS = 'https://route53.amazonaws.com/doc/2013-04-01/';

test('an AccessDenied from Route 53 shows in /v1/status, failoverd status and /metrics', async (t) => {
  let requests = 0;
  const server = createServer((req, res) => {
    requests++;
    req.resume();
    res.writeHead(403, { 'content-type': 'text/xml', 'x-amzn-requestid': 'req-1' });
    res.end(`<?xml version="1.0"?>\n<ErrorResponse xmlns="${NS}"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User is not authorized to perform route53:ListResourceRecordSets</Message></Error><RequestId>req-1</RequestId></ErrorResponse>`);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const { daemon } = await route53Daemon(t, { endpoint, zoneId: 'ZFAKE123', mode: 'records' });
  const admin = daemon.adminUrl;
  // The sink logs its failure: wait on that event, then read every view.
  await daemon.proc.waitForLog((l) => l.component === 'route53' && l.code === 'ROUTE53_REJECTED', 15_000);
  assert.ok(requests > 0, 'the fake Route 53 was asked');

  const st = (await (await fetch(`${admin}/v1/status`)).json()) as { route53: any; leaderDuties: any };
  // Alone, this process leads; the sink's duty runs (its requests fail: that is the sink's error, not the duty's start).
  assert.equal(st.leaderDuties.leading, true);
  assert.deepEqual(st.leaderDuties.duties.map((d: { name: string; state: string }) => `${d.name}:${d.state}`), ['route53:running', 'notify:running', 'maintenance:running']);
  assert.equal(st.route53.mode, 'records');
  assert.equal(st.route53.inSync, false);
  assert.equal(st.route53.pendingChanges, 1);
  assert.equal(st.route53.lastAppliedAt, null);
  assert.equal(st.route53.lastError.code, 'ROUTE53_REJECTED');
  assert.match(st.route53.lastError.message, /AccessDenied: User is not authorized/);
  assert.ok(!Number.isNaN(Date.parse(st.route53.lastError.at)));

  const cli = await runCli(['status', '--admin', admin]);
  assert.equal(cli.code, 0, cli.stderr);
  assert.match(cli.stdout, /^Route 53 \(records mode\): OUT OF SYNC \(1 pending\); last applied never; health checks owned 0; last error ROUTE53_REJECTED: .*AccessDenied: User is not authorized/m);

  const metrics = await (await fetch(`${admin}/metrics`)).text();
  assert.match(metrics, /^failoverd_route53_errors_total\{code="ROUTE53_REJECTED"\} [1-9]\d*$/m);
  assert.match(metrics, /^failoverd_route53_in_sync\{mode="records"\} 0$/m);
  assert.match(metrics, /^failoverd_route53_pending_changes\{mode="records"\} 1$/m);
  assert.match(metrics, /^failoverd_route53_seconds_since_in_sync\{mode="records"\} \d/m);
  assert.match(metrics, /^failoverd_leader_duty_running\{duty="route53"\} 1$/m);
  assert.match(metrics, /^failoverd_leader_duties_leading 1$/m);
});
