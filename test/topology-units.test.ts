/**
 * Policy topology without sockets: the config's good and bad shapes (every
 * problem names its key), the client map's tries and scopes, and the
 * failover machine skipping down sites (drains included) with the
 * all-down rule of the first listed site.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { buildClientTrie, lookupClientTrie, parseCidr, type Cidr } from '../src/config/client-networks.ts';
import { loadConfig } from '../src/config/load.ts';
import type { RecordSetConfig } from '../src/config/types.ts';
import { decide } from '../src/failover/decision.ts';
import { step } from '../src/failover/machine.ts';
import { chooseSite } from '../src/failover/policy-topology.ts';
import type { Answer, RecordSetState, TargetView } from '../src/failover/types.ts';
import { TOPOLOGY_GUIDE } from '../src/config/topology-guide.ts';
import { ConfigFolder } from './helpers/config-folder.ts';


const HEAD = `zones: zones
checks:
  web: { type: tcp, port: 80 }
records:
  - name: geo.example.test
    type: A
`;
const TWO_SITES = `    policy: topology
    sites:
      eu:
        targets: [{ address: 127.0.1.1, check: web }, { address: 127.0.1.2, check: web }]
      us:
        policy: multivalue
        targets: [{ address: 127.0.2.1, check: web }, { address: 127.0.2.2, check: web, id: us-b }]
`;

const folder = new ConfigFolder('topology-units', HEAD);
const load = (body: string) => folder.load(body);
const problems = (body: string) => folder.problems(body);

test('good: a two-site record set loads with its sites, target ids per site and the compiled map', async () => {
  const { config } = await load(`${TWO_SITES}    map:
      - { networks: [10.0.0.0/8, "2001:db8::/32"], sites: [eu, us] }
      - { networks: [10.1.0.0/16], sites: [us, eu] }
    default: [us, eu]
`);
  const rs = config.records[0]!;
  assert.equal(rs.policy, 'topology');
  assert.equal(rs.whenAllDown, 'primary');
  assert.deepEqual(rs.topology!.sites.map((s) => [s.name, s.policy, s.targets.map((t) => t.id)]), [
    ['eu', 'failover', ['geo.example.test/A/eu/127.0.1.1', 'geo.example.test/A/eu/127.0.1.2']],
    ['us', 'multivalue', ['geo.example.test/A/us/127.0.2.1', 'us-b']],
  ]);
  assert.deepEqual(rs.targets.map((t) => t.site), ['eu', 'eu', 'us', 'us']);
  assert.deepEqual(rs.topology!.map.lists, [['us', 'eu'], ['eu', 'us']]);
});

const BAD: Array<[string, string, RegExp]> = [
  ['an unknown site in the map', `${TWO_SITES}    map: [{ networks: [10.0.0.0/8], sites: [eu, mars] }]\n    default: [us]\n`, /^records\[0\]\.map\[0\]\.sites\[1\]: unknown site "mars" \(sites: eu, us\)$/],
  ['an unknown site in default', `${TWO_SITES}    default: [us, asia]\n`, /^records\[0\]\.default\[1\]: unknown site "asia"/],
  ['a site twice in one list', `${TWO_SITES}    default: [us, eu, us]\n`, /^records\[0\]\.default\[2\]: site "us" is listed twice$/],
  [
    'the same network twice (spelled two ways)',
    `${TWO_SITES}    map:\n      - { networks: ["2001:db8::/32"], sites: [eu] }\n      - { networks: ["2001:0db8:0::/32"], sites: [us] }\n    default: [us]\n`,
    /^records\[0\]\.map\[1\]\.networks\[0\]: network 2001:db8::\/32 is also records\[0\]\.map\[0\]\.networks\[0\]: each network is mapped once$/,
  ],
  ['an IPv4 prefix over 32', `${TWO_SITES}    map: [{ networks: [10.0.0.0/33], sites: [eu] }]\n    default: [us]\n`, /^records\[0\]\.map\[0\]\.networks\[0\]: "10\.0\.0\.0\/33" has a bad prefix length \/33: an IPv4 prefix is 0 to 32$/],
  ['an IPv6 prefix over 128', `${TWO_SITES}    map: [{ networks: ["2001:db8::/129"], sites: [eu] }]\n    default: [us]\n`, /^records\[0\]\.map\[0\]\.networks\[0\]: .* an IPv6 prefix is 0 to 128$/],
  ['bits beyond the prefix', `${TWO_SITES}    map: [{ networks: [10.1.2.3/8], sites: [eu] }]\n    default: [us]\n`, /^records\[0\]\.map\[0\]\.networks\[0\]: "10\.1\.2\.3\/8" has address bits set beyond \/8: the network is 10\.0\.0\.0\/8$/],
  ['not a network', `${TWO_SITES}    map: [{ networks: [10.0.0/8], sites: [eu] }]\n    default: [us]\n`, /^records\[0\]\.map\[0\]\.networks\[0\]: "10\.0\.0\/8" is not an IPv4 or IPv6 network/],
  ['targets beside sites', `${TWO_SITES}    targets: [{ address: 127.0.0.1, check: web }]\n    default: [us]\n`, /^records\[0\]\.targets: policy topology takes its targets from sites/],
  ['topology without default', TWO_SITES, /^records\[0\]\.default: policy topology needs default/],
  ['sites on a failover record set', `    sites: { eu: { targets: [{ address: 127.0.1.1, check: web }] } }\n    targets: [{ address: 127.0.0.1, check: web }]\n`, /^records\[0\]\.sites: sites applies to policy topology only \(this record set has policy failover\)$/],
  ['an unknown check in a site', `    policy: topology\n    sites: { eu: { targets: [{ address: 127.0.1.1, check: nope }] } }\n    default: [eu]\n`, /^records\[0\]\.sites\.eu\.targets\[0\]\.check: unknown check "nope"/],
  // MaxMind databases (config/geo-database.ts); a good one is in topology-mmdb.test.ts (it builds one with perl); the location codes are in route53-geo-units.test.ts.
  ['a missing mmdb file', `${TWO_SITES}    mmdb: geo/none.mmdb\n    map: [{ countries: [DE], sites: [eu] }]\n    default: [us]\n`, /^records\[0\]\.mmdb: cannot read the MaxMind database \S*geo\/none\.mmdb: ENOENT$/],
  ['an mmdb file that is not one', `${TWO_SITES}    mmdb: not-an.mmdb\n    map: [{ continents: [EU], sites: [eu] }]\n    default: [us]\n`, /^records\[0\]\.mmdb: \S*not-an\.mmdb is not a usable MaxMind database: no MaxMind metadata marker/],
  ['mmdb on a failover record set', `    mmdb: not-an.mmdb\n    targets: [{ address: 127.0.0.1, check: web }]\n`, /^records\[0\]\.mmdb: mmdb applies to policy topology only/],
];
writeFileSync(join(folder.dir, 'not-an.mmdb'), 'this is not a MaxMind database\n');

for (const [what, body, want] of BAD) {
  test(`bad: ${what} is refused, naming the key`, async () => {
    const got = await problems(body);
    assert.ok(got.some((p) => want.test(p)), got.join('\n'));
  });
}

function nets(...list: Array<[string, number]>): Array<{ cidr: Cidr; value: number }> {
  return list.map(([text, value]) => ({ cidr: parseCidr(text) as Cidr, value }));
}

test('the trie gives the longest match and the widest block it holds for (the ECS scope), merging equal neighbours', () => {
  const trie = buildClientTrie(nets(['10.0.0.0/8', 1], ['10.1.0.0/16', 2], ['10.2.0.0/16', 1], ['192.168.0.0/24', 3], ['192.168.1.0/24', 3]), 0);
  const at = (a: string) => lookupClientTrie(trie, Uint8Array.from(a.split('.').map(Number)));
  assert.deepEqual(at('10.1.2.3'), { value: 2, scope: 16 });
  // 10.2.0.0/16 has the same value as its parent 10/8: merged away; 10.0.0.0/16's widest block avoiding 10.1/16 is /16.
  assert.deepEqual(at('10.2.3.4'), { value: 1, scope: 15 });
  assert.deepEqual(at('10.200.0.1'), { value: 1, scope: 9 });
  // Two adjacent /24s with one value answer as one /23.
  assert.deepEqual(at('192.168.1.7'), { value: 3, scope: 23 });
  // 8.0.0.0/7 is the widest block around 8.8.8.8 that holds no mapped network (as gdnsd answers it).
  assert.deepEqual(at('8.8.8.8'), { value: 0, scope: 7 });
  assert.deepEqual(lookupClientTrie(buildClientTrie([], 0), new Uint8Array(4)), { value: 0, scope: 0 });
});

function ids(a: Answer): string[] | string {
  return a.kind === 'targets' ? a.targetIds : a.kind;
}

function views(down: string[]): Map<string, TargetView> {
  return new Map(down.map((id) => [id, { id, health: 'DOWN' as const, since: 0, reason: id.startsWith('drain') ? 'override: drain' : 'refused' }]));
}

test('the machine skips a down site (a drained one too), names why, and answers the first site\'s all-down rule when a whole list is down', async () => {
  const { config } = await load(`${TWO_SITES.replace('{ address: 127.0.1.2, check: web }', '{ address: 127.0.1.2, check: web, id: drain-eu-b }')}    whenAllDown: primary
    map: [{ networks: [10.0.0.0/8], sites: [eu, us] }]
    default: [us, eu]
`);
  const rs: RecordSetConfig = config.records[0]!;
  const eu1 = 'geo.example.test/A/eu/127.0.1.1';
  const us1 = 'geo.example.test/A/us/127.0.2.1';
  let s: RecordSetState = step(rs, undefined, views([]), 1000).state;
  const euList = () => chooseSite(['eu', 'us'], s.sites)!;
  assert.deepEqual([euList().site, euList().state.answer], ['eu', { kind: 'targets', targetIds: [eu1], ttl: 30, weighted: false }]);
  // eu's primary down: eu fails over inside itself.
  let r = step(rs, s, views([eu1]), 2000);
  s = r.state;
  assert.equal(euList().site, 'eu');
  assert.deepEqual(ids(euList().state.answer), ['drain-eu-b']);
  assert.match(r.transition!.reason, /^site eu: primary .* is DOWN \(refused\); failed over to/);
  // Its second target drained too: eu is down, its clients get us.
  r = step(rs, s, views([eu1, 'drain-eu-b']), 3000);
  s = r.state;
  assert.equal(euList().site, 'us');
  assert.match(euList().skipped[0]!.reason, /^site eu is down: all 2 targets are DOWN/);
  assert.equal(r.transition!.from, 'eu=127.0.1.2 us=127.0.2.1,127.0.2.2');
  assert.equal(r.transition!.to, 'eu=DOWN:127.0.1.1 us=127.0.2.1,127.0.2.2');
  const d = decide(rs, s, () => ({ health: 'UP', realHealth: 'UP', since: 0, overridden: false }), 1);
  assert.deepEqual(d.lists!.map((l) => [l.sites.join(','), l.site, l.answer.kind === 'values' && l.answer.values]), [
    ['us,eu', 'us', ['127.0.2.1', '127.0.2.2']],
    ['eu,us', 'us', ['127.0.2.1', '127.0.2.2']],
  ]);
  // Everything down: each list answers its first site's primary (whenAllDown: primary), never both sites at once.
  s = step(rs, s, views([eu1, 'drain-eu-b', us1, 'us-b']), 4000).state;
  assert.equal(s.allDown, true);
  assert.deepEqual([euList().site, euList().allDown, ids(euList().state.answer)], ['eu', true, [eu1]]);
  assert.deepEqual(ids(s.answer), [us1], 'the default list [us, eu]: us\'s primary');
});

test('the worked two-site example in docs/configuration.md loads and answers as it says', async () => {
  const yaml = /```yaml\n([\s\S]*?)```/.exec(TOPOLOGY_GUIDE)![1]!;
  const file = join(folder.dir, 'guide.yaml');
  writeFileSync(file, yaml);
  const { config } = await loadConfig(file);
  const rs = config.records[0]!;
  const at = (a: string) => lookupClientTrie(rs.topology!.map.v4, Uint8Array.from(a.split('.').map(Number)));
  const list = (a: string) => rs.topology!.map.lists[at(a).value]!.join(',');
  assert.deepEqual([list('10.2.3.4'), at('10.2.3.0').scope], ['eu,us', 15]);
  assert.deepEqual([list('10.1.5.0'), at('10.1.5.0').scope], ['us,eu', 16]);
  assert.equal(list('192.0.2.1'), 'us,eu');
  assert.deepEqual(config.dns.ecs?.allow, ['192.0.2.53/32']);
});

test('a site that was down comes back through the target it answered while down (whenAllDown: primary): a change and a transition, its lists take it again', async () => {
  const { config } = await load(`${TWO_SITES}    map: [{ networks: [10.0.0.0/8], sites: [eu, us] }]
    default: [us, eu]
`);
  const rs: RecordSetConfig = config.records[0]!;
  const eu1 = 'geo.example.test/A/eu/127.0.1.1';
  const eu2 = 'geo.example.test/A/eu/127.0.1.2';
  let s: RecordSetState = step(rs, undefined, views([]), 1000).state;
  s = step(rs, s, views([eu1, eu2]), 2000).state;
  assert.equal(chooseSite(['eu', 'us'], s.sites)!.site, 'us');
  assert.deepEqual(ids(s.sites!.eu!.answer), [eu1], 'eu down answers its primary (whenAllDown: primary)');
  const r = step(rs, s, views([eu2]), 3000);
  assert.equal(r.changed, true);
  assert.equal(chooseSite(['eu', 'us'], r.state.sites)!.site, 'eu');
  assert.equal(r.transition?.from, 'eu=DOWN:127.0.1.1 us=127.0.2.1,127.0.2.2');
  assert.equal(r.transition?.to, 'eu=127.0.1.1 us=127.0.2.1,127.0.2.2');
  assert.match(r.transition!.reason, /^site eu: /);
});
