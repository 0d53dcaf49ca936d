/**
 * Cron schedules on the Clock. node-cron reads the expression (its syntax:
 * five fields, or six with seconds first; names; time zones) and finds the
 * next matching second; the Clock times the runs. So a FakeClock drives a
 * schedule in tests, and nothing here reads real time.
 *
 * A run still going when its next time comes is not started twice (the
 * time is skipped); times missed while the process could not run (a
 * pause, a frozen VM) are skipped, not caught up: the next run is the
 * first time after now.
 */
import { createTask, validate } from 'node-cron';
import type { Clock, TimerHandle } from './clock.ts';

/** The longest single wait: setTimeout's limit is about 24.8 days; a later run is reached in steps. */
const MAX_WAIT_MS = 24 * 3600_000;

export interface CronSchedule {
  /** Epoch ms of the next run (undefined once stopped). */
  next(): number | undefined;
  stop(): void;
}

interface NextMatch {
  getNextMatch(from: Date): Date;
}

/**
 * node-cron's own matcher for `expression` in `timezone`. Its tasks keep it
 * as `timeMatcher` (node-cron is pinned to an exact version; the unit tests
 * of this file fail if that changes).
 */
function matcherOf(expression: string, timezone: string | undefined): NextMatch {
  if (!validate(expression)) throw new Error(`not a valid cron expression: ${JSON.stringify(expression)}`);
  const task = createTask(expression, () => undefined, timezone ? { timezone } : {});
  const matcher = (task as unknown as { timeMatcher?: Partial<NextMatch> }).timeMatcher;
  void task.destroy();
  if (typeof matcher?.getNextMatch !== 'function') throw new Error('node-cron has no timeMatcher.getNextMatch on its tasks any more: src/cron.ts needs updating for this node-cron version');
  return matcher as NextMatch;
}

/**
 * Runs `run` at every time `expression` matches, timed by `clock`. A run
 * returning a promise is not started again until it settles. A throw or a
 * rejection goes to `onError` (the caller logs it: a schedule whose runs
 * fail must not look like one that runs), and the schedule goes on.
 */
export function scheduleCron(clock: Clock, expression: string, run: () => void | Promise<void>, opts: { timezone?: string; onError: (err: unknown) => void }): CronSchedule {
  const matcher = matcherOf(expression, opts.timezone);
  let due: number | undefined = matcher.getNextMatch(new Date(clock.now())).getTime();
  let timer: TimerHandle | undefined;
  let busy = false;

  const arm = (): void => {
    if (due === undefined) return;
    timer = clock.setTimer(Math.min(Math.max(0, due - clock.now()), MAX_WAIT_MS), tick);
  };
  const tick = (): void => {
    timer = undefined;
    if (due === undefined) return;
    const now = clock.now();
    if (now < due) return arm(); // a step of a long wait
    if (!busy) {
      busy = true;
      let result: void | Promise<void>;
      try {
        result = run();
      } catch (err) {
        result = undefined;
        opts.onError(err);
      }
      if (result instanceof Promise) result.catch(opts.onError).finally(() => (busy = false));
      else busy = false;
    }
    // The next time after this one, or after now when times were missed.
    const after = matcher.getNextMatch(new Date(due)).getTime();
    due = after > now ? after : matcher.getNextMatch(new Date(now)).getTime();
    arm();
  };
  arm();
  return {
    next: () => due,
    stop() {
      due = undefined;
      timer?.cancel();
      timer = undefined;
    },
  };
}
