/**
 * Rise/fall hysteresis for one probed target: turns a stream of
 * ProbeResults into a settled Health (UP / DOWN / UNKNOWN).
 *
 * Pure and deterministic: time comes only from `result.at`.
 */
import type { Health } from '../config/types.ts';
import type { ProbeResult } from '../probes/types.ts';

export interface HealthThresholds {
  /** Successes in a row needed to become UP. */
  rise: number;
  /** Failures in a row needed to become DOWN. */
  fall: number;
}

/** What one observation did to the tracked health. */
export interface HealthObservation {
  health: Health;
  changed: boolean;
  /** Health before this observation (equal to `health` when not changed). */
  from: Health;
  /**
   * True while UNKNOWN, and while the latest result disagrees with the
   * current health without having reached its threshold yet (the scheduler
   * then probes at fastInterval).
   */
  unsettled: boolean;
}

/** One entry of the recent-results ring (for the status API). */
export interface ProbeRecord {
  at: number;
  ok: boolean;
  latencyMs: number;
  reason: string;
  /** The probe failed on a local error (EMFILE, ...): shown, not counted. */
  local?: true;
}

/** Number of recent results a tracker keeps. */
export const HISTORY_SIZE = 10;

export class HealthTracker {
  private readonly rise: number;
  private readonly fall: number;
  private current: Health;
  private changedAt: number;
  private lastResult: ProbeResult | undefined;
  /** Length of the current run of equal outcomes, and which outcome. */
  private streakOk = false;
  private streakLen = 0;
  /** Fixed-size ring: `ringNext` is the slot written next. */
  private readonly ring: (ProbeRecord | undefined)[] = new Array<ProbeRecord | undefined>(HISTORY_SIZE).fill(undefined);
  private ringNext = 0;
  private ringCount = 0;

  /**
   * @param since when `initial` began (e.g. restored from the state file, or
   *   the daemon's start time); 0 when not known.
   */
  constructor({ rise, fall }: HealthThresholds, initial: Health = 'UNKNOWN', since = 0) {
    if (!(Number.isInteger(rise) && rise >= 1)) throw new RangeError(`rise must be an integer >= 1, got ${rise}`);
    if (!(Number.isInteger(fall) && fall >= 1)) throw new RangeError(`fall must be an integer >= 1, got ${fall}`);
    this.rise = rise;
    this.fall = fall;
    this.current = initial;
    this.changedAt = since;
  }

  get health(): Health {
    return this.current;
  }

  /** Time (result.at) of the last health change, or the constructor's `since`. */
  get since(): number {
    return this.changedAt;
  }

  /** The last result counted toward rise/fall (local errors are not). */
  get last(): ProbeResult | undefined {
    return this.lastResult;
  }

  /** The current run of equal results: e.g. { ok: false, count: 1 } after one failure. */
  get streak(): { ok: boolean; count: number } {
    return { ok: this.streakOk, count: this.streakLen };
  }

  /** True while UNKNOWN or while the latest result disagrees with the health. */
  get unsettled(): boolean {
    if (this.current === 'UNKNOWN') return true;
    if (!this.lastResult) return false;
    return this.lastResult.ok !== (this.current === 'UP');
  }

  /** The last (at most HISTORY_SIZE) results, oldest first. */
  history(): ProbeRecord[] {
    const out: ProbeRecord[] = [];
    const start = (this.ringNext - this.ringCount + HISTORY_SIZE) % HISTORY_SIZE;
    for (let i = 0; i < this.ringCount; i++) {
      const r = this.ring[(start + i) % HISTORY_SIZE];
      if (r) out.push({ ...r });
    }
    return out;
  }

  /**
   * Counts a result toward rise/fall. A result marked `local` (the probe
   * failed on an error of this machine) is kept in the history but counts
   * for nothing: health, streak and `last` stay as they were.
   */
  observe(result: ProbeResult): HealthObservation {
    this.ring[this.ringNext] = { at: result.at, ok: result.ok, latencyMs: result.latencyMs, reason: result.reason, ...(result.local ? { local: true as const } : {}) };
    this.ringNext = (this.ringNext + 1) % HISTORY_SIZE;
    if (this.ringCount < HISTORY_SIZE) this.ringCount++;
    if (result.local) return { health: this.current, changed: false, from: this.current, unsettled: this.unsettled };
    this.lastResult = result;

    if (this.streakLen > 0 && this.streakOk === result.ok) this.streakLen++;
    else {
      this.streakOk = result.ok;
      this.streakLen = 1;
    }

    const from = this.current;
    let next: Health = from;
    if (result.ok && from !== 'UP' && this.streakLen >= this.rise) next = 'UP';
    else if (!result.ok && from !== 'DOWN' && this.streakLen >= this.fall) next = 'DOWN';

    const changed = next !== from;
    if (changed) {
      this.current = next;
      this.changedAt = result.at;
    }
    return { health: this.current, changed, from, unsettled: this.unsettled };
  }
}
