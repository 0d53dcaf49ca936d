/** ClusterHealthSource on a FakeClock: the quorum over live vantage reports per probe key, since when, and overrides on top. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FakeClock } from './helpers/fake-clock.ts';
import { ClusterHealthSource } from '../src/cluster/cluster-health.ts';
import type { VantageReport } from '../src/cluster/vantage.ts';
import type { Health, Target } from '../src/config/types.ts';
import type { TargetOverride } from '../src/health/overrides.ts';

const KEY = 'web@127.0.0.1';
const target = { id: 'www.example.test/A/127.0.0.1', address: '127.0.0.1', checkName: 'web', probeKey: KEY } as Target;
const report = (instance: string, health: Health): VantageReport => ({ instance, at: 0, targets: { [KEY]: { health, since: 0 } } });

test('cluster health: majority of the live reports; since moves only when the verdict does; a report without the key does not count', () => {
  const clock = new FakeClock(1_000);
  const src = new ClusterHealthSource('majority', clock, () => undefined);
  assert.deepEqual(src.update([KEY], [report('a', 'UP'), report('b', 'UP'), report('c', 'UP')]), [KEY]);
  assert.deepEqual(src.view(target), { health: 'UP', realHealth: 'UP', since: 1_000, overridden: false, reason: 'cluster: 0 of 3 vantage points see DOWN (2 needed)' });
  clock.advance(500);
  assert.deepEqual(src.update([KEY], [report('a', 'DOWN'), report('b', 'UP'), report('c', 'UP')]), [], 'one of three: no change');
  assert.equal(src.view(target).since, 1_000);
  assert.deepEqual(src.real(KEY)!.views, { a: 'DOWN', b: 'UP', c: 'UP' });
  clock.advance(500);
  assert.deepEqual(src.update([KEY], [report('a', 'DOWN'), report('b', 'DOWN'), report('c', 'UP')]), [KEY]);
  assert.equal(src.view(target).health, 'DOWN');
  assert.equal(src.view(target).since, 2_000);
  // c dies (its key expired): 2 of 2 DOWN, unchanged verdict; a report from an instance that does not probe this key is ignored.
  clock.advance(500);
  const other: VantageReport = { instance: 'd', at: 0, targets: { 'web@127.0.0.9': { health: 'UP', since: 0 } } };
  assert.deepEqual(src.update([KEY], [report('a', 'DOWN'), report('b', 'DOWN'), other]), []);
  assert.equal(src.real(KEY)!.live, 2);
  // No live vantage point: UNKNOWN.
  assert.deepEqual(src.update([KEY], []), [KEY]);
  assert.equal(src.view(target).health, 'UNKNOWN');
  assert.equal(src.real(KEY)!.why, 'no live vantage point');
});

test('cluster health without a view says why: the cluster is starting, the live vantage points do not probe it, or none is live any more', () => {
  const src = new ClusterHealthSource('majority', new FakeClock(1_000), () => undefined);
  // A starting cluster's first leader may decide before any vantage point has reported: that is not "no live vantage point".
  src.update([KEY], []);
  assert.deepEqual(src.view(target), { health: 'UNKNOWN', realHealth: 'UNKNOWN', since: 1_000, overridden: false, reason: 'cluster: no vantage point has reported yet (the cluster is starting)' });
  // Live vantage points whose configs lack the target.
  const other: VantageReport = { instance: 'd', at: 0, targets: { 'web@127.0.0.9': { health: 'UP', since: 0 } } };
  src.update([KEY], [other]);
  assert.equal(src.real(KEY)!.why, 'none of the 1 live vantage point probes it');
  src.update([KEY], [other, { ...other, instance: 'e' }]);
  assert.equal(src.real(KEY)!.why, 'none of the 2 live vantage points probes it');
  src.update([KEY], [report('a', 'UP')]);
  assert.equal(src.real(KEY)!.why, '0 of 1 vantage point see DOWN (1 needed)');
  // Every vantage point gone after they reported.
  src.update([KEY], []);
  assert.equal(src.real(KEY)!.why, 'no live vantage point');
});

test('cluster health: an override decides the effective health, with its reason; the real health stays the quorum', () => {
  const clock = new FakeClock(5_000);
  let o: TargetOverride | undefined;
  const src = new ClusterHealthSource(2, clock, () => o);
  src.update([KEY], [report('a', 'UP'), report('b', 'UP')]);
  o = { state: 'DOWN', reason: 'drain', createdAt: 4_000, source: 'api' };
  assert.deepEqual(src.view(target), { health: 'DOWN', realHealth: 'UP', since: 4_000, overridden: true, override: o, reason: 'drained by override (api): drain' });
  o = { ...o, expiresAt: 5_000 };
  assert.equal(src.view(target).overridden, false, 'expired at its expiry');
});
