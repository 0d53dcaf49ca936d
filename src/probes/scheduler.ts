/**
 * ProbeScheduler: runs the probes of every target and reports each result
 * through `onResult`. Timing rules (all timers through the Clock):
 *
 * - Cold start: each target's first probe runs at once on start() (or on
 *   add() while running); no random initial offset.
 * - Steady state: one probe in flight per target; the next one starts
 *   `interval` ± 10% (jitter) after the previous one started (or at once if
 *   that moment has passed).
 * - Unsettled: when onResult answers { unsettled: true } (the result
 *   disagrees with current health and rise/fall is not reached yet), the next
 *   probe starts `fastInterval` after the previous start instead.
 * - Hung target: a probe still unanswered after `fastInterval` makes the
 *   target suspect; the next probe starts then, without waiting for the
 *   first to time out. At most MAX_IN_FLIGHT (2) probes per target; a suspect
 *   probe that could not start its follow-up (both slots busy) starts it as
 *   soon as a slot frees. Each probe triggers at most one follow-up. No
 *   follow-ups while over MAX_SUSPECT_SHARE of all targets are suspect (an
 *   overloaded prober must not double its own load).
 * - Results are delivered in completion order. Stale rule: probes are
 *   numbered as they start; a result whose probe started before the probe of
 *   an already delivered result is stale and dropped (given to `onStale`),
 *   so a slow old timeout can never undo what a newer probe observed.
 * - Watchdog: a ProbeFn must settle within check.timeout; if one does not
 *   settle by timeout + watchdogGraceMs, it is aborted and counted as a
 *   timeout failure, so a broken probe cannot hold a slot forever. Like
 *   the probe's own timeout, it does not count this process's stalls
 *   (setDeadline in clock.ts).
 * - Probes aborted by remove()/stop() deliver nothing.
 * - Local errors: a result marked `local` (the probe failed on an error of
 *   this machine: EMFILE, ENFILE, EADDRNOTAVAIL, ENOBUFS) is delivered like
 *   any other (the health tracker does not count it) and logged, at most
 *   once per LOCAL_ERROR_LOG_MS per error code, with `{ err }`.
 * - With `watch: true`, targets whose check.watch is true get a
 *   LivenessWatch connection; its close triggers probeNow(), and every ok
 *   result calls noteSuccess() (which reconnects, at most once per interval).
 */
import { setDeadline, type Clock, type TimerHandle } from '../clock.ts';
import { RateLimitedLog, type Logger } from '../log.ts';
import { probeFor as defaultProbeFor, type ProbeKind } from './index.ts';
import { errorReason, localProbeError, localReason } from './reason.ts';
import type { ProbeFn, ProbeResult, ProbeSpec } from './types.ts';
import { LivenessWatch } from './watch.ts';

export const MAX_IN_FLIGHT = 2;
/**
 * Overload guard: follow-ups are not started while more than this share of
 * the targets (and at least MIN_SUSPECTS) are suspect at once. Then it is
 * failoverd itself, or its network, that is slow; a follow-up for every
 * probe would double the load that makes it slow (seen: a saturated core
 * running 4,700 probes/s for 2,000 targets at a 1 s interval).
 */
export const MAX_SUSPECT_SHARE = 0.25;
export const MIN_SUSPECTS = 4;
export const JITTER = 0.1;
/**
 * Probes started per turn of the event loop for closed watch connections:
 * when a thousand targets die together their watches close in one turn, and
 * starting a thousand connections at once held the DNS answers for 75 ms.
 */
export const WATCH_PROBES_PER_TURN = 64;
/** Probes failed on a local error are logged at most once per this many ms per error code. */
export const LOCAL_ERROR_LOG_MS = 10_000;

export interface ProbeSchedulerOptions {
  /** Called once per delivered result; answers whether the target is unsettled. */
  onResult: (key: string, result: ProbeResult) => { unsettled: boolean };
  clock: Clock;
  probeFor?: (kind: ProbeKind) => ProbeFn;
  /** In [0, 1); used for the ±10% jitter. */
  random?: () => number;
  /** Own a LivenessWatch for targets whose check.watch is true. */
  watch?: boolean;
  /** A result dropped by the stale rule (for metrics/logs). */
  onStale?: (key: string, result: ProbeResult) => void;
  /** onResult threw; the scheduler carries on as if it answered settled. */
  onError?: (key: string, err: unknown) => void;
  /** How long stop() waits for in-flight probes to settle after aborting them. */
  stopTimeoutMs?: number;
  /** Extra time past check.timeout before a probe that did not settle is failed. */
  watchdogGraceMs?: number;
  /** Where probes failed on a local error are logged (rate-limited); not logged without one. */
  logger?: Logger;
}

interface InFlight {
  seq: number;
  abort: AbortController;
  /** Unanswered after fastInterval. */
  suspect: boolean;
  /** Already started its one follow-up probe. */
  followedUp: boolean;
  /** Aborted by remove()/stop(): deliver nothing. */
  cancelled: boolean;
  /** One timer at a time: fastInterval (suspect), then the watchdog. */
  timer: TimerHandle | undefined;
}

interface TargetState {
  key: string;
  spec: ProbeSpec;
  active: boolean;
  seq: number;
  deliveredSeq: number;
  lastStartAt: number;
  unsettled: boolean;
  inFlight: Map<number, InFlight>;
  next?: TimerHandle;
}

export class ProbeScheduler {
  /** The owned LivenessWatch (only with `watch: true`). */
  readonly liveness: LivenessWatch | undefined;
  private readonly onResult: ProbeSchedulerOptions['onResult'];
  private readonly clock: Clock;
  private readonly probeFor: (kind: ProbeKind) => ProbeFn;
  private readonly random: () => number;
  private readonly onStale: ProbeSchedulerOptions['onStale'];
  private readonly onError: (key: string, err: unknown) => void;
  private readonly stopTimeoutMs: number;
  private readonly watchdogGraceMs: number;
  private readonly localErrors: RateLimitedLog | undefined;
  private readonly targets = new Map<string, TargetState>();
  /** ProbeFn promises not settled yet (stop() waits for them). */
  private unsettled = 0;
  private onAllSettled: (() => void) | undefined;
  private running = false;
  /** Probes in flight that are suspect (unanswered after fastInterval). */
  private suspects = 0;
  /** Targets whose watch connection closed, waiting for their probe (probeSoon). */
  private readonly soon = new Set<string>();
  private soonQueued: TimerHandle | undefined;

  constructor(options: ProbeSchedulerOptions) {
    this.onResult = options.onResult;
    this.clock = options.clock;
    this.probeFor = options.probeFor ?? defaultProbeFor;
    this.random = options.random ?? Math.random;
    this.onStale = options.onStale;
    this.onError =
      options.onError ??
      ((key, err) => process.emitWarning(`probe result handler failed for ${key}: ${errorReason(err)}`));
    this.stopTimeoutMs = options.stopTimeoutMs ?? 2000;
    this.watchdogGraceMs = options.watchdogGraceMs ?? 1000;
    this.localErrors = options.logger ? new RateLimitedLog(options.logger, LOCAL_ERROR_LOG_MS, this.clock) : undefined;
    this.liveness = options.watch
      ? new LivenessWatch({ onClosed: (key) => this.probeSoon(key), clock: this.clock })
      : undefined;
  }

  get isRunning(): boolean {
    return this.running;
  }

  /** Add (or replace) a target. While running, its first probe starts at once. */
  add(key: string, spec: ProbeSpec): void {
    if (this.targets.has(key)) this.remove(key);
    const t: TargetState = {
      key,
      spec,
      active: true,
      seq: 0,
      deliveredSeq: 0,
      lastStartAt: this.clock.now(),
      unsettled: false,
      inFlight: new Map(),
    };
    this.targets.set(key, t);
    if (this.running) this.begin(t);
  }

  /** Remove a target: cancel its timers, abort its probes; nothing more is delivered for it. */
  remove(key: string): void {
    const t = this.targets.get(key);
    if (!t) return;
    this.targets.delete(key);
    this.halt(t);
    t.active = false;
    this.liveness?.unwatch(key);
  }

  /** Probe `key` in this or a coming turn of the event loop (WATCH_PROBES_PER_TURN per turn). */
  private probeSoon(key: string): void {
    this.soon.add(key);
    if (this.soonQueued) return;
    this.soonQueued = this.clock.defer(() => this.probeSoonBatch());
  }

  private probeSoonBatch(): void {
    this.soonQueued = undefined;
    let n = 0;
    for (const key of this.soon) {
      if (n++ >= WATCH_PROBES_PER_TURN) {
        this.soonQueued = this.clock.defer(() => this.probeSoonBatch());
        return;
      }
      this.soon.delete(key);
      this.probeNow(key);
    }
  }

  /** Probe `key` now unless a probe of it is in flight. Returns whether one started. */
  probeNow(key: string): boolean {
    const t = this.targets.get(key);
    if (!this.running || !t || t.inFlight.size > 0) return false;
    this.launch(t);
    return true;
  }

  /** Start probing: every target's first probe runs at once. */
  start(): void {
    if (this.running) return;
    this.running = true;
    for (const t of this.targets.values()) this.begin(t);
  }

  /** Cancel timers, abort in-flight probes, and resolve once they settled (bounded by stopTimeoutMs). */
  async stop(): Promise<void> {
    this.running = false;
    this.soonQueued?.cancel();
    this.soonQueued = undefined;
    this.soon.clear();
    for (const t of this.targets.values()) this.halt(t);
    this.liveness?.stop();
    if (this.unsettled === 0) return;
    let bound: TimerHandle | undefined;
    await new Promise<void>((resolve) => {
      this.onAllSettled = resolve;
      bound = this.clock.setTimer(this.stopTimeoutMs, resolve);
    });
    this.onAllSettled = undefined;
    bound?.cancel();
  }

  /** In-flight probe count of a target (for tests and diagnostics). */
  inFlight(key: string): number {
    return this.targets.get(key)?.inFlight.size ?? 0;
  }

  private begin(t: TargetState): void {
    this.launch(t);
    const { address, check } = t.spec;
    if (this.liveness && check.watch) {
      this.liveness.watch(t.key, address, check.port, { connectTimeoutMs: check.timeout, reconnectGapMs: check.interval });
    }
  }

  private halt(t: TargetState): void {
    t.next?.cancel();
    t.next = undefined;
    for (const p of t.inFlight.values()) {
      if (p.suspect) this.suspects--;
      p.cancelled = true;
      p.timer?.cancel();
      p.abort.abort();
    }
    t.inFlight.clear();
  }

  private launch(t: TargetState): void {
    if (!this.running || !t.active || t.inFlight.size >= MAX_IN_FLIGHT) return;
    t.next?.cancel();
    t.next = undefined;
    const { check } = t.spec;
    const p: InFlight = {
      seq: ++t.seq,
      abort: new AbortController(),
      suspect: false,
      followedUp: false,
      cancelled: false,
      timer: undefined,
    };
    t.inFlight.set(p.seq, p);
    t.lastStartAt = this.clock.now();
    // One timer per probe: at fastInterval the probe turns suspect (most
    // probes have settled and cancelled it by then), and the same slot then
    // holds the watchdog for the rest of timeout + grace.
    p.timer = this.clock.setTimer(check.fastInterval, () => {
      if (!t.inFlight.has(p.seq)) return;
      p.timer = setDeadline(this.clock, Math.max(0, check.timeout + this.watchdogGraceMs - check.fastInterval), () => {
        this.complete(t, p, this.failure(`timeout after ${check.timeout}ms (probe did not settle)`, check.timeout));
        p.abort.abort();
      });
      p.suspect = true;
      this.suspects++;
      this.followUp(t);
    });
    let pending: Promise<ProbeResult>;
    try {
      pending = this.probeFor(check.type)(t.spec, p.abort.signal);
    } catch (err) {
      pending = Promise.resolve(this.failure(errorReason(err), 0, err));
    }
    this.unsettled++;
    pending.then(
      (result) => this.settle(t, p, result),
      (err: unknown) => this.settle(t, p, this.failure(errorReason(err), 0, err)),
    );
  }

  private settle(t: TargetState, p: InFlight, result: ProbeResult): void {
    this.unsettled--;
    this.complete(t, p, result);
    if (this.unsettled === 0 && this.onAllSettled) this.onAllSettled();
  }

  /** Start the follow-up of a suspect probe if a slot is free (each probe gets one). */
  private followUp(t: TargetState): void {
    if (t.inFlight.size >= MAX_IN_FLIGHT) return;
    if (this.suspects > Math.max(MIN_SUSPECTS, this.targets.size * MAX_SUSPECT_SHARE)) return;
    for (const p of t.inFlight.values()) {
      if (p.suspect && !p.followedUp) {
        p.followedUp = true;
        this.launch(t);
        return;
      }
    }
  }

  private complete(t: TargetState, p: InFlight, result: ProbeResult): void {
    if (p.cancelled || !t.inFlight.delete(p.seq)) return;
    if (p.suspect) this.suspects--;
    p.timer?.cancel();
    if (!this.running || !t.active) return;
    if (p.seq < t.deliveredSeq) {
      this.onStale?.(t.key, result);
    } else {
      t.deliveredSeq = p.seq;
      t.unsettled = this.deliver(t.key, result);
      if (result.ok) this.liveness?.noteSuccess(t.key);
    }
    // deliver() may have removed the target or stopped the scheduler.
    if (!this.running || !t.active) return;
    if (t.inFlight.size > 0) {
      this.followUp(t);
      return;
    }
    if (t.next) return;
    const { check } = t.spec;
    const period = t.unsettled ? check.fastInterval : this.jittered(check.interval);
    const delay = Math.max(0, t.lastStartAt + period - this.clock.now());
    t.next = this.clock.setTimer(delay, () => {
      t.next = undefined;
      this.launch(t);
    });
  }

  private deliver(key: string, result: ProbeResult): boolean {
    if (result.local) {
      const { code, err } = result.local;
      this.localErrors?.warn(code, { target: key, code, err }, 'probe failed on a local error: not a verdict on the target, its health stays');
    }
    try {
      return this.onResult(key, result)?.unsettled === true;
    } catch (err) {
      this.onError(key, err);
      return false;
    }
  }

  private jittered(interval: number): number {
    return Math.round(interval * (1 - JITTER + 2 * JITTER * this.random()));
  }

  private failure(reason: string, latencyMs: number, err?: unknown): ProbeResult {
    const local = localProbeError(err);
    if (local) return { ok: false, reason: localReason(local.code), latencyMs, at: this.clock.now(), local };
    return { ok: false, reason, latencyMs, at: this.clock.now() };
  }
}
