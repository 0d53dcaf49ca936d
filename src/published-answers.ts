/**
 * Decisions in the shapes the sinks read: DynamicRRset for the embedded
 * server's snapshot, DesiredRecordSet for Route 53, UpdateRecordSet for
 * RFC 2136 UPDATE. Both come from the same
 * decision and nothing else, so Route 53 follows drains and failback holds
 * exactly as the embedded DNS does.
 */
import { servesPrimary, type DecidedValues, type RecordSetDecision } from './failover/decision.ts';
import type { DynamicAnswer, DynamicRRset } from './records/snapshot.ts';
import type { DesiredRecordSet as UpdateRecordSet } from './rfc2136/model.ts';
import type { DesiredRecordSet } from './route53/desired.ts';

export function toDynamicRRset(d: RecordSetDecision): DynamicRRset {
  const a = d.answer;
  const topology = d.lists && d.clientMap ? { v4: d.clientMap.v4, v6: d.clientMap.v6, answers: d.lists.map((l) => dynamicAnswer(l.answer)) } : undefined;
  return { name: d.name, type: d.type, ...dynamicAnswer(a), ...(topology ? { topology } : {}) };
}

function dynamicAnswer(a: DecidedValues): DynamicAnswer {
  if (a.kind !== 'values') return { ttl: a.ttl, kind: a.kind, values: [] };
  return { ttl: a.ttl, kind: 'values', values: a.values, weights: a.weights };
}

export function toDesiredRecordSet(d: RecordSetDecision): DesiredRecordSet {
  const a = d.answer;
  return {
    name: d.name,
    type: d.type,
    ttl: a.ttl,
    values: a.kind === 'values' ? a.values : [],
    servfail: a.kind === 'servfail' || undefined,
    policy: d.policy,
    targets: d.targets.map((t) => ({ id: t.id, address: t.address })),
    // The primary is healthy for Route 53 exactly when the decision serves it:
    // a drained primary, or one held back by a manual failback, is not.
    primaryHealthy: servesPrimary(d),
  };
}

export function toUpdateRecordSet(d: RecordSetDecision): UpdateRecordSet {
  const a = d.answer;
  return {
    name: d.name,
    type: d.type,
    ttl: a.ttl,
    values: a.kind === 'values' ? a.values : [],
    ...(a.kind === 'servfail' ? { servfail: true } : {}),
    targets: d.targets.map((t) => t.address),
  };
}
