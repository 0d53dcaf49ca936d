/**
 * What README.md and docs/operations.md quote is what failoverd ships:
 * - every Prometheus alert quoted in README.md (a yaml block of `- alert:`
 *   rules) is the rule of that name in deploy/prometheus/alerts.yml, the
 *   same in every field;
 * - every metric failoverd registers (but the default process metrics and
 *   the cluster's, which docs/cluster.md lists) has a row in the metrics
 *   tables of README.md and docs/operations.md.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parse } from 'yaml';
import { Metrics } from '../src/admin/metrics.ts';

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

test('every metric failoverd registers has a row in the metrics tables of README.md and docs/operations.md', () => {
  const m = new Metrics({ decisions: () => [], ready: () => true, snapshot: () => undefined, maintenance: () => [], notifyQueue: () => 0, now: () => 0 });
  const names = m
    .names()
    .filter((n) => !/^failoverd_(process|nodejs|cluster)_/.test(n));
  assert.ok(names.length > 20, names.join(', '));
  for (const doc of ['README.md', 'docs/operations.md']) {
    const rows = read(doc)
      .split('\n')
      .filter((l) => l.startsWith('| `failoverd_'))
      .map((l) => l.split('|')[1]!);
    const missing = names.filter((n) => !rows.some((cell) => cell.includes(`\`${n}\``)));
    assert.deepEqual(missing, [], `${doc}'s metrics table lacks these`);
  }
});
