/** Cluster health of one target from the live vantage points' views, by quorum (table tests). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clusterHealth, requiredDown, type Quorum } from '../src/cluster/quorum.ts';
import type { Health } from '../src/config/types.ts';

const U: Health = 'UP';
const D: Health = 'DOWN';
const X: Health = 'UNKNOWN';

const table: Array<{ name: string; quorum: Quorum; views: Health[]; health: Health; required: number | undefined }> = [
  { name: 'majority of 3: one DOWN changes nothing', quorum: 'majority', views: [D, U, U], health: U, required: 2 },
  { name: 'majority of 3: two DOWN is DOWN', quorum: 'majority', views: [D, D, U], health: D, required: 2 },
  { name: 'majority of 3: all UP', quorum: 'majority', views: [U, U, U], health: U, required: 2 },
  { name: 'majority of 4: a 2-2 tie is UP', quorum: 'majority', views: [D, D, U, U], health: U, required: 3 },
  { name: 'majority of 4: three DOWN', quorum: 'majority', views: [D, D, D, U], health: D, required: 3 },
  { name: 'majority of 3: one DOWN, one UNKNOWN could tip it', quorum: 'majority', views: [D, X, U], health: X, required: 2 },
  { name: 'majority of 3: all UNKNOWN', quorum: 'majority', views: [X, X, X], health: X, required: 2 },
  { name: 'majority of 1: the single point decides', quorum: 'majority', views: [D], health: D, required: 1 },
  { name: 'all of 3: two DOWN is still UP', quorum: 'all', views: [D, D, U], health: U, required: 3 },
  { name: 'all of 3: three DOWN', quorum: 'all', views: [D, D, D], health: D, required: 3 },
  { name: 'all of 3: two DOWN, one UNKNOWN', quorum: 'all', views: [D, D, X], health: X, required: 3 },
  { name: 'any: one DOWN is DOWN', quorum: 'any', views: [D, U, U], health: D, required: 1 },
  { name: 'any: all UP', quorum: 'any', views: [U, U, U], health: U, required: 1 },
  { name: 'any: an UNKNOWN keeps it undecided', quorum: 'any', views: [U, X, U], health: X, required: 1 },
  { name: 'N=2 of 3: two DOWN', quorum: 2, views: [D, U, D], health: D, required: 2 },
  { name: 'N=2 of 3: one DOWN', quorum: 2, views: [D, U, U], health: U, required: 2 },
  { name: 'N=3 with only 2 live points: no verdict', quorum: 3, views: [D, D], health: X, required: undefined },
  { name: 'no live vantage point: no verdict', quorum: 'majority', views: [], health: X, required: undefined },
];

for (const row of table) {
  test(`quorum: ${row.name}`, () => {
    const got = clusterHealth(row.quorum, row.views);
    assert.equal(got.health, row.health);
    assert.equal(got.required, row.required);
    assert.equal(got.live, row.views.length);
    assert.equal(got.up + got.down + got.unknown, row.views.length);
  });
}

test('quorum: why names the count, e.g. "1 of 3 vantage points see DOWN"', () => {
  assert.equal(clusterHealth('majority', [D, U, U]).why, '1 of 3 vantage points see DOWN (2 needed)');
  assert.match(clusterHealth(3, [D, D]).why, /2 live vantage points, fewer than the quorum of 3/);
  assert.equal(clusterHealth('majority', []).why, 'no live vantage point');
});

test('quorum: the order of views does not matter', () => {
  const views: Health[] = [D, U, X, D, U];
  for (const q of ['majority', 'all', 'any', 2] as Quorum[]) {
    const a = clusterHealth(q, views);
    const b = clusterHealth(q, [...views].reverse());
    assert.deepEqual(a, b);
  }
});

test('requiredDown: majority is more than half', () => {
  assert.deepEqual([1, 2, 3, 4, 5].map((n) => requiredDown('majority', n)), [1, 2, 2, 3, 3]);
});
