/**
 * The current answers of the controller, in the shapes the sinks read:
 * DynamicRRset for the embedded server's snapshot, DesiredRecordSet for
 * Route 53.
 */
import type { RecordSetAnswer } from './controller.ts';
import { targetAddress } from './failover/describe.ts';
import type { HealthTracker } from './health/hysteresis.ts';
import type { DynamicRRset } from './records/snapshot.ts';
import type { DesiredRecordSet } from './route53/desired.ts';

export function toDynamicRRset({ config: rs, state }: RecordSetAnswer): DynamicRRset {
  const answer = state.answer;
  if (answer.kind === 'servfail') return { name: rs.name, type: rs.type, ttl: rs.ttl, kind: 'servfail', values: [] };
  if (answer.kind === 'nodata') return { name: rs.name, type: rs.type, ttl: answer.ttl, kind: 'nodata', values: [] };
  return {
    name: rs.name,
    type: rs.type,
    ttl: answer.ttl,
    kind: 'values',
    values: answer.targetIds.map((id) => targetAddress(rs, id)),
    weights: answer.weighted ? answer.weights : undefined,
  };
}

export function toDesiredRecordSet(a: RecordSetAnswer, tracker: (probeKey: string) => HealthTracker | undefined): DesiredRecordSet {
  const d = toDynamicRRset(a);
  const primary = a.config.targets[0]!;
  const health = tracker(primary.probeKey)?.health ?? 'UNKNOWN';
  return {
    name: d.name,
    type: d.type,
    ttl: d.ttl,
    values: d.values,
    servfail: d.kind === 'servfail' || undefined,
    policy: a.config.policy,
    targets: a.config.targets.map((t) => ({ id: t.id, address: t.address })),
    primaryHealthy: health !== 'DOWN',
  };
}
