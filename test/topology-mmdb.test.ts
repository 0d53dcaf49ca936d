/**
 * Policy topology with a MaxMind database (`mmdb`): a database the test
 * builds with libmaxmind-db-writer-perl maps a few networks to countries
 * and continents; dig asks with a client subnet (ECS honoured from
 * 127.0.0.0/8) over UDP (answered by the two UDP workers, which get the
 * database from the main process) and over TCP (the main process). A
 * country, a continent, the default, a CIDR entry inside a country's
 * network (it wins), and each answer's ECS scope; then a reload that swaps
 * the file moves a country, and a reload with a corrupt file is refused,
 * naming it, while the last good database keeps answering.
 */
import assert from 'node:assert/strict';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { AdminDaemon, steadyCheck, TestDir, TOKEN, until } from './helpers/admin-daemon.ts';
import { httpBackendsOnOnePort, type Backend } from './helpers/backends.ts';
import { dig } from './helpers/dig.ts';
import { needMmdbWriter, writeMmdbs, type MmdbNetwork } from './helpers/mmdb.ts';
import { needTool } from './helpers/tools.ts';

const dir = new TestDir();
let daemon: AdminDaemon | undefined;
let backends: Backend[] = [];
after(async () => {
  await daemon?.stop();
  await Promise.all(backends.map((b) => b.kill()));
  dir.remove();
});

const FIRST: MmdbNetwork[] = [
  { network: '192.0.2.0/24', country: 'DE', continent: 'EU' },
  { network: '198.51.100.0/25', country: 'US', continent: 'NA' },
  { network: '203.0.113.0/24', continent: 'AS' },
  { network: '100.64.0.0/16', country: 'JP', continent: 'AS' },
  { network: '2001:db8:1::/48', country: 'FR', continent: 'EU' },
];

/** What one client subnet is answered, and the ECS the answer echoes ("192.0.2.0/25/25"). */
async function ask(port: number, subnet: string, tcp = false): Promise<{ answer: string[]; ecs: string | undefined }> {
  const r = await dig(port, 'geo.example.test', 'A', [`+subnet=${subnet}`, ...(tcp ? ['+tcp'] : [])]);
  assert.equal(r.status, 'NOERROR', r.raw);
  return { answer: r.answer.map((l) => l.split(' ').at(-1)!), ecs: r.ecs };
}

test('countries and continents from an .mmdb pick the site, CIDR entries win, the scope is the database network; a reload swaps the file, a corrupt one is refused', async (t) => {
  if (!needMmdbWriter(t) || !needTool(t, 'dig', 'bind9-dnsutils')) return;
  mkdirSync(join(dir.dir, 'geo'));
  const mmdb = join(dir.dir, 'geo', 'countries.mmdb');
  // The database, and the one swapped in later (DE's network moved to the US), in one perl run.
  const next = join(dir.dir, 'geo', 'next.mmdb');
  writeMmdbs([
    { file: mmdb, networks: FIRST },
    { file: next, networks: [{ network: '192.0.2.0/24', country: 'US', continent: 'NA' }, ...FIRST.slice(1)] },
  ]);
  backends = await httpBackendsOnOnePort(['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4']);
  dir.write(`dns:
  listen: ["127.0.0.1:0"]
  workers: 2
  ecs: { allow: [127.0.0.0/8] }
zones: zones
admin: { listen: "127.0.0.1:0", token: "${TOKEN}" }
checks:
  web: ${steadyCheck(backends[0]!.port)}
records:
  - name: geo.example.test
    type: A
    ttl: 5
    policy: topology
    mmdb: geo/countries.mmdb
    sites:
      eu: { targets: [{ address: 127.0.0.1, check: web }] }
      us: { targets: [{ address: 127.0.0.2, check: web }] }
      ap: { targets: [{ address: 127.0.0.3, check: web }] }
      sa: { targets: [{ address: 127.0.0.4, check: web }] }
    map:
      - { networks: [192.0.2.128/25], sites: [ap, us] }
      - { countries: [DE, fr], sites: [eu, us] }
      - { countries: [US], sites: [us, eu] }
      - { continents: [AS], sites: [ap, eu] }
    default: [sa, us]
`);
  daemon = await AdminDaemon.start(dir);
  const d = daemon;
  // The source address 127.0.0.1 is in no database network: the default list. Then every site up (each rises on its own).
  await d.waitForAnswer('geo.example.test', ['127.0.0.4'], 10_000);
  await d.waitForSitesUp('geo.example.test/A');
  // The status says every site is UP once the main process decided it; each UDP worker serves it from its next
  // snapshot, a moment later. Until both workers answer the last site to rise (ap, for the CIDR entry inside DE):
  // six asks at once reach each of the two workers but for a chance of 1 in 32.
  await until('both UDP workers to serve every site up', async () => (await Promise.all(Array.from({ length: 6 }, () => ask(d.dnsPort, '192.0.2.128/25')))).every((r) => r.answer[0] === '127.0.0.3'), 10_000);

  const cases: Array<[string, string, string, string]> = [
    // subnet sent, what decides, answer, echoed ECS (source/scope)
    ['192.0.2.0/25', 'country DE (its /24 less the CIDR entry inside it: scope /25)', '127.0.0.1', '192.0.2.0/25/25'],
    ['192.0.2.128/25', 'the CIDR entry inside DE', '127.0.0.3', '192.0.2.128/25/25'],
    ['198.51.100.0/24', 'country US, a /25 in the database', '127.0.0.2', '198.51.100.0/24/25'],
    ['198.51.100.128/25', 'no record (the other /25): default', '127.0.0.4', '198.51.100.128/25/25'],
    ['203.0.113.0/24', 'continent AS, no country', '127.0.0.3', '203.0.113.0/24/24'],
    ['100.64.7.0/24', 'country JP is not mapped: its continent AS', '127.0.0.3', '100.64.7.0/24/16'],
    ['2001:db8:1::/56', 'country FR (written fr)', '127.0.0.1', '2001:db8:1::/56/48'],
  ];
  // Asked at once (each its own dig), over UDP and TCP.
  const asked = cases.flatMap(([subnet, what, want, ecs]) => [false, true].map((tcp) => ({ subnet, what, want, ecs, tcp })));
  const got = await Promise.all(asked.map((c) => ask(d.dnsPort, c.subnet, c.tcp)));
  asked.forEach((c, i) => assert.deepEqual(got[i], { answer: [c.want], ecs: c.ecs }, `${c.subnet} over ${c.tcp ? 'TCP (main process)' : 'UDP (workers)'}: ${c.what}`));
  // Outside every database network: the default, for the empty block of the database around it.
  const none = await ask(d.dnsPort, '10.1.0.0/16');
  assert.deepEqual(none.answer, ['127.0.0.4']);
  assert.match(none.ecs!, /^10\.1\.0\.0\/16\/([1-9])$/, 'a short scope: the database has nothing near 10/8');

  // explain names the location that decided (the CLI prints this paragraph; topology-daemon.test.ts runs the CLI).
  const ex = await d.api('GET', `/v1/explain?name=geo.example.test&client=${encodeURIComponent('100.64.7.9')}`);
  assert.equal(ex.status, 200, ex.text);
  assert.deepEqual(ex.body.recordSets[0].client.matched, { entry: 3, continent: 'AS' });
  assert.match(ex.body.explanation, /^Client 100\.64\.7\.9 matches map entry 3 \(continent AS\); sites \[ap, eu\].* It is answered 127\.0\.0\.3 \(an ECS answer for it carries scope \/16\)\./m);
  const de = await d.api('GET', `/v1/explain?name=geo.example.test&client=${encodeURIComponent('192.0.2.0/25')}`);
  assert.deepEqual([de.body.recordSets[0].client.matched, de.body.recordSets[0].client.scope], [{ entry: 1, country: 'DE' }, 25]);

  // The file swapped: DE's network is now in the US. A reload re-reads it.
  renameSync(next, mmdb);
  const r = await d.api('POST', '/v1/reload');
  assert.equal(r.status, 200, r.text);
  await until('192.0.2.0/25 to move to us', async () => (await ask(d.dnsPort, '192.0.2.0/25')).answer[0] === '127.0.0.2', 10_000);
  assert.deepEqual(await ask(d.dnsPort, '192.0.2.0/25', true), { answer: ['127.0.0.2'], ecs: '192.0.2.0/25/25' });

  // A corrupt file: the reload is refused, naming the file; the last good database answers on.
  writeFileSync(mmdb, Buffer.from('not a MaxMind database at all'));
  const bad = await d.api('POST', '/v1/reload');
  assert.equal(bad.status, 422, bad.text);
  assert.deepEqual(
    bad.body.error.details.map((p: { path: string; message: string }) => [p.path, p.message]),
    [['records[0].mmdb', `${mmdb} is not a usable MaxMind database: no MaxMind metadata marker (not an .mmdb file, or truncated)`]],
  );
  for (const tcp of [false, true]) {
    assert.deepEqual(await ask(d.dnsPort, '192.0.2.0/25', tcp), { answer: ['127.0.0.2'], ecs: '192.0.2.0/25/25' });
    assert.deepEqual(await ask(d.dnsPort, '2001:db8:1::/56', tcp), { answer: ['127.0.0.1'], ecs: '2001:db8:1::/56/48' });
  }
});
