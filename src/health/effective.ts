/**
 * Effective health: an operator's override (forced UP/DOWN, e.g. a drain)
 * on top of the real health from hysteresis. Storage of overrides lives
 * elsewhere; this is only the rule.
 */
import type { Health } from '../config/types.ts';

export interface HealthOverride {
  state: 'UP' | 'DOWN';
  reason: string;
  /** Epoch ms; the override no longer applies from this instant on. */
  expiresAt?: number;
}

export interface EffectiveHealth {
  health: Health;
  /** True when the override decided `health` (even if it equals the real health). */
  overridden: boolean;
}

/** True when `override` exists and has not expired at `now` (expiry is exclusive: at expiresAt it is over). */
export function overrideActive(override: HealthOverride | undefined, now: number): override is HealthOverride {
  return override !== undefined && (override.expiresAt === undefined || now < override.expiresAt);
}

export function effectiveHealth(real: Health, override: HealthOverride | undefined, now: number): EffectiveHealth {
  if (overrideActive(override, now)) return { health: override.state, overridden: true };
  return { health: real, overridden: false };
}
