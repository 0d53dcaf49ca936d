/**
 * The one way tests wait for something that has no event to await: a bounded
 * poll whose deadline scales with how busy the machine is.
 *
 * A deadline in a test bounds a wait; it is not a speed target (those live in
 * bench/). On an idle machine the deadlines are what the tests say; on a busy
 * one (a CI runner beside other jobs, the suite beside `stress-ng --cpu 2`)
 * every process is slower by about the run queue over the cores, and so are
 * the deadlines:
 *
 *   scale = FAILOVERD_TEST_TIME_SCALE            when set (a number ≥ 1)
 *         = clamp(1-minute load average / cores, 1, 4)   otherwise, read at each wait
 */
import { availableParallelism, loadavg } from 'node:os';

const MAX_AUTO_SCALE = 4;

/** The factor every deadline is multiplied by now (≥ 1). */
export function timeScale(): number {
  const fixed = process.env.FAILOVERD_TEST_TIME_SCALE;
  if (fixed !== undefined && fixed !== '') {
    const n = Number(fixed);
    if (!Number.isFinite(n) || n < 1 || n > 100) throw new Error(`FAILOVERD_TEST_TIME_SCALE must be a number from 1 to 100, not ${JSON.stringify(fixed)}`);
    return n;
  }
  const perCore = loadavg()[0]! / Math.max(1, availableParallelism());
  return Math.min(MAX_AUTO_SCALE, Math.max(1, perCore));
}

/** A deadline of `ms` on an idle machine, stretched by timeScale() (rounded to whole ms). */
export function scaled(ms: number): number {
  return Math.round(ms * timeScale());
}

type Falsy = undefined | null | false | 0 | '';

/**
 * Polls `fn` every `everyMs` until it returns a truthy value (which it
 * resolves with) or scaled(`withinMs`) passes; the error names `what`, the
 * deadline and the last value seen.
 */
export async function eventually<T>(what: string, fn: () => Promise<T | Falsy> | T | Falsy, withinMs = 5000, everyMs = 20): Promise<T> {
  const deadlineMs = scaled(withinMs);
  const start = performance.now();
  let last: T | Falsy = undefined;
  for (let i = 0; i <= deadlineMs / everyMs + 1; i++) {
    last = await fn();
    if (last) return last;
    if (performance.now() - start >= deadlineMs) break;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out after ${deadlineMs} ms (${withinMs} ms × time scale) waiting for ${what}; last: ${JSON.stringify(last)}`);
}
