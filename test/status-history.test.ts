/**
 * StatusHistory on a FakeClock: the one-hour strips of the status page from
 * health changes, probe results and override events, bounded in time; and
 * escape() of anything the page shows.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FakeClock } from './helpers/fake-clock.ts';
import { esc } from '../src/admin/page/escape.ts';
import { duration } from '../src/admin/page/render.ts';
import { HISTORY_WINDOW_MS, OVERRIDE_EVENTS_KEPT, STRIP_CELL_MS, StatusHistory, type HistorySource } from '../src/admin/status-history.ts';

const MIN = 60_000;
/** A whole minute, so cells line up with the timeline below. */
const T0 = 1_700_000_040_000;
const KEY = 'web@127.0.0.1';
const ID = 'www.example.test/A/127.0.0.1';

test('strip: 60 one-minute cells; before the start "none"; the worst health of each minute; probe counts per minute', () => {
  const clock = new FakeClock(T0);
  const h = new StatusHistory(clock);
  const events: string[] = [];
  h.subscribe((e) => events.push(e));
  h.probe(KEY, true, T0 + 1000);
  h.healthChanged(KEY, { at: T0 + 1000, from: 'UNKNOWN', to: 'UP', reason: 'status 200' });
  clock.advance(10 * MIN);
  h.probe(KEY, false, clock.now());
  h.probe(KEY, false, clock.now() + 100);
  h.healthChanged(KEY, { at: clock.now() + 100, from: 'UP', to: 'DOWN', reason: 'refused' });
  clock.advance(3 * MIN);
  h.healthChanged(KEY, { at: clock.now(), from: 'DOWN', to: 'UP', reason: 'status 200' });
  clock.advance(2 * MIN);

  const cells = h.strip(KEY, ID, 'UP');
  assert.equal(cells.length, HISTORY_WINDOW_MS / STRIP_CELL_MS);
  assert.equal(cells.at(-1)!.start, Math.floor(clock.now() / MIN) * MIN, 'the last cell is the current minute');
  const byMinute = (t: number) => cells.find((c) => c.start === Math.floor(t / MIN) * MIN)!;
  assert.equal(byMinute(T0 - MIN).health, 'none', 'before the daemon started');
  assert.equal(byMinute(T0).health, 'UP', 'UNKNOWN then UP in the first minute shows UP');
  assert.deepEqual({ ok: byMinute(T0).ok, fail: byMinute(T0).fail }, { ok: 1, fail: 0 });
  assert.equal(byMinute(T0 + 5 * MIN).health, 'UP');
  assert.equal(byMinute(T0 + 10 * MIN).health, 'DOWN', 'UP then DOWN in a minute shows DOWN');
  assert.equal(byMinute(T0 + 10 * MIN).fail, 2);
  assert.equal(byMinute(T0 + 12 * MIN).health, 'DOWN');
  assert.equal(byMinute(T0 + 13 * MIN).health, 'DOWN', 'DOWN then UP in a minute shows DOWN');
  assert.equal(byMinute(T0 + 14 * MIN).health, 'UP');
  assert.deepEqual(events, ['probe', 'health', 'probe', 'probe', 'health', 'health']);
});

test('strip: without recorded changes the current health fills the window since the start', () => {
  const clock = new FakeClock(T0);
  const h = new StatusHistory(clock);
  clock.advance(5 * MIN);
  const cells = h.strip(KEY, ID, 'DOWN').filter((c) => c.health !== 'none');
  assert.equal(cells.length, 6);
  assert.ok(cells.every((c) => c.health === 'DOWN' && c.ok === 0 && c.fail === 0));
});

test('strip: an hour later the old minutes and changes are gone; the last change before the window still says how it starts', () => {
  const clock = new FakeClock(T0);
  const h = new StatusHistory(clock);
  h.healthChanged(KEY, { at: T0, from: 'UNKNOWN', to: 'DOWN', reason: 'refused' });
  h.probe(KEY, false, T0);
  clock.advance(2 * HISTORY_WINDOW_MS);
  h.probe(KEY, true, clock.now());
  const cells = h.strip(KEY, ID, 'DOWN');
  assert.ok(cells.every((c) => c.health === 'DOWN'), 'DOWN all along');
  assert.equal(cells.reduce((n, c) => n + c.fail, 0), 0, 'failures older than the hour are not counted');
  assert.equal(cells.at(-1)!.ok, 1);
  // A flapping target keeps a bounded number of changes.
  for (let i = 0; i < 1000; i++) h.healthChanged(KEY, { at: clock.now(), from: i % 2 ? 'UP' : 'DOWN', to: i % 2 ? 'DOWN' : 'UP', reason: '' });
  assert.equal(h.strip(KEY, ID, 'DOWN').at(-1)!.health, 'DOWN');
});

test('strip: override spans from set/cleared/expired events and from the override active now', () => {
  const clock = new FakeClock(T0);
  const h = new StatusHistory(clock);
  const drain = { state: 'DOWN' as const, reason: 'kernel', source: 'api', createdAt: T0 + 2 * MIN };
  h.override({ action: 'set', targetId: ID, override: drain });
  clock.advance(5 * MIN);
  h.override({ action: 'cleared', targetId: ID, override: drain });
  h.override({ action: 'set', targetId: 'other', override: { ...drain, createdAt: clock.now() } });
  clock.advance(5 * MIN);
  const cells = h.strip(KEY, ID, 'UP');
  const at = (t: number) => cells.find((c) => c.start === Math.floor(t / MIN) * MIN)!;
  assert.equal(at(T0 + MIN).overridden, undefined);
  assert.equal(at(T0 + 2 * MIN).overridden, 'DOWN');
  assert.equal(at(T0 + 4 * MIN).overridden, 'DOWN');
  assert.equal(at(T0 + 6 * MIN).overridden, undefined, 'cleared at +5 min');
  // An override restored at start (no event) still shows, from its creation.
  const pinned = h.strip(KEY, 'restored', 'UP', { state: 'UP', createdAt: T0 + 8 * MIN });
  const p = (t: number) => pinned.find((c) => c.start === Math.floor(t / MIN) * MIN)!;
  assert.equal(p(T0 + 7 * MIN).overridden, undefined);
  assert.equal(p(T0 + 9 * MIN).overridden, 'UP');
  // The timeline: newest first, bounded.
  assert.deepEqual(
    h.overrides().map((o) => [o.action, o.target]),
    [
      ['set', 'other'],
      ['cleared', ID],
      ['set', ID],
    ],
  );
  for (let i = 0; i < OVERRIDE_EVENTS_KEPT + 10; i++) h.override({ action: 'set', targetId: `t${i}`, override: drain });
  assert.equal(h.overrides().length, OVERRIDE_EVENTS_KEPT);
  assert.equal(h.overrides()[0]!.target, `t${OVERRIDE_EVENTS_KEPT + 9}`);
});

test('totals: real durations, not the minutes touched: a 90 s drain across a minute boundary is 90 s, a 3 s outage 3 s', () => {
  const clock = new FakeClock(T0);
  const h = new StatusHistory(clock);
  h.healthChanged(KEY, { at: T0, from: 'UNKNOWN', to: 'UP', reason: 'status 200' });
  clock.advance(MIN + 58_500);
  // A 3 s outage across a minute boundary: the strip marks two minutes, the words say 3 s.
  h.healthChanged(KEY, { at: clock.now(), from: 'UP', to: 'DOWN', reason: 'refused' });
  clock.advance(3000);
  h.healthChanged(KEY, { at: clock.now(), from: 'DOWN', to: 'UP', reason: 'status 200' });
  // A 90 s drain from 45 s into a minute: three minutes touched.
  clock.advance(MIN - 1500 + 45_000);
  const drain = { state: 'DOWN' as const, reason: 'kernel', source: 'api', createdAt: clock.now() };
  h.override({ action: 'set', targetId: ID, override: drain });
  clock.advance(90_000);
  h.override({ action: 'cleared', targetId: ID, override: drain });
  clock.advance(10 * MIN);
  const t = h.totals(KEY, ID, 'UP');
  assert.equal(t.health.DOWN, 3000);
  assert.equal(t.drainedMs, 90_000);
  assert.equal(t.health.UP + t.health.DOWN + t.health.UNKNOWN, clock.now() - T0, 'the whole time since the start, once');
  assert.equal(h.strip(KEY, ID, 'UP').filter((c) => c.overridden === 'DOWN').length, 3, 'the strip marks the three minutes touched');
  assert.equal(h.strip(KEY, ID, 'UP').filter((c) => c.health === 'DOWN').length, 2);
  // A drain still active counts up to now; only the last hour counts.
  h.override({ action: 'set', targetId: ID, override: { ...drain, createdAt: clock.now() } });
  clock.advance(2 * HISTORY_WINDOW_MS);
  const later = h.totals(KEY, ID, 'UP');
  assert.equal(later.drainedMs, HISTORY_WINDOW_MS);
  assert.deepEqual(later.health, { UP: HISTORY_WINDOW_MS, DOWN: 0, UNKNOWN: 0 });
  assert.deepEqual([duration(3000), duration(90_000), duration(150_000), duration(HISTORY_WINDOW_MS)], ['3 s', '90 s', '2.5 min', '60 min']);
});

test('esc: markup becomes entities; control, line-separator and bidi characters become visible escapes', () => {
  assert.equal(esc('<script>alert("x")</script> & \'y\''), '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;');
  assert.equal(esc('a\nb\r\u0007\u001b[31m\u007f\u0085'), 'a\\x0ab\\x0d\\x07\\x1b[31m\\x7f\\x85');
  assert.equal(esc('x\u202ey\u2028z'), 'x\\u{202e}y\\u{2028}z');
  assert.equal(esc(undefined), '');
  assert.equal(esc(42), '42');
  assert.doesNotMatch(esc(String.fromCharCode(...Array.from({ length: 0xa0 }, (_, i) => i))), /[\u0000-\u001f\u007f-\u009f<>"']/);
});

test('attach: a probe failed by a local error (EMFILE) is not counted as a failed probe of the target', () => {
  const clock = new FakeClock(T0);
  const src = { probeListeners: [], healthListeners: [], overrideListeners: [], changeListeners: [], tracker: () => undefined } as unknown as HistorySource;
  const h = StatusHistory.attach(src, clock);
  const result = (ok: boolean, local?: boolean) => ({ ok, at: clock.now(), latencyMs: 1, reason: ok ? 'status 200' : 'EMFILE', ...(local ? { local: { code: 'EMFILE', err: new Error('EMFILE') } } : {}) });
  for (const l of src.probeListeners) l(KEY, result(true) as never);
  for (const l of src.probeListeners) l(KEY, result(false, true) as never);
  for (const l of src.probeListeners) l(KEY, result(false) as never);
  const cell = h.strip(KEY, ID, 'UP').at(-1)!;
  assert.deepEqual({ ok: cell.ok, fail: cell.fail }, { ok: 1, fail: 1 }, 'the local error is in neither count');
});
