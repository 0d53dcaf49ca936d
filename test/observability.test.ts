/**
 * What ships beside the metrics: deploy/prometheus/alerts.yml passes
 * `promtool check rules`, its unit tests (alerts.test.yml) pass and make
 * at least the degraded and all-down alerts fire, every alert has a summary
 * and a runbook section that exists in docs/operations.md; and
 * deploy/grafana/failoverd.json parses, and every failoverd_* metric the
 * dashboard and the alerts query (with the labels they use) exists in a live
 * daemon's /metrics, Route 53 (moto_server) included, and the cluster
 * alerts' in a live cluster instance's (on a real etcd).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createSocket } from 'node:dgram';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { AdminDaemon, metric, parsePrometheus, TestDir, TOKEN, until, wwwConfig } from './helpers/admin-daemon.ts';
import { httpBackendsOnOnePort } from './helpers/backends.ts';
import { runCli } from './helpers/cli.ts';
import { LoopbackCluster } from './helpers/cluster-daemons.ts';
import { startEtcd } from './helpers/etcd.ts';
import { createZone, needMoto, startMoto, TEST_CREDENTIALS } from './helpers/moto.ts';
import { freePort } from './helpers/ports.ts';
import { needTool } from './helpers/tools.ts';
import { scaled } from './helpers/eventually.ts';

const run = promisify(execFile);
const file = (path: string) => new URL(`../${path}`, import.meta.url);
const ALERTS = 'deploy/prometheus/alerts.yml';
const ALERT_TESTS = 'deploy/prometheus/alerts.test.yml';
const DASHBOARD = 'deploy/grafana/failoverd.json';

interface Rule {
  alert: string;
  expr: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
const groups = (): Array<{ name: string; rules: Rule[] }> => (parseYaml(readFileSync(file(ALERTS), 'utf8')) as { groups: Array<{ name: string; rules: Rule[] }> }).groups;
const rules = (): Rule[] => groups().flatMap((g) => g.rules);
/** The rules of cluster mode: their series exist only with a cluster: section. */
const CLUSTER_GROUP = 'failoverd-cluster';

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens. */
function anchors(markdown: string): Set<string> {
  return new Set(
    markdown
      .split('\n')
      .filter((l) => /^#{1,6} /.test(l))
      .map((l) =>
        l
          .replace(/^#+ /, '')
          .trim()
          .toLowerCase()
          .replace(/[^\p{L}\p{N} _-]/gu, '')
          .replace(/ /g, '-'),
      ),
  );
}

test('promtool check rules deploy/prometheus/alerts.yml', async (t) => {
  if (!needTool(t, 'promtool', 'prometheus')) return;
  const { stdout } = await run('promtool', ['check', 'rules', ALERTS], { cwd: file('.') });
  assert.match(stdout, new RegExp(`SUCCESS: ${rules().length} rules found`));
});

test('promtool test rules: degraded, all down and the other alerts fire from sample series (and stay silent before their for:)', async (t) => {
  if (!needTool(t, 'promtool', 'prometheus')) return;
  const { stdout } = await run('promtool', ['test', 'rules', ALERT_TESTS], { cwd: file('.') });
  assert.match(stdout, /SUCCESS/);
  const tests = (parseYaml(readFileSync(file(ALERT_TESTS), 'utf8')) as { tests: Array<{ alert_rule_test: Array<{ alertname: string; exp_alerts: unknown[] }> }> }).tests;
  const firing = new Set(tests.flatMap((x) => x.alert_rule_test.filter((a) => a.exp_alerts.length > 0).map((a) => a.alertname)));
  const silent = new Set(tests.flatMap((x) => x.alert_rule_test.filter((a) => a.exp_alerts.length === 0).map((a) => a.alertname)));
  for (const name of ['FailoverdRecordSetDegraded', 'FailoverdRecordSetAllDown']) {
    assert.ok(firing.has(name), `${name} is shown firing`);
    assert.ok(silent.has(name), `${name} is shown silent before its for:`);
  }
  assert.deepEqual(
    rules()
      .map((r) => r.alert)
      .filter((a) => !firing.has(a)),
    [],
    'every alert has a firing test',
  );
});

test('alerts: a summary and a runbook section of docs/operations.md that exists, for each', () => {
  const sections = anchors(readFileSync(file('docs/operations.md'), 'utf8'));
  const want = ['FailoverdRecordSetDegraded', 'FailoverdRecordSetAllDown', 'FailoverdTargetFlapping', 'FailoverdProbesFailingForRecordSet', 'FailoverdRoute53OutOfSync', 'FailoverdRfc2136OutOfSync', 'FailoverdStateWritesFailing', 'FailoverdNotReady', 'FailoverdConfigReloadFailing', 'FailoverdMaintenanceWindowFailed'];
  const all = rules();
  for (const name of want) assert.ok(all.some((r) => r.alert === name), `alert ${name}`);
  for (const r of all) {
    assert.ok(r.annotations?.summary && r.annotations.summary.length > 20, `${r.alert}: summary`);
    assert.ok(['warning', 'critical'].includes(r.labels?.severity ?? ''), `${r.alert}: severity`);
    const m = /^docs\/operations\.md#([a-z0-9-]+)$/.exec(r.annotations?.runbook_url ?? '');
    assert.ok(m, `${r.alert}: runbook_url into docs/operations.md`);
    assert.ok(sections.has(m[1]!), `${r.alert}: docs/operations.md has no section #${m[1]}`);
  }
});

/** Every PromQL expression of the dashboard (panels, variables, annotations). */
function dashboardExprs(): string[] {
  const dash = JSON.parse(readFileSync(file(DASHBOARD), 'utf8')) as {
    uid: string;
    panels: Array<{ id: number; type: string; gridPos: unknown; targets?: Array<{ expr: string; refId: string; datasource: { uid: string } }> }>;
    templating: { list: Array<{ type: string; definition?: string }> };
    annotations: { list: Array<{ expr?: string }> };
  };
  assert.equal(dash.uid, 'failoverd');
  const ids = dash.panels.map((p) => p.id);
  assert.equal(new Set(ids).size, ids.length, 'panel ids are unique');
  const exprs: string[] = [];
  for (const p of dash.panels) {
    assert.ok(p.gridPos, `panel ${p.id} has a place`);
    if (p.type === 'row') continue;
    assert.ok(p.targets?.length, `panel ${p.id} queries something`);
    const refs = p.targets!.map((x) => x.refId);
    assert.equal(new Set(refs).size, refs.length, `panel ${p.id}: refIds unique`);
    for (const x of p.targets!) {
      assert.equal(x.datasource.uid, '${datasource}', `panel ${p.id}: the dashboard's datasource variable`);
      exprs.push(x.expr);
    }
  }
  for (const v of dash.templating.list) if (v.type === 'query') exprs.push(v.definition!.replace(/^label_values\((.*), \w+\)$/, '$1'));
  for (const a of dash.annotations.list) if (a.expr) exprs.push(a.expr);
  return exprs;
}

/** Metric names and the labels an expression selects or groups by (job/instance come from the scrape, le from histograms). */
function uses(expr: string): { metrics: string[]; labels: string[] } {
  const metrics = [...expr.matchAll(/\b(failoverd_[a-zA-Z0-9_]+)/g)].map((m) => m[1]!);
  const labels = new Set<string>();
  for (const m of expr.matchAll(/failoverd_[a-zA-Z0-9_]+\{([^}]*)\}/g)) for (const l of m[1]!.matchAll(/([a-zA-Z_]\w*)\s*(?:=~|!=|!~|=)/g)) labels.add(l[1]!);
  for (const m of expr.matchAll(/\b(?:by|on|ignoring)\s*\(([^)]*)\)/g)) for (const l of m[1]!.split(',')) if (l.trim()) labels.add(l.trim());
  for (const scrape of ['job', 'instance', 'le']) labels.delete(scrape);
  return { metrics, labels: [...labels] };
}

test('the dashboard and the alerts query only metrics (and labels) a live daemon exports, Route 53 included', { timeout: scaled(60_000) }, async (t) => {
  if (!needMoto(t)) return;
  const moto = await startMoto();
  t.after(() => moto.stop());
  const { id: zoneId } = await createZone(moto.endpoint, 'example.test');
  const backends = await httpBackendsOnOnePort(['127.0.0.1', '127.0.0.2']);
  let hooks = 0;
  const webhook = createServer((req, res) => {
    hooks++;
    req.resume();
    res.writeHead(204).end();
  });
  await new Promise<void>((r) => webhook.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => webhook.close(() => r())));
  // An RFC 2136 server that does not answer: its series (out of sync) are exported all the same.
  const silentDns = await freePort();
  // A secondary that acknowledges every NOTIFY (the reply: the same message with QR set, NOERROR).
  const secondary = createSocket('udp4');
  secondary.on('message', (m, from) => {
    const ack = Buffer.from(m);
    ack.writeUInt16BE((m.readUInt16BE(2) | 0x8000) & 0xfff0, 2);
    secondary.send(ack, from.port, from.address);
  });
  await new Promise<void>((r) => secondary.bind(0, '127.0.0.1', r));
  t.after(() => secondary.close());
  const dir = new TestDir();
  dir.write(
    wwwConfig(backends[0]!.port, {
      token: TOKEN,
      extra: `notify: [{ url: "http://127.0.0.1:${(webhook.address() as AddressInfo).port}/hook" }]
secondaries: [{ address: "127.0.0.1:${secondary.address().port}", zones: [example.test] }]
maintenance: [{ name: new-year, targets: [www.example.test/A/127.0.0.2], cron: "0 3 1 1 *", duration: 1m, reason: "a window that does not run here: its series exist from the start" }]
route53:
  hostedZoneId: ${zoneId}
  zone: example.test
  mode: records
  ownerId: failoverd-test
  endpoint: ${moto.endpoint}
  maxRequestsPerSecond: 20
rfc2136:
  ownerId: failoverd-test
  timeout: 200ms
  keys: { failoverd-update: { secret: "${Buffer.from('failoverd-observability-test-key').toString('base64')}" } }
  zones: [{ zone: example.test, servers: ["127.0.0.1:${silentDns}"], updateKey: failoverd-update }]
`,
    }),
  );
  const d = await AdminDaemon.start(dir, { AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey, AWS_REGION: 'us-east-1', AWS_EC2_METADATA_DISABLED: 'true' });
  t.after(async () => {
    await d.stop();
    for (const b of backends) await b.kill();
    dir.remove();
  });
  // Something in every family: DNS replies, a transition (and its webhook), a drain (state write), a reload, Route 53 applied.
  assert.deepEqual(await d.answer('www.example.test'), ['127.0.0.1']);
  await backends[0]!.kill();
  await d.waitForAnswer('www.example.test', ['127.0.0.2']);
  const drain = await runCli(['drain', 'www.example.test/A/127.0.0.2', '--reason', 'dashboard test', '--admin', d.adminUrl, '--token', TOKEN]);
  assert.equal(drain.code, 0, drain.stderr);
  assert.equal((await d.api('POST', '/v1/reload')).status, 200);
  const samples = (await until(
    'Route 53 in sync, a transition counted and the secondary\'s NOTIFY acknowledged',
    async () => {
      const s = parsePrometheus((await d.api('GET', '/metrics')).text);
      return metric(s, 'failoverd_route53_in_sync') === 1 && (metric(s, 'failoverd_transitions_total') ?? 0) >= 1 && (metric(s, 'failoverd_notifications_total') ?? 0) >= 1 && metric(s, 'failoverd_secondary_notify_acknowledged') === 1 ? s : undefined;
    },
    20_000,
  ))!;
  // The cluster panels are checked against a cluster instance (below).
  const exprs = [...dashboardExprs().filter((e) => !e.includes('failoverd_cluster_')).map((e) => ({ where: DASHBOARD, e })), ...groups().filter((g) => g.name !== CLUSTER_GROUP).flatMap((g) => g.rules).map((r) => ({ where: `${ALERTS} ${r.alert}`, e: r.expr }))];
  const { problems, checked, unsampled } = checkAgainst((await d.api('GET', '/metrics')).text, samples, exprs);
  assert.deepEqual(problems, []);
  const dashMetrics = new Set(dashboardExprs().flatMap((e) => uses(e).metrics));
  for (const m of ['failoverd_record_set_answer', 'failoverd_target_health', 'failoverd_probe_duration_seconds_bucket', 'failoverd_transitions_total', 'failoverd_dns_queries_total', 'failoverd_route53_in_sync', 'failoverd_probe_local_errors_total']) {
    assert.ok(dashMetrics.has(m), `the dashboard shows ${m}`);
  }
  assert.ok(hooks >= 1, 'the webhook was called');
  assert.deepEqual([...unsampled].sort(), ['failoverd_route53_errors_total'], 'labels checked on every metric but Route 53 errors (codes not known in advance, none here)');
  assert.equal(metric(samples, 'failoverd_rfc2136_in_sync', { zone: 'example.test', server: `127.0.0.1:${silentDns}` }), 0, 'the silent RFC 2136 server is out of sync');
  t.diagnostic(`${checked} metric references in ${exprs.length} expressions checked against /metrics; labels unchecked (no samples): ${[...unsampled].join('; ')}`);
});

test('the cluster alerts and the dashboard\'s cluster panels query only metrics (and labels) a live cluster instance exports', { timeout: scaled(60_000) }, async (t) => {
  if (!needTool(t, 'etcd', 'etcd-server')) return;
  const etcd = await startEtcd(1);
  t.after(() => etcd.stop());
  const [primary, secondary] = await httpBackendsOnOnePort(['127.0.0.1', '127.0.0.2']);
  t.after(async () => {
    await primary!.kill();
    await secondary!.kill();
  });
  const cluster = new LoopbackCluster(1, { endpoints: etcd.endpoints, port: primary!.port, leaseTtl: '1s' });
  t.after(() => cluster.stop());
  await cluster.start();
  const d = cluster.daemons[0]!;
  const samples = (await until(
    'the instance leads',
    async () => {
      const s = parsePrometheus((await d.api('GET', '/metrics')).text);
      return metric(s, 'failoverd_cluster_is_leader') === 1 ? s : undefined;
    },
    20_000,
  ))!;
  const panels = dashboardExprs()
    .filter((e) => e.includes('failoverd_cluster_'))
    .map((e) => ({ where: DASHBOARD, e }));
  const exprs = [
    ...panels,
    ...groups()
      .filter((g) => g.name === CLUSTER_GROUP)
      .flatMap((g) => g.rules)
      .map((r) => ({ where: `${ALERTS} ${r.alert}`, e: r.expr })),
  ];
  assert.ok(exprs.length >= panels.length + 2, 'cluster alerts exist');
  // The dashboard's cluster panels: leader, etcd link, serving mode, vantage points.
  const shown = new Set(panels.flatMap(({ e }) => uses(e).metrics));
  for (const m of ['failoverd_cluster_is_leader', 'failoverd_cluster_connected', 'failoverd_cluster_serving', 'failoverd_cluster_vantage_points_live']) assert.ok(shown.has(m), `the dashboard shows ${m}`);
  const { problems, checked, unsampled } = checkAgainst((await d.api('GET', '/metrics')).text, samples, exprs);
  assert.deepEqual(problems, []);
  assert.deepEqual([...unsampled], []);
  t.diagnostic(`${checked} metric references in ${exprs.length} cluster alert expressions checked against a cluster instance's /metrics`);
});

/** Checks that every metric an expression uses is declared in /metrics text, and every label it uses is on a sample of one of them. */
function checkAgainst(text: string, samples: ReturnType<typeof parsePrometheus>, exprs: Array<{ where: string; e: string }>) {
  const declared = new Set([...text.matchAll(/^# TYPE (\S+) (\w+)$/gm)].flatMap((m) => (m[2] === 'histogram' ? [`${m[1]}_bucket`, `${m[1]}_sum`, `${m[1]}_count`] : [m[1]!])));
  const labelsOf = new Map<string, Set<string>>();
  for (const s of samples) {
    const set = labelsOf.get(s.name) ?? new Set<string>();
    for (const l of Object.keys(s.labels)) set.add(l);
    labelsOf.set(s.name, set);
  }
  const problems: string[] = [];
  let checked = 0;
  const unsampled = new Set<string>();
  for (const { where, e } of exprs) {
    const u = uses(e);
    for (const m of u.metrics) {
      checked++;
      if (!declared.has(m)) problems.push(`${where}: ${m} is not in /metrics`);
    }
    // Labels are seen on samples only: a counter nothing has counted yet (Route 53 errors against a healthy moto) has none.
    if (u.metrics.length && u.metrics.every((m) => !labelsOf.has(m))) {
      unsampled.add(u.metrics.join(', '));
      continue;
    }
    const known = new Set(u.metrics.flatMap((m) => [...(labelsOf.get(m) ?? [])]));
    for (const l of u.labels) if (!known.has(l)) problems.push(`${where}: label ${l} is on none of ${u.metrics.join(', ')} in /metrics (${e})`);
  }
  return { problems, checked, unsampled };
}
