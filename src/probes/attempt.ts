/**
 * One probe attempt: a single hard timer (connect + response + body; the
 * daemon's own stalls do not count against it: setDeadline), abort
 * handling, latency measurement and exactly one verdict. Probe kinds plug
 * their socket work in through `run`, which returns its cleanup.
 */
import { performance } from 'node:perf_hooks';
import { setDeadline, systemClock, type Clock, type TimerHandle } from '../clock.ts';
import { errorReason, localProbeError, localReason } from './reason.ts';
import type { ProbeResult } from './types.ts';

/**
 * Deliver the verdict; later calls are ignored. A failure caused by an
 * error passes it as `err`: a local one (EMFILE, ...) makes a result marked
 * `local`, which is no verdict on the target.
 */
export type Finish = (ok: boolean, reason: string, err?: unknown) => void;

export function probeAttempt(
  timeoutMs: number,
  signal: AbortSignal | undefined,
  run: (finish: Finish) => () => void,
  clock: Clock = systemClock,
): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    let done = false;
    let cleanup: (() => void) | undefined;
    let timer: TimerHandle | undefined;
    const onAbort = (): void => finish(false, 'aborted');
    const finish: Finish = (ok, reason, err) => {
      if (done) return;
      done = true;
      timer?.cancel();
      signal?.removeEventListener('abort', onAbort);
      runCleanup();
      const latencyMs = Math.round((performance.now() - t0) * 100) / 100;
      const local = ok ? undefined : localProbeError(err);
      resolve(local ? { ok, reason: localReason(local.code), latencyMs, at: clock.now(), local } : { ok, reason, latencyMs, at: clock.now() });
    };
    const runCleanup = (): void => {
      const c = cleanup;
      cleanup = undefined;
      try {
        c?.();
      } catch {
        // cleanup only destroys sockets; nothing to report
      }
    };
    if (signal?.aborted) {
      finish(false, 'aborted');
      return;
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    // The daemon's own stall is not the target's timeout (setDeadline).
    timer = setDeadline(clock, timeoutMs, () => finish(false, `timeout after ${timeoutMs}ms`));
    try {
      cleanup = run(finish);
    } catch (err) {
      finish(false, errorReason(err), err);
    }
    // `run` may have finished synchronously, before its cleanup was known.
    if (done) runCleanup();
  });
}
