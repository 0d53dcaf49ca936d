import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from './helpers/fake-clock.ts';
import { HealthTracker, HISTORY_SIZE } from '../src/health/hysteresis.ts';
import { effectiveHealth } from '../src/health/effective.ts';
import type { ProbeResult } from '../src/probes/types.ts';

/** A probe failed on a local error (this machine out of descriptors), as the probes make it. */
function localFailure(at: number): ProbeResult {
  const err = Object.assign(new Error('connect EMFILE 127.0.0.1:80 - Local (undefined:undefined)'), { code: 'EMFILE' });
  return { ok: false, reason: 'local error EMFILE (not counted)', latencyMs: 0.2, at, local: { code: 'EMFILE', err } };
}

/** Feeds a scripted sequence ("+" ok, "-" fail, "L" local error) one second apart; returns the health after each result. */
function run(tracker: HealthTracker, clock: FakeClock, script: string) {
  const out: { health: string; changed: boolean; unsettled: boolean }[] = [];
  for (const c of script) {
    clock.advance(1000);
    const r: ProbeResult =
      c === '+' ? { ok: true, reason: '200 OK', latencyMs: 5, at: clock.now() } : c === 'L' ? localFailure(clock.now()) : { ok: false, reason: 'refused', latencyMs: 1, at: clock.now() };
    const o = tracker.observe(r);
    out.push({ health: o.health, changed: o.changed, unsettled: o.unsettled });
  }
  return out;
}

describe('HealthTracker', () => {
  it('starts UNKNOWN and becomes UP after rise successes in a row', () => {
    const clock = new FakeClock(0);
    const t = new HealthTracker({ rise: 3, fall: 2 });
    assert.equal(t.health, 'UNKNOWN');
    assert.equal(t.unsettled, true);
    const out = run(t, clock, '+++');
    assert.deepEqual(out.map((o) => o.health), ['UNKNOWN', 'UNKNOWN', 'UP']);
    assert.deepEqual(out.map((o) => o.changed), [false, false, true]);
    assert.deepEqual(out.map((o) => o.unsettled), [true, true, false]);
    assert.equal(t.since, 3000);
  });

  it('from UNKNOWN, fall failures in a row give DOWN first', () => {
    const clock = new FakeClock(0);
    const t = new HealthTracker({ rise: 3, fall: 2 });
    const out = run(t, clock, '+--');
    assert.deepEqual(out.map((o) => o.health), ['UNKNOWN', 'UNKNOWN', 'DOWN']);
    assert.equal(t.since, 3000);
    assert.deepEqual(t.streak, { ok: false, count: 2 });
  });

  it('UP → DOWN after fall failures in a row, and back UP after rise', () => {
    const clock = new FakeClock(0);
    const t = new HealthTracker({ rise: 2, fall: 3 });
    run(t, clock, '++');
    assert.equal(t.health, 'UP');
    const out = run(t, clock, '---++');
    assert.deepEqual(out.map((o) => o.health), ['UP', 'UP', 'DOWN', 'DOWN', 'UP']);
    assert.deepEqual(out.map((o) => o.unsettled), [true, true, false, true, false]);
    const obs = out[2];
    assert.equal(obs.changed, true);
    assert.equal(t.since, 7000);
  });

  it('reports from/changed on the changing observation', () => {
    const t = new HealthTracker({ rise: 1, fall: 1 }, 'UP', 500);
    assert.equal(t.since, 500);
    const o = t.observe({ ok: false, reason: 'timeout after 500ms', latencyMs: 500, at: 1000 });
    assert.deepEqual(o, { health: 'DOWN', changed: true, from: 'UP', unsettled: false });
    assert.equal(t.last?.reason, 'timeout after 500ms');
    const o2 = t.observe({ ok: false, reason: 'refused', latencyMs: 1, at: 2000 });
    assert.deepEqual(o2, { health: 'DOWN', changed: false, from: 'DOWN', unsettled: false });
    assert.equal(t.since, 1000);
  });

  it('a flapping target that never reaches fall stays UP (and unsettled while it disagrees)', () => {
    const clock = new FakeClock(0);
    const t = new HealthTracker({ rise: 2, fall: 3 });
    run(t, clock, '++');
    const since = t.since;
    const out = run(t, clock, '--+--+-+--+-');
    assert.ok(out.every((o) => o.health === 'UP' && !o.changed));
    assert.deepEqual(out.map((o) => o.unsettled), '--+--+-+--+-'.split('').map((c) => c === '-'));
    assert.equal(t.since, since);
  });

  it('a flapping DOWN target that never reaches rise stays DOWN', () => {
    const clock = new FakeClock(0);
    const t = new HealthTracker({ rise: 3, fall: 1 });
    run(t, clock, '-');
    assert.equal(t.health, 'DOWN');
    const out = run(t, clock, '++-++-+-++-');
    assert.ok(out.every((o) => o.health === 'DOWN'));
    run(t, clock, '+++');
    assert.equal(t.health, 'UP');
  });

  it('keeps a fixed ring of the last 10 results, oldest first', () => {
    const t = new HealthTracker({ rise: 2, fall: 2 });
    for (let i = 1; i <= 25; i++) t.observe({ ok: i % 3 !== 0, reason: `r${i}`, latencyMs: i, at: i * 100 });
    const h = t.history();
    assert.equal(h.length, HISTORY_SIZE);
    assert.deepEqual(h.map((r) => r.reason), ['r16', 'r17', 'r18', 'r19', 'r20', 'r21', 'r22', 'r23', 'r24', 'r25']);
    assert.deepEqual(h[0], { at: 1600, ok: true, latencyMs: 16, reason: 'r16' });
    assert.equal(h[2].ok, false);
    // a copy: mutating it does not change the tracker
    h[0].reason = 'x';
    assert.equal(t.history()[0].reason, 'r16');
  });

  it('history before the ring is full has only what was observed', () => {
    const t = new HealthTracker({ rise: 2, fall: 2 });
    assert.deepEqual(t.history(), []);
    t.observe({ ok: true, reason: 'a', latencyMs: 1, at: 1 });
    t.observe({ ok: false, reason: 'b', latencyMs: 2, at: 2 });
    assert.deepEqual(t.history().map((r) => r.reason), ['a', 'b']);
  });

  it('local errors are no verdict: an UP target stays UP however many come, settled, its streak and last result kept', () => {
    const clock = new FakeClock(0);
    const t = new HealthTracker({ rise: 2, fall: 2 });
    run(t, clock, '++');
    const since = t.since;
    const out = run(t, clock, 'LLLLLLLL');
    assert.ok(out.every((o) => o.health === 'UP' && !o.changed && !o.unsettled));
    assert.equal(t.since, since);
    assert.deepEqual(t.streak, { ok: true, count: 2 });
    assert.equal(t.last?.reason, '200 OK', 'last is the last counted result');
    // Shown in the history, marked.
    const h = t.history();
    assert.deepEqual(h.slice(-1)[0], { at: 10_000, ok: false, latencyMs: 0.2, reason: 'local error EMFILE (not counted)', local: true });
    assert.equal(h.filter((r) => r.local).length, 8);
  });

  it('a local error neither breaks nor extends a streak', () => {
    const clock = new FakeClock(0);
    const t = new HealthTracker({ rise: 2, fall: 2 });
    run(t, clock, '++');
    assert.deepEqual(run(t, clock, '-L-').map((o) => o.health), ['UP', 'UP', 'DOWN']);
    assert.deepEqual(run(t, clock, '+LL+').map((o) => o.health), ['DOWN', 'DOWN', 'DOWN', 'UP']);
  });

  it('a DOWN target stays DOWN on local errors, and an UNKNOWN one stays UNKNOWN (and unsettled, so it is probed again soon)', () => {
    const clock = new FakeClock(0);
    const down = new HealthTracker({ rise: 1, fall: 1 }, 'DOWN', 0);
    assert.ok(run(down, clock, 'LLL').every((o) => o.health === 'DOWN' && !o.changed && !o.unsettled));
    const unknown = new HealthTracker({ rise: 1, fall: 1 });
    assert.ok(run(unknown, clock, 'LLL').every((o) => o.health === 'UNKNOWN' && !o.changed && o.unsettled));
    assert.equal(unknown.last, undefined);
  });

  it('rejects thresholds below 1', () => {
    assert.throws(() => new HealthTracker({ rise: 0, fall: 2 }), RangeError);
    assert.throws(() => new HealthTracker({ rise: 2, fall: 1.5 }), RangeError);
  });
});

describe('effectiveHealth', () => {
  it('without an override is the real health', () => {
    assert.deepEqual(effectiveHealth('DOWN', undefined, 0), { health: 'DOWN', overridden: false });
    assert.deepEqual(effectiveHealth('UNKNOWN', undefined, 0), { health: 'UNKNOWN', overridden: false });
  });
  it('an override wins over the real health until it expires', () => {
    const o = { state: 'DOWN' as const, reason: 'drain for maintenance', expiresAt: 10_000 };
    assert.deepEqual(effectiveHealth('UP', o, 9_999), { health: 'DOWN', overridden: true });
    assert.deepEqual(effectiveHealth('UP', o, 10_000), { health: 'UP', overridden: false });
    assert.deepEqual(effectiveHealth('DOWN', { state: 'UP', reason: 'known false alarm' }, 1e15), { health: 'UP', overridden: true });
    assert.deepEqual(effectiveHealth('UNKNOWN', { state: 'UP', reason: 'x' }, 0), { health: 'UP', overridden: true });
  });
});
