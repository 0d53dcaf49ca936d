/** Comparing answers: what DNS serves (answersEqual) vs which targets were chosen (selectionEqual). */
import type { Answer } from './types.ts';
import { sameIds } from './views.ts';

/** Same kind, same targets in the same order, same weighted flag. TTL and weights are ignored. */
export function selectionEqual(a: Answer | undefined, b: Answer | undefined): boolean {
  if (!a || !b) return a === b;
  if (a.kind !== b.kind) return false;
  if (a.kind === 'targets' && b.kind === 'targets') return a.weighted === b.weighted && sameIds(a.targetIds, b.targetIds);
  return true;
}

/** Everything a sink publishes is equal: selection, TTL and weights. */
export function answersEqual(a: Answer | undefined, b: Answer | undefined): boolean {
  if (!a || !b) return a === b;
  if (!selectionEqual(a, b)) return false;
  if (a.kind === 'targets' && b.kind === 'targets') {
    const wa = a.weights ?? [];
    const wb = b.weights ?? [];
    return a.ttl === b.ttl && wa.length === wb.length && wa.every((w, i) => w === wb[i]);
  }
  if (a.kind === 'nodata' && b.kind === 'nodata') return a.ttl === b.ttl;
  return true;
}
