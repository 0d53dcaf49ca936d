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

/** A scripted clock for unit tests: time only moves when `advance` is called. */
export class FakeClock implements Clock {
  private t: number;
  private seq = 0;
  private timers = new Map<number, { at: number; fn: () => void }>();
  constructor(start = 1_700_000_000_000) {
    this.t = start;
  }
  now(): number {
    return this.t;
  }
  setTimer(ms: number, fn: () => void): TimerHandle {
    const id = ++this.seq;
    this.timers.set(id, { at: this.t + Math.max(0, ms), fn });
    return { cancel: () => void this.timers.delete(id) };
  }
  /** Not time but turn order: the same as the system clock's, so code that yields a turn behaves as in production. */
  defer(fn: () => void): TimerHandle {
    return systemClock.defer(fn);
  }
  /** Move time forward by `ms`, firing due timers in order (bounded). */
  advance(ms: number): void {
    const end = this.t + ms;
    for (let guard = 0; guard < 1_000_000; guard++) {
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const e of this.timers) if (e[1].at <= end && (!next || e[1].at < next[1].at)) next = e;
      if (!next) break;
      this.timers.delete(next[0]);
      this.t = next[1].at;
      next[1].fn();
    }
    this.t = end;
  }
}
