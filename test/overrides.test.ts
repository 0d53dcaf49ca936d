/** OverrideStore on a FakeClock: expiry fires exactly at expiresAt (also beyond setTimeout's 24.8-day limit), replace and clear events. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FakeClock } from './helpers/fake-clock.ts';
import { OverrideStore, type OverrideEvent } from '../src/health/overrides.ts';

const DAY = 86_400_000;

function store() {
  const clock = new FakeClock(0);
  const events: OverrideEvent[] = [];
  return { clock, events, s: new OverrideStore(clock, (e) => events.push(e)) };
}

test('an override expires exactly at expiresAt, with one "expired" event', () => {
  const { clock, events, s } = store();
  s.set('t1', { state: 'DOWN', reason: 'r', source: 'api', createdAt: 0, expiresAt: 1000 });
  clock.advance(999);
  assert.equal(s.get('t1')?.reason, 'r');
  clock.advance(1);
  assert.equal(s.get('t1'), undefined);
  assert.deepEqual(events.map((e) => [e.action, e.targetId]), [['set', 't1'], ['expired', 't1']]);
  assert.deepEqual(s.all(), []);
});

test('an expiry 40 days ahead (past setTimeout\'s limit) fires on time, not at once', () => {
  const { clock, events, s } = store();
  s.set('t1', { state: 'DOWN', reason: 'long', source: 'api', createdAt: 0, expiresAt: 40 * DAY });
  clock.advance(30 * DAY);
  assert.equal(s.get('t1')?.reason, 'long');
  assert.equal(events.length, 1);
  clock.advance(10 * DAY);
  assert.equal(s.get('t1'), undefined);
  assert.deepEqual(events.map((e) => e.action), ['set', 'expired']);
});

test('replacing an override cancels the old expiry; clear reports what was removed; silent restore sends nothing', () => {
  const { clock, events, s } = store();
  s.set('t1', { state: 'DOWN', reason: 'a', source: 'maintenance:w', createdAt: 0, expiresAt: 1000 });
  s.set('t1', { state: 'UP', reason: 'b', source: 'api', createdAt: 10 });
  clock.advance(5000);
  assert.equal(s.get('t1')?.reason, 'b', 'the first expiry did not remove the second override');
  const set2 = events[1]!;
  assert.equal(set2.action === 'set' && set2.replaced?.reason, 'a');
  assert.equal(s.clear('t1')?.reason, 'b');
  assert.equal(s.clear('t1'), undefined);
  assert.deepEqual(events.map((e) => e.action), ['set', 'set', 'cleared']);
  s.set('t2', { state: 'DOWN', reason: 'restored', source: 'api', createdAt: 0 }, { silent: true });
  assert.equal(events.length, 3);
  assert.deepEqual(s.all().map(([id]) => id), ['t2']);
  s.stop();
});
