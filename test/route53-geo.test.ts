/**
 * Policy topology published to Route 53 (moto_server) as geolocation
 * records: `failoverd plan` shows one record per continent and country and
 * the default, and a health check per site; the daemon publishes them; when
 * a site's primary backend (a real HTTP server) is killed, the records of
 * the locations mapped to that site follow (the site's secondary, then the
 * next site once the whole site is down, with the site's health check
 * inverted) while the other locations' records do not change.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ChangeResourceRecordSetsCommand, GetHealthCheckCommand, ListResourceRecordSetsCommand, UpdateHealthCheckCommand, type ResourceRecordSet } from '@aws-sdk/client-route-53';
import { AdminDaemon, steadyCheck, TestDir } from './helpers/admin-daemon.ts';
import { httpBackendsOnOnePort } from './helpers/backends.ts';
import { runCli } from './helpers/cli.ts';
import { eventually } from './helpers/eventually.ts';
import { AWS_ENV, motoZone } from './helpers/moto.ts';

test('topology → Route 53 geolocation: plan shows it, per-site health checks, and a failed site moves only the locations mapped to it', async (t) => {
  const moto = await motoZone(t, 'example.test');
  if (!moto) return;
  // eu: a primary and a secondary; us: one server. The daemon kills nothing itself: the test kills eu's backends.
  const backends = await httpBackendsOnOnePort(['127.0.0.1', '127.0.0.2', '127.0.0.3']);
  t.after(async () => {
    for (const b of backends) await b.kill();
  });
  const dir = new TestDir();
  dir.write(`dns: { listen: ["127.0.0.1:0"] }
admin: { listen: "127.0.0.1:0" }
zones: zones
checks:
  web: ${steadyCheck(backends[0]!.port)}
records:
  - name: geo.example.test
    type: A
    ttl: 30
    policy: topology
    sites:
      eu: { targets: [{ address: 127.0.0.1, check: web }, { address: 127.0.0.2, check: web }] }
      us: { targets: [{ address: 127.0.0.3, check: web }] }
    map:
      - { continents: [EU], countries: [GB], sites: [eu, us] }
      - { continents: [NA], sites: [us, eu] }
    default: [us, eu]
route53:
  hostedZoneId: ${moto.zoneId}
  zone: example.test
  mode: failover
  ownerId: failoverd-geo-test
  endpoint: ${moto.endpoint}
  maxRequestsPerSecond: 20
`);

  const geo = async (): Promise<ResourceRecordSet[]> => {
    const res = await moto.client.send(new ListResourceRecordSetsCommand({ HostedZoneId: moto.zoneId }));
    return (res.ResourceRecordSets ?? []).filter((r) => r.Name === 'geo.example.test.' && r.Type === 'A');
  };
  const where = (r: ResourceRecordSet) => (r.GeoLocation?.CountryCode === '*' ? 'default' : r.GeoLocation?.ContinentCode ?? r.GeoLocation?.CountryCode ?? '?');
  /** location → values, e.g. { EU: '127.0.0.1', GB: ..., NA: ..., default: ... } */
  const valuesByLocation = (rs: ResourceRecordSet[]) => Object.fromEntries(rs.map((r) => [where(r), (r.ResourceRecords ?? []).map((v) => v.Value).join(',')]));
  const hcOf = (rs: ResourceRecordSet[], loc: string) => rs.find((r) => where(r) === loc)?.HealthCheckId;
  const inverted = async (id: string) => (await moto.client.send(new GetHealthCheckCommand({ HealthCheckId: id }))).HealthCheck?.HealthCheckConfig?.Inverted ?? false;

  // 1. The plan: a health check per site, a geolocation record per location and the default; nothing changed.
  const plan = await runCli(['plan', '--config', dir.config], { env: AWS_ENV });
  assert.equal(plan.code, 0, plan.stderr);
  for (const line of [
    /HEALTHCHECK CREATE new:geo\.example\.test\/A@eu \(geo\.example\.test\/A@eu\): health check for site eu/,
    /HEALTHCHECK CREATE new:geo\.example\.test\/A@us /,
    /CREATE geo\.example\.test A \[geo continent EU\] 127\.0\.0\.1: create geo\.example\.test\/A continent EU \(site eu\)/,
    /CREATE geo\.example\.test A \[geo country GB\] 127\.0\.0\.1: /,
    /CREATE geo\.example\.test A \[geo continent NA\] 127\.0\.0\.3: /,
    /CREATE geo\.example\.test A \[geo default\] 127\.0\.0\.3: /,
  ])
    assert.match(plan.stdout, line);
  assert.deepEqual(await geo(), [], 'plan changed nothing');

  // 2. The daemon publishes them: each location's site list answers, every record but the default tied to its site's health check.
  const daemon = await AdminDaemon.start(dir, AWS_ENV, 15_000);
  t.after(() => daemon.stop());
  t.after(() => dir.remove());
  const initial = await eventually('the geolocation records in Route 53', async () => {
    const rs = await geo();
    return rs.length === 4 && rs;
  }, 10_000);
  assert.deepEqual(valuesByLocation(initial), { EU: '127.0.0.1', GB: '127.0.0.1', NA: '127.0.0.3', default: '127.0.0.3' });
  const hcEu = hcOf(initial, 'EU')!;
  const hcUs = hcOf(initial, 'NA')!;
  assert.ok(hcEu && hcUs && hcEu !== hcUs, 'a health check per site');
  assert.equal(hcOf(initial, 'GB'), hcEu);
  assert.equal(hcOf(initial, 'default'), undefined, 'the default (the last resort) has no health check');
  assert.deepEqual([await inverted(hcEu), await inverted(hcUs)], [false, false]);
  assert.ok(initial.every((r) => r.SetIdentifier?.startsWith('failoverd-geo-')), JSON.stringify(initial));

  // 3. eu's primary dies: eu answers its secondary; the EU and GB records follow, NA and the default do not move.
  await backends[0]!.kill();
  await daemon.proc.waitForLog((l) => l.msg === 'transition' && String(l.to).includes('eu=127.0.0.2'), 10_000);
  const inside = await eventually('EU and GB on eu\'s secondary', async () => {
    const rs = await geo();
    return valuesByLocation(rs).EU === '127.0.0.2' && rs;
  }, 10_000);
  assert.deepEqual(valuesByLocation(inside), { EU: '127.0.0.2', GB: '127.0.0.2', NA: '127.0.0.3', default: '127.0.0.3' });
  assert.equal(await inverted(hcEu), false, 'eu is still up');

  // 4. eu's secondary dies too: eu is down: its health check is inverted (Route 53 skips it) and EU, GB move to us with us's check.
  await backends[1]!.kill();
  const down = await eventually('EU and GB on us', async () => {
    const rs = await geo();
    return valuesByLocation(rs).EU === '127.0.0.3' && valuesByLocation(rs).GB === '127.0.0.3' && rs;
  }, 10_000);
  assert.deepEqual(valuesByLocation(down), { EU: '127.0.0.3', GB: '127.0.0.3', NA: '127.0.0.3', default: '127.0.0.3' });
  assert.equal(hcOf(down, 'EU'), hcUs);
  assert.equal(hcOf(down, 'GB'), hcUs);
  assert.equal(await eventually('eu\'s health check inverted', async () => inverted(hcEu), 5000), true);
  assert.equal(await inverted(hcUs), false);
  const untouched = (rs: ResourceRecordSet[]) => rs.filter((r) => ['NA', 'default'].includes(where(r)));
  assert.deepEqual(untouched(down), untouched(initial), 'NA and the default records never changed');

  // 5. eu's primary is back: EU and GB return to it with eu's check, healthy again.
  await backends[0]!.revive();
  const back = await eventually('EU and GB back on eu', async () => {
    const rs = await geo();
    return valuesByLocation(rs).EU === '127.0.0.1' && valuesByLocation(rs).GB === '127.0.0.1' && rs;
  }, 10_000);
  assert.equal(hcOf(back, 'EU'), hcEu);
  assert.equal(await eventually('eu\'s health check healthy', async () => !(await inverted(hcEu)), 5000), true);
  assert.deepEqual(untouched(back), untouched(initial));

  // 6. Read back, Route 53's records equal the plan's (no churn): with the daemon stopped, a record and a health check
  //    changed behind failoverd are exactly what `plan` shows, and `apply` puts them back.
  await daemon.stop();
  await moto.client.send(
    new ChangeResourceRecordSetsCommand({
      HostedZoneId: moto.zoneId,
      ChangeBatch: { Changes: [{ Action: 'UPSERT', ResourceRecordSet: { ...back.find((r) => where(r) === 'NA')!, ResourceRecords: [{ Value: '192.0.2.99' }] } }] },
    }),
  );
  await moto.client.send(new UpdateHealthCheckCommand({ HealthCheckId: hcEu, Inverted: true }));
  const drift = await runCli(['plan', '--config', dir.config], { env: AWS_ENV });
  assert.equal(drift.code, 0, drift.stderr);
  const lines = drift.stdout.trim().split('\n').slice(1);
  assert.equal(lines.length, 2, drift.stdout);
  assert.match(lines[0]!, new RegExp(`^ {2}HEALTHCHECK UPDATE ${hcEu} \\(geo\\.example\\.test/A@eu\\): site eu is up: health check disabled \\(healthy\\)$`));
  assert.match(lines[1]!, /^ {2}UPSERT geo\.example\.test A \[geo continent NA\] 127\.0\.0\.3: update geo\.example\.test\/A continent NA \(site us\) → 127\.0\.0\.3 ttl 30 \(was 192\.0\.2\.99\)$/);
  const apply = await runCli(['apply', '--config', dir.config], { env: AWS_ENV });
  assert.equal(apply.code, 0, apply.stderr);
  assert.deepEqual(untouched(await geo()), untouched(initial));
  assert.equal(await inverted(hcEu), false);
});
