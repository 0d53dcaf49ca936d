/**
 * Policy topology in the running daemon: real HTTP backends per site, the
 * embedded server asked by Node's resolver (plain queries: the source
 * address 127.0.0.1 decides, on the fast path) and by dig with a client
 * subnet (ECS honoured from 127.0.0.0/8). A site whose backend is killed,
 * or whose target is drained, is skipped; `failoverd explain --client`
 * names the map entry, the skipped sites and why; /v1/status shows each
 * site's health.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { AdminDaemon, steadyCheck, TestDir, TOKEN, until } from './helpers/admin-daemon.ts';
import { httpBackendsOnOnePort, type Backend } from './helpers/backends.ts';
import { runCli } from './helpers/cli.ts';
import { dig } from './helpers/dig.ts';
import { hasTool } from './helpers/tools.ts';

const dir = new TestDir();
let daemon: AdminDaemon | undefined;
let backends: Backend[] = [];
after(async () => {
  await daemon?.stop();
  await Promise.all(backends.map((b) => b.kill()));
  dir.remove();
});

test('clients get their own site, a killed or drained site is skipped, and explain --client says why', async (t) => {
  backends = await httpBackendsOnOnePort(['127.0.0.1', '127.0.0.2', '127.0.0.3']);
  const port = backends[0]!.port;
  dir.write(`dns:
  listen: ["127.0.0.1:0"]
  ecs: { allow: [127.0.0.0/8] }
zones: zones
admin: { listen: "127.0.0.1:0", token: "${TOKEN}" }
checks:
  web: ${steadyCheck(port)}
records:
  - name: geo.example.test
    type: A
    ttl: 5
    policy: topology
    sites:
      eu: { targets: [{ address: 127.0.0.1, check: web, id: eu-1 }] }
      us: { targets: [{ address: 127.0.0.2, check: web, id: us-1 }, { address: 127.0.0.3, check: web, id: us-2 }] }
    map:
      - { networks: [127.0.0.0/8], sites: [us, eu] }
      - { networks: [192.0.2.0/24], sites: [eu] }
    default: [eu, us]
`);
  daemon = await AdminDaemon.start(dir);
  const d = daemon;
  const admin = ['--admin', d.adminUrl, '--token', TOKEN];
  // The resolver asks from 127.0.0.1: [us, eu].
  await d.waitForAnswer('geo.example.test', ['127.0.0.2'], 5000);
  const digs = hasTool('dig');
  if (digs) {
    const eu = await dig(d.dnsPort, 'geo.example.test', 'A', ['+subnet=192.0.2.0/24']);
    assert.deepEqual(eu.answer, ['geo.example.test. 5 IN A 127.0.0.1']);
    assert.match(eu.raw, /CLIENT-SUBNET: 192\.0\.2\.0\/24\/24/);
    // 198.51.100.0/24 is in no mapped network: the default list, for 196.0.0.0/6 (the widest block holding no mapped network).
    const dflt = await dig(d.dnsPort, 'geo.example.test', 'A', ['+subnet=198.51.100.0/24']);
    assert.deepEqual(dflt.answer, ['geo.example.test. 5 IN A 127.0.0.1']);
    assert.match(dflt.raw, /CLIENT-SUBNET: 198\.51\.100\.0\/24\/6\n/);
    const none = await dig(d.dnsPort, 'geo.example.test', 'A');
    assert.doesNotMatch(none.raw, /CLIENT-SUBNET/);
  } else t.diagnostic('dig is not installed: ECS through dig not asked');

  // us's primary dies: us fails over inside itself.
  await backends[1]!.kill();
  await d.waitForAnswer('geo.example.test', ['127.0.0.3'], 10_000);
  // us's second target drained: us is down, 127.0.0.0/8 clients get eu.
  const drain = await d.api('POST', `/v1/targets/${encodeURIComponent('us-2')}/override`, { body: { state: 'down', reason: 'move us traffic' } });
  assert.equal(drain.status, 200, drain.text);
  await d.waitForAnswer('geo.example.test', ['127.0.0.1'], 5000);

  const ex = await runCli(['explain', 'geo.example.test', '--client', '127.0.0.9', ...admin]);
  assert.equal(ex.code, 0, ex.stderr);
  assert.match(ex.stdout, /^Client 127\.0\.0\.9 matches map entry 0 \(127\.0\.0\.0\/8\); sites \[us, eu\]: site us is down: all 2 targets are DOWN.*; answering site eu: .* It is answered 127\.0\.0\.1 \(an ECS answer for it carries scope \/8\)\./m);
  const other = await runCli(['explain', 'geo.example.test', '--client', '203.0.113.7', ...admin, '--json']);
  assert.equal(other.code, 0, other.stderr);
  const j = JSON.parse(other.stdout);
  assert.equal(j.recordSets[0].client.matched, undefined);
  assert.deepEqual([j.recordSets[0].client.sites, j.recordSets[0].client.site, j.recordSets[0].client.skipped], [['eu', 'us'], 'eu', []]);
  const bad = await runCli(['explain', 'geo.example.test', '--client', 'not-an-address', ...admin]);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /not an IP address or subnet/);

  const status = await d.api('GET', '/v1/status');
  const rs = status.body.recordSets.find((r: { key: string }) => r.key === 'geo.example.test/A');
  assert.deepEqual(
    rs.sites.map((s: { name: string; health: string; answer: string }) => [s.name, s.health, s.answer]),
    [
      ['eu', 'UP', '127.0.0.1'],
      ['us', 'DOWN', '127.0.0.2'],
    ],
  );
  assert.deepEqual(rs.lists.map((l: { sites: string[]; site: string }) => [l.sites.join(','), l.site]), [['eu,us', 'eu'], ['us,eu', 'eu'], ['eu', 'eu']]);

  // Back: the drain lifted and the primary revived, us answers its clients again.
  await d.api('DELETE', `/v1/targets/${encodeURIComponent('us-2')}/override`);
  await backends[1]!.revive();
  await until('us back for 127.0.0.0/8', async () => (await d.answer('geo.example.test'))[0] === '127.0.0.2', 10_000);
});
