/**
 * Long work of the admin API (a /metrics scrape, /v1/status, the status
 * page) done in slices: a slice runs until its time budget is spent, then
 * the event loop turns (setImmediate: DNS packets and timers waiting in the
 * poll phase run) before the next one. At 10,000 record sets a document is
 * tens of MB; done in one go it would hold DNS answers for a second.
 */
import { nextTurn } from '../clock.ts';

/** Milliseconds a slice may run before the event loop turns. */
export const SLICE_MS = 4;

export class SliceBudget {
  private started = performance.now();

  constructor(private readonly budgetMs = SLICE_MS) {}

  /** True once this slice has used its budget. */
  spent(): boolean {
    return performance.now() - this.started >= this.budgetMs;
  }

  /** Lets the event loop turn, then starts a new slice. */
  async turn(): Promise<void> {
    await nextTurn();
    this.started = performance.now();
  }
}

/** The items of a lazy iterable (each costly to make: the decisions of 10,000 record sets take ~70 ms) in an array, the event loop turning whenever the budget is spent. */
export async function collectInSlices<T>(items: Iterable<T>, budget = new SliceBudget()): Promise<T[]> {
  const out: T[] = [];
  for (const x of items) {
    out.push(x);
    if (out.length % 64 === 0 && budget.spent()) await budget.turn();
  }
  return out;
}
