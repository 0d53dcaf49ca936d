/**
 * Every timer of failoverd goes through a Clock, so tests can script time
 * (design.md: "time comes in through a Clock").
 */
export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Run `fn` once after `ms`. */
  setTimer(ms: number, fn: () => void): TimerHandle;
  /** Run `fn` on a later turn of the event loop, after pending I/O (setImmediate; the same in FakeClock). */
  defer(fn: () => void): TimerHandle;
}

/** Keeps the process running (the Clock's timers do not) until released: for a command with no server open. */
export function keepProcessAlive(): { release(): void } {
  const t = setInterval(() => undefined, 60_000);
  return { release: () => clearInterval(t) };
}

/** Resolves on a later turn of the event loop, so pending I/O (DNS queries) runs between slices of long work. */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** A timer that fires at least this late was held back by this process's own stall, not by what it waits for. */
export const STALL_MS = 20;

/**
 * A deadline that does not blame what it waits for on this process's own
 * stall. A timer fires first on the turn after a blocked event loop (CPU
 * throttled, a long GC, a busy host), before the poll phase reads the
 * answers that arrived meanwhile, so a plain timer turns a stall of the
 * prober into a timeout of a healthy target. When the timer fires `late` ms
 * after it was due (at least STALL_MS), it waits that much more once
 * (at most `ms`), then one turn after pending I/O, and only then calls `fn`.
 * On time, `fn` runs at once, as with setTimer.
 */
export function setDeadline(clock: Clock, ms: number, fn: () => void): TimerHandle {
  const due = clock.now() + ms;
  let extended = false;
  const fire = (): void => {
    const late = clock.now() - due;
    if (extended || late < STALL_MS) {
      fn();
      return;
    }
    extended = true;
    handle = clock.setTimer(Math.min(late, ms), () => {
      handle = clock.defer(fn);
    });
  };
  let handle = clock.setTimer(ms, fire);
  return { cancel: () => handle.cancel() };
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(ms, fn) {
    const t = setTimeout(fn, ms);
    t.unref?.();
    return { cancel: () => clearTimeout(t) };
  },
  defer(fn) {
    const t = setImmediate(fn);
    return { cancel: () => clearImmediate(t) };
  },
};
