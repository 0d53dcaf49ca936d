/**
 * Policy topology by location (countries, continents) and its Route 53
 * geolocation records: the config keys and their errors, the Route 53
 * preflight (a CIDR map is refused in a Route 53 zone), and the plan
 * mapping (one record per location plus the default, per-site health
 * checks in failover mode). Pure: no sockets, no processes.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadConfig } from '../src/config/load.ts';
import { ProblemsError } from '../src/errors.ts';
import { EXAMPLE_ZONE_FILE } from './helpers/dns-fixture.ts';

const dir = mkdtempSync(join(tmpdir(), 'failoverd-route53-geo-units-'));
mkdirSync(join(dir, 'zones'));
copyFileSync(EXAMPLE_ZONE_FILE, join(dir, 'zones', 'example.test.zone'));
after(() => rmSync(dir, { recursive: true, force: true }));

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

let n = 0;
async function load(body: string) {
  const file = join(dir, `c${n++}.yaml`);
  writeFileSync(file, SITES + body);
  return loadConfig(file);
}

async function problems(body: string): Promise<string[]> {
  try {
    await load(body);
  } catch (err) {
    assert.ok(err instanceof ProblemsError, String(err));
    return err.problems.map((p) => `${p.path}: ${p.message}`);
  }
  assert.fail('expected the config to be refused');
}

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
