/**
 * Policy `failover`: an ordered pool (primary, secondary, ...); one target
 * is answered at a time.
 *
 * - Cold start (no previous state), recovery from all-down, or a previous
 *   target that is no longer configured: the first UP-or-UNKNOWN target.
 * - The active target went DOWN: the first UP-or-UNKNOWN target in order,
 *   whatever the failback mode (it may be a better one than the active).
 * - A better target than the active one is UP (a verdict, not UNKNOWN)
 *   while the active one is still UP or UNKNOWN: failback decides.
 *     auto        → move now.
 *     { after D } → move to the first better target that has stayed in its
 *                   health for D (view.since + D <= now); otherwise stay and
 *                   wake at the earliest since + D. A flap restarts the wait
 *                   because `since` changes.
 *     manual      → stay until a { kind: 'failback' } command.
 *   A failback command moves to the first UP target in every mode.
 */
import type { RecordSetConfig } from '../config/types.ts';
import { allDownDecision } from './all-down.ts';
import { formatMs, healthText, targetLabel } from './describe.ts';
import type { FailoverCommand, PolicyDecision, RecordSetState, TargetView } from './types.ts';
import { healthOf, isUsable } from './views.ts';

export function decideFailover(
  cfg: RecordSetConfig,
  prev: RecordSetState | undefined,
  targets: ReadonlyMap<string, TargetView>,
  now: number,
  command?: FailoverCommand,
): PolicyDecision {
  const order = cfg.targets;
  const label = (i: number) => targetLabel(cfg, order[i].id);
  const state = (i: number) => healthText(targets.get(order[i].id));
  const usableAt = (i: number) => isUsable(healthOf(targets, order[i].id));

  const firstIdx = order.findIndex((_, i) => usableAt(i));
  if (firstIdx < 0) return allDownDecision(cfg);

  const choose = (i: number, reason: string, extra: { pending?: string; wakeAt?: number } = {}): PolicyDecision => ({
    answer: { kind: 'targets', targetIds: [order[i].id], weighted: false },
    activeId: order[i].id,
    reason,
    degraded: i !== 0,
    allDown: false,
    ...extra,
  });
  /** "primary X is DOWN (..)" for every target skipped before `i`. */
  const skipped = (i: number) => order.slice(0, i).map((_, j) => `${label(j)} is ${state(j)}`).join('; ');
  const firstReason = (why: string) => (firstIdx === 0 ? `${why}${label(0)} is ${state(0)}` : `${skipped(firstIdx)}; ${why}${label(firstIdx)} is ${state(firstIdx)}`);

  if (!prev) return choose(firstIdx, firstReason(''));

  const activeIdx = prev.activeId === undefined ? -1 : order.findIndex((t) => t.id === prev.activeId);
  if (activeIdx < 0) {
    if (prev.allDown || prev.activeId === undefined) return choose(firstIdx, firstReason('recovered from all down: '));
    return choose(firstIdx, `previous target ${prev.activeId} is no longer configured; ${firstReason('')}`);
  }

  if (!usableAt(activeIdx)) {
    const how = firstIdx < activeIdx ? 'moved to the first UP target in order' : 'failed over to';
    return choose(firstIdx, `${label(activeIdx)} is ${state(activeIdx)}; ${how}: ${label(firstIdx)} is ${state(firstIdx)}`);
  }

  // The active target is fine. Failing back is a voluntary move away from a
  // working target, so it needs a verdict: only targets that are UP count.
  const upAt = (i: number) => healthOf(targets, order[i].id) === 'UP';
  const betterIdx = order.findIndex((_, i) => i < activeIdx && upAt(i));
  if (betterIdx < 0) return choose(activeIdx, prev.reason);

  if (command?.kind === 'failback') return choose(betterIdx, `failback command: ${label(betterIdx)} is ${state(betterIdx)}`);

  const fb = cfg.failback;
  if (fb === 'auto') return choose(betterIdx, `failback (auto): ${label(betterIdx)} is ${state(betterIdx)}`);

  if (fb === 'manual') {
    return choose(activeIdx, prev.reason, {
      pending: `${label(betterIdx)} is ${state(betterIdx)}; failback is manual: staying on ${label(activeIdx)} until a failback command`,
    });
  }

  // { after: D }: the first better UP target that has been UP for D; the
  // earliest due time of the better ones still waiting is when to wake.
  let wakeAt: number | undefined;
  let waiting = -1;
  for (let i = betterIdx; i < activeIdx; i++) {
    if (!upAt(i)) continue;
    const since = targets.get(order[i].id)!.since;
    const due = since + fb.after;
    if (due <= now) {
      const extra = wakeAt === undefined ? {} : { wakeAt, pending: pendingAfter(waiting, wakeAt) };
      return choose(i, `failback (after ${formatMs(fb.after)}): ${label(i)} has been ${state(i)} for ${formatMs(now - since)}`, extra);
    }
    if (wakeAt === undefined || due < wakeAt) {
      wakeAt = due;
      waiting = i;
    }
  }
  return choose(activeIdx, prev.reason, wakeAt === undefined ? {} : { wakeAt, pending: pendingAfter(waiting, wakeAt) });

  function pendingAfter(i: number, at: number): string {
    return `${label(i)} is ${state(i)}; failback after ${formatMs((fb as { after: number }).after)} at ${at}`;
  }
}
