/**
 * Policy topology by location (countries, continents) and its Route 53
 * geolocation records: the config keys and their errors, the Route 53
 * preflight (a CIDR map is refused in a Route 53 zone), and the plan
 * mapping (one record per location plus the default, per-site health
 * checks in failover mode). Pure: no sockets, no processes.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decide } from '../src/failover/decision.ts';
import { step } from '../src/failover/machine.ts';
import type { TargetView } from '../src/failover/types.ts';
import { toDesiredRecordSet, toDesiredRecordSets } from '../src/published-answers.ts';
import type { DesiredRecordSet } from '../src/route53/desired.ts';
import { describeGeoLocation, markerValue, type R53RecordSet } from '../src/route53/model.ts';
import { computePlan, formatPlan, planIsEmpty, type OwnedHealthCheck, type Plan } from '../src/route53/plan.ts';
import { ConfigFolder } from './helpers/config-folder.ts';


const SITES = `zones: zones
checks:
  web: { type: tcp, port: 80 }
records:
  - name: geo.example.test
    type: A
    policy: topology
    sites:
      eu: { targets: [{ address: 127.0.1.1, check: web }, { address: 127.0.1.2, check: web }] }
      us: { policy: multivalue, targets: [{ address: 127.0.2.1, check: web }, { address: 127.0.2.2, check: web }] }
      ap: { targets: [{ address: 127.0.3.1, check: web }] }
`;

const folder = new ConfigFolder('route53-geo-units', SITES);
const load = (body: string) => folder.load(body);
const problems = (body: string) => folder.problems(body);

test('config: countries and continents as map keys, upper-cased, beside networks', async () => {
  const { config } = await load(`    map:
      - { countries: [fr, DE], continents: [eu], sites: [eu, us] }
      - { continents: [NA, sa], sites: [us, eu] }
      - { networks: [10.0.0.0/8], countries: [JP], sites: [ap, us] }
    default: [us, eu]
`);
  const entries = config.records[0]!.topology!.map.entries;
  assert.deepEqual(
    entries.map((e) => [e.networks, e.countries, e.continents, e.sites]),
    [
      [[], ['FR', 'DE'], ['EU'], ['eu', 'us']],
      [[], [], ['NA', 'SA'], ['us', 'eu']],
      [['10.0.0.0/8'], ['JP'], [], ['ap', 'us']],
    ],
  );
  assert.deepEqual(config.records[0]!.topology!.map.lists, [['us', 'eu'], ['eu', 'us'], ['ap', 'us']]);
});

const BAD: Array<[string, string, RegExp]> = [
  ['UK for the United Kingdom', `    map: [{ countries: [FR, UK], sites: [eu] }]\n    default: [us]\n`, /^records\[0\]\.map\[0\]\.countries\[1\]: "UK" is not an ISO 3166-1 alpha-2 country code \(the United Kingdom is GB\)$/],
  ['a made-up country', `    map: [{ countries: [QQ], sites: [eu] }]\n    default: [us]\n`, /^records\[0\]\.map\[0\]\.countries\[0\]: "QQ" is not an ISO 3166-1 alpha-2 country code$/],
  ['EU as a country', `    map: [{ countries: [EU], sites: [eu] }]\n    default: [us]\n`, /countries\[0\]: "EU" is not an ISO 3166-1 alpha-2 country code \(EU is a continent: list it under continents\)$/],
  ['an unknown continent', `    map: [{ continents: [EUR], sites: [eu] }]\n    default: [us]\n`, /^records\[0\]\.map\[0\]\.continents\[0\]: "EUR" is not a continent code \(AF Africa, AN Antarctica, AS Asia, EU Europe, NA North America, OC Oceania, SA South America\)$/],
  ['a country in two entries', `    map:\n      - { countries: [fr], sites: [eu] }\n      - { countries: [DE, FR], sites: [us] }\n    default: [us]\n`, /^records\[0\]\.map\[1\]\.countries\[1\]: country FR is also records\[0\]\.map\[0\]\.countries\[0\]: each location is mapped once$/],
  ['a continent in two entries', `    map:\n      - { continents: [EU], sites: [eu] }\n      - { continents: [eu], sites: [us] }\n    default: [us]\n`, /^records\[0\]\.map\[1\]\.continents\[0\]: continent EU is also records\[0\]\.map\[0\]\.continents\[0\]/],
  ['an entry without clients', `    map: [{ sites: [eu] }]\n    default: [us]\n`, /^records\[0\]\.map\[0\]\.networks: a map entry needs networks, countries or continents/],
];

for (const [what, body, want] of BAD) {
  test(`config: ${what} is refused, naming the key`, async () => {
    const got = await problems(body);
    assert.ok(got.some((p) => want.test(p)), got.join('\n'));
  });
}

const ROUTE53 = (mode: string) => `route53: { hostedZoneId: Z1, zone: example.test, ownerId: me, mode: ${mode} }\n`;

test('route53: a CIDR map entry in the Route 53 zone is refused, naming the record set and why; a location map is taken in failover mode', async () => {
  const got = await problems(`    map:
      - { continents: [EU], sites: [eu, us] }
      - { networks: [10.0.0.0/8], sites: [ap, us] }
    default: [us, eu]
${ROUTE53('records')}`);
  assert.ok(
    got.some((p) => /^records\[0\]\.map\[1\]\.networks: geo\.example\.test: Route 53 publishes policy topology as geolocation records, which route by continent and country, not by client network \(that is Route 53 CIDR routing, which failoverd does not manage\)/.test(p)),
    got.join('\n'),
  );
  const { config } = await load(`    map: [{ continents: [EU], sites: [eu, us] }]\n    default: [us, eu]\n${ROUTE53('failover')}`);
  assert.equal(config.route53?.mode, 'failover');
});

const GEO_MAP = `    map:
      - { continents: [EU], countries: [GB], sites: [eu, us] }
      - { continents: [NA], sites: [us, eu] }
      - { countries: [JP], sites: [ap, us] }
    default: [us, eu]
`;
const EU1 = 'geo.example.test/A/eu/127.0.1.1';
const EU2 = 'geo.example.test/A/eu/127.0.1.2';
const UP = () => ({ health: 'UP' as const, realHealth: 'UP' as const, since: 0, overridden: false });

function downViews(down: string[]): Map<string, TargetView> {
  return new Map(down.map((id) => [id, { id, health: 'DOWN' as const, since: 0, reason: 'refused' }]));
}

/** What Route 53 holds after `plan` is applied to `current` (health checks created get ids hc-<tag>). */
function applied(current: R53RecordSet[], plan: Plan): R53RecordSet[] {
  const out = new Map(current.map((r) => [`${r.name}/${r.type}/${r.setIdentifier ?? ''}`, r]));
  for (const c of plan.changes) {
    const k = `${c.recordSet.name}/${c.recordSet.type}/${c.recordSet.setIdentifier ?? ''}`;
    const hc = c.recordSet.healthCheckId?.replace(/^new:/, 'hc-');
    if (c.action === 'DELETE') out.delete(k);
    else out.set(k, { ...c.recordSet, ...(hc ? { healthCheckId: hc } : {}) });
  }
  return [...out.values()];
}

const geoRows = (rs: R53RecordSet[]) =>
  rs
    .filter((r) => r.geoLocation)
    .map((r) => [describeGeoLocation(r.geoLocation!), r.values.join(','), r.healthCheckId ?? '-'])
    .sort((a, b) => a[0]!.localeCompare(b[0]!));

test('plan: one geolocation record per continent and country plus the default, each answering its list; a site failure moves only its clients', async () => {
  const { config } = await load(GEO_MAP + ROUTE53('failover'));
  const rs = config.records[0]!;
  let state = step(rs, undefined, downViews([]), 1000).state;
  const desired = () => toDesiredRecordSets([decide(rs, state, UP, 1)], config.records);
  const plan = (current: R53RecordSet[], healthChecks: OwnedHealthCheck[]) =>
    computePlan({ zoneId: 'Z1', zone: 'example.test', ownerId: 'me', mode: 'failover', desired: desired(), current, healthChecks, scope: 'full' });

  const first = plan([], []);
  assert.deepEqual(
    first.healthChecks.map((h) => [h.action, h.record, h.inverted]),
    [
      ['CREATE', 'geo.example.test/A@eu', false],
      ['CREATE', 'geo.example.test/A@us', false],
      ['CREATE', 'geo.example.test/A@ap', false],
    ],
  );
  let r53 = applied([], first);
  assert.deepEqual(geoRows(r53), [
    ['continent EU', '127.0.1.1', 'hc-geo.example.test/A@eu'],
    ['continent NA', '127.0.2.1,127.0.2.2', 'hc-geo.example.test/A@us'],
    ['country GB', '127.0.1.1', 'hc-geo.example.test/A@eu'],
    ['country JP', '127.0.3.1', 'hc-geo.example.test/A@ap'],
    ['default', '127.0.2.1,127.0.2.2', '-'],
  ]);
  assert.ok(r53.every((r) => !r.setIdentifier || r.setIdentifier.startsWith('failoverd-geo-')), 'set identifiers');
  assert.ok(r53.some((r) => r.name === '_failoverd.geo.example.test' && r.values.includes(markerValue('me', 'A'))), 'the ownership marker');
  assert.match(formatPlan(first), /CREATE geo\.example\.test A \[geo country GB\] 127\.0\.1\.1: create geo\.example\.test\/A country GB \(site eu\) → 127\.0\.1\.1 ttl 30/);
  const hcs: OwnedHealthCheck[] = first.healthChecks.map((h) => ({ id: `hc-${h.record}`, record: h.record!, inverted: false, disabled: true }));
  assert.ok(planIsEmpty(plan(r53, hcs)), 'applied: nothing more to do');

  // eu's primary fails: eu fails over inside itself; only the eu records change.
  state = step(rs, state, downViews([EU1]), 2000).state;
  const inside = plan(r53, hcs);
  assert.deepEqual(inside.healthChecks, []);
  r53 = applied(r53, inside);
  assert.deepEqual(geoRows(r53).map((g) => g[1]), ['127.0.1.2', '127.0.2.1,127.0.2.2', '127.0.1.2', '127.0.3.1', '127.0.2.1,127.0.2.2']);

  // eu is down: its health check is inverted, its clients (EU, GB) get us with us's check; NA, JP and the default do not move.
  state = step(rs, state, downViews([EU1, EU2]), 3000).state;
  const failed = plan(r53, hcs);
  assert.deepEqual(failed.healthChecks.map((h) => [h.action, h.ref, h.inverted, h.why]), [['UPDATE', 'hc-geo.example.test/A@eu', true, 'site eu is down: health check disabled + inverted (unhealthy)']]);
  assert.deepEqual(
    failed.changes.map((c) => [c.action, describeGeoLocation(c.recordSet.geoLocation!), c.recordSet.values.join(','), c.recordSet.healthCheckId, c.counted]),
    [
      ['UPSERT', 'continent EU', '127.0.2.1,127.0.2.2', 'hc-geo.example.test/A@us', false],
      ['UPSERT', 'country GB', '127.0.2.1,127.0.2.2', 'hc-geo.example.test/A@us', false],
    ],
  );
  assert.equal(failed.guard.blocked, false);
  r53 = applied(r53, failed);
  assert.deepEqual(geoRows(r53), [
    ['continent EU', '127.0.2.1,127.0.2.2', 'hc-geo.example.test/A@us'],
    ['continent NA', '127.0.2.1,127.0.2.2', 'hc-geo.example.test/A@us'],
    ['country GB', '127.0.2.1,127.0.2.2', 'hc-geo.example.test/A@us'],
    ['country JP', '127.0.3.1', 'hc-geo.example.test/A@ap'],
    ['default', '127.0.2.1,127.0.2.2', '-'],
  ]);
});

test('plan: records mode has no health checks; a location left the map is deleted, a SERVFAIL one left alone; site checks no record set needs are deleted', async () => {
  const { config } = await load(GEO_MAP + ROUTE53('records'));
  const rs = config.records[0]!;
  const state = step(rs, undefined, downViews([]), 1000).state;
  const desired = toDesiredRecordSets([decide(rs, state, UP, 1)], config.records);
  const first = computePlan({ zoneId: 'Z1', zone: 'example.test', ownerId: 'me', mode: 'records', desired, current: [], healthChecks: [], scope: 'full' });
  assert.deepEqual(first.healthChecks, []);
  const r53 = applied([], first);
  assert.ok(geoRows(r53).every((g) => g[2] === '-'));
  // JP leaves the map; GB answers SERVFAIL (whenAllDown: servfail, say): JP deleted, GB kept, stale site checks deleted.
  const gb = desired[0]!.geo!.records.find((g) => g.location.countryCode === 'GB')!;
  const next: DesiredRecordSet = {
    ...desired[0]!,
    geo: { ...desired[0]!.geo!, records: desired[0]!.geo!.records.filter((g) => g.location.countryCode !== 'JP').map((g) => (g === gb ? { ...g, values: [], servfail: true } : g)) },
  };
  const stale: OwnedHealthCheck[] = [{ id: 'hc-old', record: 'geo.example.test/A@eu', inverted: false, disabled: true }];
  const p = computePlan({ zoneId: 'Z1', zone: 'example.test', ownerId: 'me', mode: 'records', desired: [next], current: r53, healthChecks: stale, scope: 'full' });
  assert.deepEqual(
    p.changes.map((c) => [c.action, describeGeoLocation(c.recordSet.geoLocation!), c.why]),
    [['DELETE', 'country JP', 'geo.example.test/A: country JP: no longer in the map']],
  );
  assert.deepEqual(p.skipped.map((s) => s.record), ['geo.example.test/A country GB']);
  assert.deepEqual(p.healthChecks.map((h) => [h.action, h.ref]), [['DELETE', 'hc-old']]);

  // A decision without site lists, or a topology record set whose map is unknown: nothing is changed, never a simple record beside them.
  const bare = { ...decide(rs, state, UP, 2), lists: undefined, sites: undefined };
  for (const [what, d] of [
    ['no site lists', toDesiredRecordSet(bare, rs.topology!.map)],
    ['no map', toDesiredRecordSet(decide(rs, state, UP, 2))],
  ] as const) {
    const q = computePlan({ zoneId: 'Z1', zone: 'example.test', ownerId: 'me', mode: 'records', desired: [d], current: r53, healthChecks: [], scope: 'full' });
    assert.deepEqual(q.changes, [], what);
    assert.ok(q.skipped.length > 0, what);
  }
});
