/**
 * Cron schedules on a FakeClock (src/cron.ts): node-cron's expressions and
 * time zones, timed by the Clock; a run in progress is not started twice;
 * times missed while the process could not run are skipped; a yearly run
 * (beyond setTimeout's 24.8-day limit) fires on time.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FakeClock } from './helpers/fake-clock.ts';
import { scheduleCron } from '../src/cron.ts';

const iso = (ms: number) => new Date(ms).toISOString();
const unexpected = (err: unknown) => assert.fail(`a run failed: ${String(err)}`);

/** The first run of `expression` strictly after `afterMs`, as a schedule started then sees it. */
function nextCronRun(expression: string, afterMs: number, timezone?: string): number {
  const s = scheduleCron(new FakeClock(afterMs), expression, () => undefined, { ...(timezone ? { timezone } : {}), onError: unexpected });
  const next = s.next()!;
  s.stop();
  return next;
}

test('the first run: five and six fields, names, a time zone; strictly after the time given', () => {
  const sun = Date.UTC(2026, 0, 4, 2, 59, 0); // Sunday
  const cases: Array<[string, string | undefined, number, string]> = [
    ['0 3 * * 0', 'UTC', sun, '2026-01-04T03:00:00.000Z'],
    ['0 3 * * 0', 'UTC', Date.UTC(2026, 0, 4, 3, 0, 0), '2026-01-11T03:00:00.000Z'],
    ['*/15 * * * * *', 'UTC', sun + 1, '2026-01-04T02:59:15.000Z'],
    ['0 3 * * mon', 'UTC', sun, '2026-01-05T03:00:00.000Z'],
    ['0 3 * * *', 'Europe/Berlin', sun, '2026-01-05T02:00:00.000Z'],
    ['30 2 1 1 *', 'UTC', sun, '2027-01-01T02:30:00.000Z'],
  ];
  for (const [expr, tz, from, want] of cases) assert.equal(iso(nextCronRun(expr, from, tz)), want, `${expr} ${tz} after ${iso(from)}`);
  assert.throws(() => nextCronRun('61 * * * *', 0), /not a valid cron expression/);
});

test('scheduleCron: runs at each time on the Clock, not a millisecond early; stop() ends it', () => {
  const clock = new FakeClock(Date.UTC(2026, 0, 4, 0, 0, 30));
  const runs: string[] = [];
  const s = scheduleCron(clock, '0 * * * *', () => void runs.push(iso(clock.now())), { timezone: 'UTC', onError: unexpected });
  assert.equal(iso(s.next()!), '2026-01-04T01:00:00.000Z');
  clock.advance(Date.UTC(2026, 0, 4, 1) - clock.now() - 1);
  assert.deepEqual(runs, []);
  clock.advance(1);
  clock.advance(2 * 3600_000);
  assert.deepEqual(runs, ['2026-01-04T01:00:00.000Z', '2026-01-04T02:00:00.000Z', '2026-01-04T03:00:00.000Z']);
  s.stop();
  assert.equal(s.next(), undefined);
  clock.advance(5 * 3600_000);
  assert.equal(runs.length, 3);
});

test('scheduleCron: a run still going is not started again; a yearly run fires on time past setTimeout\'s limit', async () => {
  const clock = new FakeClock(Date.UTC(2026, 0, 4));
  let started = 0;
  let finish: (() => void) | undefined;
  const every = scheduleCron(clock, '* * * * * *', () => {
    started++;
    return new Promise<void>((r) => (finish = r));
  }, { onError: unexpected });
  clock.advance(5000);
  assert.equal(started, 1, 'the first run holds the schedule');
  finish!();
  await new Promise((r) => setImmediate(r));
  clock.advance(1000);
  assert.equal(started, 2, 'the next time after it settled runs');
  every.stop();

  const yearly: string[] = [];
  const y = scheduleCron(clock, '0 0 1 1 *', () => void yearly.push(iso(clock.now())), { timezone: 'UTC', onError: unexpected });
  for (let i = 0; i < 400; i++) clock.advance(86_400_000);
  assert.deepEqual(yearly, ['2027-01-01T00:00:00.000Z']);
  y.stop();
});

test('scheduleCron: times missed while the process could not run are skipped, not caught up', () => {
  const clock = new FakeClock(Date.UTC(2026, 0, 4));
  const runs: string[] = [];
  // A clock whose timer fires late (a process paused for three hours).
  const late = { now: () => clock.now(), defer: clock.defer.bind(clock), setTimer: (ms: number, fn: () => void) => clock.setTimer(ms + 3 * 3600_000, fn) };
  const s = scheduleCron(late, '0 * * * *', () => void runs.push(iso(clock.now())), { timezone: 'UTC', onError: unexpected });
  clock.advance(4 * 3600_000);
  assert.deepEqual(runs, ['2026-01-04T04:00:00.000Z'], 'one run on resuming, not four');
  assert.equal(iso(s.next()!), '2026-01-04T05:00:00.000Z');
  s.stop();
});

test('scheduleCron: a run that throws or rejects is reported to onError with its cause, and the schedule goes on', async () => {
  const clock = new FakeClock(Date.UTC(2026, 0, 4));
  const errors: string[] = [];
  let n = 0;
  const s = scheduleCron(
    clock,
    '* * * * * *',
    () => {
      n++;
      if (n === 1) throw new Error('first failed');
      if (n === 2) return Promise.reject(new Error('second failed'));
    },
    { onError: (err) => errors.push((err as Error).message) },
  );
  clock.advance(1000);
  assert.deepEqual(errors, ['first failed']);
  clock.advance(1000);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(errors, ['first failed', 'second failed']);
  clock.advance(1000);
  await new Promise((r) => setImmediate(r));
  assert.equal(n, 3, 'the schedule went on after both failures');
  assert.equal(errors.length, 2);
  s.stop();
});
