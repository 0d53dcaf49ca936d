/**
 * Operator overrides, one per target id: a drain (DOWN) or a pin (UP) with a
 * reason, who set it and an optional expiry. Expiry fires through the Clock.
 * The rule that turns an override into effective health is effective.ts.
 */
import type { Clock, TimerHandle } from '../clock.ts';
import { overrideActive, type HealthOverride } from './effective.ts';

export interface TargetOverride extends HealthOverride {
  /** Epoch ms when it was set. */
  createdAt: number;
  /** "api", or "maintenance:<name>" for a maintenance window. */
  source: string;
}

const MAX_TIMER_MS = 2_000_000_000;

export type OverrideEvent =
  | { action: 'set'; targetId: string; override: TargetOverride; replaced?: TargetOverride }
  | { action: 'cleared' | 'expired'; targetId: string; override: TargetOverride };

export class OverrideStore {
  private readonly byTarget = new Map<string, TargetOverride>();
  private readonly timers = new Map<string, TimerHandle>();

  constructor(
    private readonly clock: Clock,
    /** Called after every change (set, cleared, expired). */
    private readonly onChange: (e: OverrideEvent) => void,
  ) {}

  get(targetId: string): TargetOverride | undefined {
    const o = this.byTarget.get(targetId);
    return overrideActive(o, this.clock.now()) ? o : undefined;
  }

  all(): Array<[string, TargetOverride]> {
    const now = this.clock.now();
    return [...this.byTarget].filter(([, o]) => overrideActive(o, now));
  }

  set(targetId: string, override: TargetOverride, opts: { silent?: boolean } = {}): void {
    const replaced = this.get(targetId);
    this.byTarget.set(targetId, override);
    this.arm(targetId, override);
    if (!opts.silent) this.onChange({ action: 'set', targetId, override, ...(replaced ? { replaced } : {}) });
  }

  clear(targetId: string): TargetOverride | undefined {
    const o = this.get(targetId);
    this.drop(targetId);
    if (o) this.onChange({ action: 'cleared', targetId, override: o });
    return o;
  }

  /** Forget an override without an event (its target is no longer configured). */
  drop(targetId: string): void {
    this.byTarget.delete(targetId);
    this.timers.get(targetId)?.cancel();
    this.timers.delete(targetId);
  }

  stop(): void {
    for (const t of this.timers.values()) t.cancel();
    this.timers.clear();
  }

  private arm(targetId: string, o: TargetOverride): void {
    this.timers.get(targetId)?.cancel();
    this.timers.delete(targetId);
    if (o.expiresAt === undefined) return;
    // setTimeout holds at most ~24.8 days; longer expiries re-arm in steps.
    const left = o.expiresAt - this.clock.now();
    this.timers.set(
      targetId,
      this.clock.setTimer(Math.max(0, Math.min(left, MAX_TIMER_MS)), () => {
        this.timers.delete(targetId);
        if (this.byTarget.get(targetId) !== o) return;
        if (this.clock.now() < o.expiresAt!) return this.arm(targetId, o);
        this.byTarget.delete(targetId);
        this.onChange({ action: 'expired', targetId, override: o });
      }),
    );
  }
}
