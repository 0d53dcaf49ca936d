/**
 * A short fingerprint of what an instance decides about: its record sets
 * and their targets (names, order, policies, TTLs, probe keys). Instances of
 * one cluster must agree on it; the check settings behind a probe key may
 * differ (each instance probes from its own place).
 */
import { createHash } from 'node:crypto';
import type { Config } from '../config/types.ts';

export function recordsFingerprint(config: Config): string {
  const records = config.records.map((r) => ({
    name: r.name,
    type: r.type,
    ttl: r.ttl,
    degradedTtl: r.degradedTtl,
    policy: r.policy,
    failback: r.failback,
    whenAllDown: r.whenAllDown,
    maxAnswers: r.maxAnswers,
    targets: r.targets.map((t) => [t.id, t.address, t.weight, t.probeKey]),
  }));
  return createHash('sha256').update(JSON.stringify(records)).digest('hex').slice(0, 16);
}
