/**
 * docs/configuration.md is generated from the config schema: this fails when
 * a schema key has no description (src/config/reference.ts), a description
 * names a key that no longer exists, or the committed file is stale.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { configKeys } from '../src/config/config-keys.ts';
import { referenceGaps, renderConfigReference } from '../scripts/config-reference.ts';

const FIX = 'describe it in src/config/reference.ts, then run `npm run docs` and commit docs/configuration.md';

test('every config key has a description (and an example or a default)', () => {
  const gaps = referenceGaps();
  assert.deepEqual(gaps.undocumented, [], `config keys without a description: ${FIX}`);
  assert.deepEqual(gaps.unknown, [], 'src/config/reference.ts describes keys the schema does not have: remove them, then run `npm run docs`');
  assert.deepEqual(gaps.noExample, [], `keys with neither a default nor an example: ${FIX}`);
});

test('docs/configuration.md is current (regenerate with `npm run docs`)', () => {
  const committed = readFileSync(new URL('../docs/configuration.md', import.meta.url), 'utf8');
  assert.ok(committed === renderConfigReference(), 'docs/configuration.md is stale: run `npm run docs` and commit docs/configuration.md');
});

test('the reference lists the keys the example config uses, with their defaults', () => {
  const rows = new Map(configKeys().map((r) => [r.path, r]));
  for (const p of ['dns.listen', 'checks.<name>.interval', 'records[].targets[].address', 'records[].failback', 'route53.hostedZoneId', 'admin.listen']) assert.ok(rows.has(p), p);
  assert.equal(rows.get('dns.listen')!.default, '[127.0.0.1:5353]');
  assert.equal(rows.get('checks.<name>.interval')!.default, '1s');
  assert.equal(rows.get('checks.<name>.timeout')!.default, '500ms');
  assert.equal(rows.get('records[].ttl')!.default, '30');
  assert.equal(rows.get('records[].name')!.required, true);
  assert.equal(rows.get('admin.listen')!.default, '127.0.0.1:8053');
  const doc = renderConfigReference();
  assert.match(doc, /\| `records\[\]\.policy` \| "failover" \\\| "multivalue" \\\| "weighted" \\\| "topology" \| `failover` \|/);
});
