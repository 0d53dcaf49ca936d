/**
 * What README.md and docs/operations.md quote is what failoverd ships:
 * - every Prometheus alert quoted in README.md (a yaml block of `- alert:`
 *   rules) is the rule of that name in deploy/prometheus/alerts.yml, the
 *   same in every field;
 * - every metric failoverd registers (but the default process metrics) has
 *   a row in the metrics tables of README.md and docs/operations.md, the
 *   cluster's in docs/cluster.md's;
 * - README's set-up paragraphs (issue 26) say what the package does: run it
 *   as `npx failoverd` (the package's bin) or `npm link`, the admin API's
 *   default address, the state folder's default place, and npm's EBADENGINE
 *   warning for the dns2 installed;
 * - the server-side RFC 2136 configs in docs/configuration.md and README.md
 *   (Knot, BIND, PowerDNS) are what test/helpers/update-servers.ts runs the
 *   servers with.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parse } from 'yaml';
import { Metrics } from '../src/admin/metrics.ts';
import { adminSchema, stateSchema } from '../src/config/schema.ts';
import { knotConf, namedConf, pdnsConf, pdnsSetup } from './helpers/update-servers.ts';

const read = (path: string) => readFileSync(new URL(`../${path}`, import.meta.url), 'utf8');

interface Rule {
  alert?: string;
  [key: string]: unknown;
}

test('every alert quoted in README.md is deploy/prometheus/alerts.yml\'s rule of that name, field for field', () => {
  const shipped = new Map<string, Rule>();
  for (const g of (parse(read('deploy/prometheus/alerts.yml')) as { groups: Array<{ rules: Rule[] }> }).groups) {
    for (const r of g.rules) if (r.alert) shipped.set(r.alert, r);
  }
  const quoted = [...read('README.md').matchAll(/```ya?ml\n([\s\S]*?)```/g)].map((m) => m[1]!).filter((block) => /^\s*- alert:/m.test(block));
  assert.ok(quoted.length > 0, 'README.md quotes no alert');
  for (const block of quoted) {
    for (const rule of parse(block) as Rule[]) {
      assert.ok(rule.alert && shipped.has(rule.alert), `README.md quotes ${rule.alert}, which alerts.yml does not have`);
      assert.deepEqual(rule, shipped.get(rule.alert), `README.md's ${rule.alert} differs from alerts.yml's`);
    }
  }
});

/** The first cells of a doc's metrics table rows: "`failoverd_x`, `failoverd_y`" or "`failoverd_x{label}`". */
const metricCells = (doc: string) =>
  read(doc)
    .split('\n')
    .filter((l) => l.startsWith('| `failoverd_'))
    .map((l) => l.split('|')[1]!);
const lacking = (names: string[], cells: string[]) => names.filter((n) => !cells.some((cell) => cell.includes(`\`${n}\``) || cell.includes(`\`${n}{`)));

test('every metric failoverd registers has a row in the metrics tables of README.md and docs/operations.md (the cluster\'s in docs/cluster.md)', () => {
  const m = new Metrics({ decisions: () => [], ready: () => true, snapshot: () => undefined, maintenance: () => [], notifyQueue: () => 0, now: () => 0 });
  const all = m.names().filter((n) => !/^failoverd_(process|nodejs)_/.test(n));
  const cluster = all.filter((n) => n.startsWith('failoverd_cluster_'));
  const names = all.filter((n) => !cluster.includes(n));
  assert.ok(names.length > 20 && cluster.length > 5, all.join(', '));
  for (const doc of ['README.md', 'docs/operations.md']) assert.deepEqual(lacking(names, metricCells(doc)), [], `${doc}'s metrics table lacks these`);
  assert.deepEqual(lacking(cluster, metricCells('docs/cluster.md')), [], 'docs/cluster.md\'s metrics table lacks these');
});

test('README\'s set-up paragraphs say what the package does: npx failoverd (its bin), the admin API\'s and the state file\'s default places, dns2\'s engines as the EBADENGINE note quotes them', () => {
  const readme = read('README.md');
  const setUp = readme.slice(readme.indexOf('## Set up'), readme.indexOf('\n## ', readme.indexOf('## Set up') + 1));
  const pkg = JSON.parse(read('package.json')) as { bin: Record<string, string>; dependencies: Record<string, string> };
  assert.equal(pkg.bin.failoverd, 'bin/failoverd.js', 'the package\'s command is failoverd');
  for (const said of ['`npx failoverd ...`', '`npm link`']) assert.ok(setUp.includes(said), `README's set-up says ${said}`);
  assert.ok(read('docs/operations.md').includes('`npx failoverd ...`'), 'docs/operations.md says npx failoverd');
  const admin = adminSchema.parse(undefined).listen;
  assert.ok(setUp.includes(`**${admin.host}:${admin.port}**`), `README's set-up names the admin API's default address ${admin.host}:${admin.port}`);
  const stateFile = stateSchema.parse(undefined).file.replace(/^\.\//, '');
  assert.ok(setUp.includes(`\`${stateFile}\``) && setUp.includes(`\`${stateFile.split('/')[0]}/\` folder next to the config`), `README's set-up names the state file's default ${stateFile}`);
  const dns2 = JSON.parse(read('node_modules/dns2/package.json')) as { version: string; engines?: { node?: string } };
  assert.equal(pkg.dependencies.dns2, dns2.version);
  const note = `package: 'dns2@${dns2.version}', required: { node: '${dns2.engines?.node}' } }`;
  assert.ok(setUp.replace(/\s+/g, ' ').includes(note), `README's EBADENGINE note quotes npm's warning for the installed dns2: ${note}`);
});

test('the server-side RFC 2136 setup in docs/configuration.md and README.md is what the tests run Knot, BIND and PowerDNS with', () => {
  const doc = read('docs/configuration.md');
  const readme = read('README.md');
  const o = {
    zone: 'example.test',
    zoneText: '',
    updateKey: { name: 'failoverd-update', algorithm: 'hmac-sha256', secret: 'BASE64-SECRET-OF-failoverd-update' },
    readKey: { name: 'failoverd-read', algorithm: 'hmac-sha256', secret: 'BASE64-SECRET-OF-failoverd-read' },
  };
  // knot.conf from its key section on (before it: the test's own server, database, control and log sections).
  const fromKeys = (conf: string) => conf.slice(conf.indexOf('key:\n'));
  const blocks: Array<[string, string]> = [
    ['Knot', fromKeys(knotConf('/var/lib/knot', 53, o))],
    ['Knot with a secondary to NOTIFY', fromKeys(knotConf('/var/lib/knot', 53, { ...o, notify: { port: 5300 } }))],
    ['BIND', namedConf('/var/cache/bind', 53, o)],
    ['PowerDNS', pdnsConf('/var/lib/powerdns', 53)],
    ['PowerDNS metadata', pdnsSetup(o).map((a) => `pdnsutil ${a.join(' ')}`).join('\n') + '\n'],
  ];
  for (const [what, text] of blocks) {
    assert.ok(doc.includes('\n' + text + '```'), `docs/configuration.md shows ${what}'s config as the tests write it:\n${text}`);
    // README.md shows each server's (the NOTIFY variant only in the reference).
    if (!what.includes('NOTIFY')) assert.ok(readme.includes('\n' + text + '```'), `README.md shows ${what}'s config as the tests write it:\n${text}`);
  }
});
