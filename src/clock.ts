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
