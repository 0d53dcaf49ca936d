/**
 * One token bucket for every Route 53 request of a process (Route 53 allows
 * 5 requests per second per account), retries included (guarded-port.ts).
 * Waiters are served in order. The bucket holds one token by default: the
 * requests are spaced 1/rate apart, so no window of one second holds more
 * than `ratePerSecond` of them. (A bucket of `rate` tokens let a full burst
 * follow a second of refill: 8 requests within one second at a rate of 4.)
 */
import type { Clock } from '../clock.ts';
import { systemClock } from '../clock.ts';

export function sleep(clock: Clock, ms: number): Promise<void> {
  return new Promise((resolve) => clock.setTimer(ms, resolve));
}

export class TokenBucket {
  private tokens: number;
  private last: number;
  private tail: Promise<void> = Promise.resolve();
  readonly capacity: number;

  constructor(
    readonly ratePerSecond: number,
    private readonly clock: Clock = systemClock,
    capacity?: number,
  ) {
    if (!(ratePerSecond > 0)) throw new RangeError('ratePerSecond must be > 0');
    this.capacity = capacity ?? 1;
    this.tokens = this.capacity;
    this.last = clock.now();
  }

  /** Resolves when the caller may make one request. */
  take(): Promise<void> {
    const p = this.tail.then(() => this.acquire());
    this.tail = p.catch(() => undefined);
    return p;
  }

  private refill(): void {
    const now = this.clock.now();
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.last) / 1000) * this.ratePerSecond);
    this.last = now;
  }

  private async acquire(): Promise<void> {
    this.refill();
    // Until a whole token is there by the clock: a timer may fire a
    // millisecond early by it. Bounded: each wait is at least 1 ms.
    for (let i = 0; this.tokens < 1 && i < 100; i++) {
      await sleep(this.clock, Math.max(1, Math.ceil(((1 - this.tokens) / this.ratePerSecond) * 1000)));
      this.refill();
    }
    this.tokens = Math.max(0, this.tokens - 1);
  }
}
