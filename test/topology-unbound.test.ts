/**
 * Policy topology through a real resolver: Unbound with its subnetcache
 * module in front of failoverd (a stub zone on a loopback port; ECS sent
 * to failoverd's address, client options always forwarded). Two clients in
 * different subnets (their EDNS Client Subnet from `dig +subnet`) each get
 * their own site, and Unbound caches each answer for its scope. When one
 * site's primary backend is killed, that site's clients move to its
 * secondary within TTL + 1.5 s of failoverd's own answer changing, while
 * the other site's clients keep their answer throughout.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { AdminDaemon, steadyCheck, TestDir, TOKEN } from './helpers/admin-daemon.ts';
import { httpBackendsOnOnePort, type Backend } from './helpers/backends.ts';
import { dig } from './helpers/dig.ts';
import { eventually, scaled } from './helpers/eventually.ts';
import { needTool } from './helpers/tools.ts';
import { startUnbound, type UnboundProcess } from './helpers/unbound.ts';

const TTL = 2;
const dir = new TestDir();
let daemon: AdminDaemon | undefined;
let unbound: UnboundProcess | undefined;
let backends: Backend[] = [];
after(async () => {
  await unbound?.stop();
  await daemon?.stop();
  await Promise.all(backends.map((b) => b.kill()));
  dir.remove();
});

/** A client in `subnet` asking `port` (recursion desired when through Unbound): the addresses and the echoed ECS. */
async function ask(port: number, subnet: string, recursive: boolean): Promise<{ answer: string[]; ecs?: string; ttl?: number }> {
  const r = await dig(port, 'geo.example.test', 'A', [`+subnet=${subnet}`, ...(recursive ? ['+rec'] : [])]);
  assert.equal(r.status, 'NOERROR', r.raw);
  return { answer: r.answer.map((l) => l.split(' ').at(-1)!).sort(), ...(r.ecs ? { ecs: r.ecs } : {}), ...(r.answer[0] ? { ttl: Number(r.answer[0].split(' ')[1]) } : {}) };
}

test('through Unbound (subnetcache): two client subnets get their own site; a killed primary moves only its site\'s clients, within TTL + 1.5 s', async (t) => {
  if (!needTool(t, 'unbound') || !needTool(t, 'dig', 'bind9-dnsutils')) return;
  backends = await httpBackendsOnOnePort(['127.0.0.1', '127.0.0.2', '127.0.0.3']);
  dir.write(`dns:
  listen: ["127.0.0.1:0"]
  ecs: { allow: [127.0.0.0/8] }
zones: zones
admin: { listen: "127.0.0.1:0", token: "${TOKEN}" }
checks:
  web: ${steadyCheck(backends[0]!.port)}
records:
  - name: geo.example.test
    type: A
    ttl: ${TTL}
    policy: topology
    sites:
      eu: { targets: [{ address: 127.0.0.1, check: web }, { address: 127.0.0.2, check: web }] }
      us: { targets: [{ address: 127.0.0.3, check: web }] }
    map:
      - { networks: [192.0.2.0/24], sites: [eu, us] }
      - { networks: [198.51.100.0/24], sites: [us, eu] }
    default: [us]
`);
  daemon = await AdminDaemon.start(dir);
  const d = daemon;
  await d.waitForAnswer('geo.example.test', ['127.0.0.3'], 10_000);
  // Every site up before the clients ask (each rises on its own).
  await d.waitForSitesUp('geo.example.test/A');
  unbound = await startUnbound(
    dir.dir,
    [
      'module-config: "subnetcache iterator"',
      'send-client-subnet: 127.0.0.1',
      'client-subnet-always-forward: yes',
      'do-not-query-localhost: no',
      // .test is one of Unbound's locally served (always NXDOMAIN) zones: let example.test through to the stub.
      'local-zone: "test." nodefault',
    ],
    `stub-zone:
    name: "example.test"
    stub-addr: 127.0.0.1@${d.dnsPort}
`,
  );
  const u = unbound;
  const EU = '192.0.2.0/24';
  const US = '198.51.100.0/24';

  // Each client its own site, through Unbound, with the scope failoverd gave (the /24 of its map entry); asked twice, the second from Unbound's subnet cache.
  for (let i = 0; i < 2; i++) {
    assert.deepEqual(await ask(u.port, EU, true).then(({ answer, ecs }) => ({ answer, ecs })), { answer: ['127.0.0.1'], ecs: `${EU}/24` }, `eu client, ask ${i + 1}: ${u.stderr()}`);
    assert.deepEqual(await ask(u.port, US, true).then(({ answer, ecs }) => ({ answer, ecs })), { answer: ['127.0.0.3'], ecs: `${US}/24` }, `us client, ask ${i + 1}`);
  }

  // eu's primary dies: failoverd answers eu's clients with its secondary (asked directly, no cache) ...
  await backends[0]!.kill();
  await eventually('failoverd to answer the eu client 127.0.0.2', async () => (await ask(d.dnsPort, EU, false)).answer[0] === '127.0.0.2', 10_000, 25);
  const switchedAt = Date.now();
  assert.deepEqual((await ask(d.dnsPort, US, false)).answer, ['127.0.0.3'], 'failoverd: the us client keeps us');

  // ... and through Unbound, the eu client moves once its cached answer expires, the us client never does.
  let usAnswers = 0;
  await eventually(
    'Unbound to answer the eu client 127.0.0.2',
    async () => {
      const us = await ask(u.port, US, true);
      assert.deepEqual(us.answer, ['127.0.0.3'], `the us client moved ${Date.now() - switchedAt} ms after eu's switch`);
      usAnswers++;
      return (await ask(u.port, EU, true)).answer[0] === '127.0.0.2';
    },
    (TTL + 3) * 1000,
    50,
  );
  const moved = Date.now() - switchedAt;
  t.diagnostic(`through Unbound the eu client moved ${moved} ms after failoverd's answer changed (TTL ${TTL} s)`);
  assert.ok(moved <= TTL * 1000 + scaled(1500), `the eu client moved ${moved} ms after failoverd switched: over TTL + 1.5 s`);
  // The us client keeps its answer past TTL + 1.5 s after the switch (its cached entry has been
  // fetched from failoverd again since), asked over and over; the eu client keeps its new one.
  await eventually(
    'TTL + 1.5 s to pass since the switch, the us client unmoved',
    async () => {
      assert.deepEqual((await ask(u.port, US, true)).answer, ['127.0.0.3'], `the us client moved ${Date.now() - switchedAt} ms after eu's switch`);
      usAnswers++;
      return Date.now() - switchedAt > TTL * 1000 + 1500;
    },
    (TTL + 3) * 1000,
    100,
  );
  assert.deepEqual((await ask(u.port, EU, true)).answer, ['127.0.0.2']);
  t.diagnostic(`the us client answered 127.0.0.3 ${usAnswers} times in the ${Date.now() - switchedAt} ms after the switch`);
});
