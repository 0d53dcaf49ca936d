/**
 * A scripted Clock for unit tests: time only moves when `advance` is called
 * (design.md: time comes in through a Clock). Test code only: the daemon
 * runs on systemClock (src/clock.ts), and nothing of this is in dist/.
 */
import { systemClock, type Clock, type TimerHandle } from '../../src/clock.ts';

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
