/**
 * Split changes into ChangeResourceRecordSets batches within Route 53's
 * limits: at most 1,000 ResourceRecord elements and 32,000 characters of
 * Value, an UPSERT counting twice. Changes of one group (an owner name and its
 * ownership marker) are never split across batches.
 */
import type { PlanChange } from './plan.ts';

export const MAX_RECORDS_PER_BATCH = 1000;
export const MAX_VALUE_CHARS_PER_BATCH = 32_000;

export interface BatchLimits {
  maxRecords: number;
  maxChars: number;
}

export function changeCost(c: PlanChange): { records: number; chars: number } {
  const mult = c.action === 'UPSERT' ? 2 : 1;
  const records = Math.max(1, c.recordSet.values.length) * mult;
  const chars = c.recordSet.values.reduce((n, v) => n + v.length, 0) * mult;
  return { records, chars };
}

/** Groups in plan order, each group's changes kept together. */
export function groupChanges(changes: PlanChange[]): PlanChange[][] {
  const groups = new Map<string, PlanChange[]>();
  for (const c of changes) (groups.get(c.group) ?? groups.set(c.group, []).get(c.group)!).push(c);
  return [...groups.values()];
}

export function batchChanges(
  changes: PlanChange[],
  limits: BatchLimits = { maxRecords: MAX_RECORDS_PER_BATCH, maxChars: MAX_VALUE_CHARS_PER_BATCH },
): PlanChange[][] {
  const batches: PlanChange[][] = [];
  let cur: PlanChange[] = [];
  let records = 0;
  let chars = 0;
  for (const g of groupChanges(changes)) {
    const cost = g.map(changeCost).reduce((a, b) => ({ records: a.records + b.records, chars: a.chars + b.chars }), { records: 0, chars: 0 });
    if (cur.length && (records + cost.records > limits.maxRecords || chars + cost.chars > limits.maxChars)) {
      batches.push(cur);
      cur = [];
      records = 0;
      chars = 0;
    }
    // A group larger than the limits goes alone; Route 53 will say what is wrong with it.
    cur.push(...g);
    records += cost.records;
    chars += cost.chars;
  }
  if (cur.length) batches.push(cur);
  return batches;
}
