/**
 * What webhooks receive: one JSON body per transition and per override
 * change, or a Slack message (`format: slack`) with the same facts as text.
 */
import type { Transition } from '../failover/types.ts';
import type { OverrideEvent } from '../health/overrides.ts';

export type NotifyEvent =
  | { event: 'transition'; recordSet: string; from: string; to: string; reason: string; at: string }
  | { event: 'override'; action: 'set' | 'cleared' | 'expired'; target: string; state: 'UP' | 'DOWN'; reason: string; source: string; expiresAt?: string; at: string };

export function transitionEvent(t: Transition): NotifyEvent {
  return { event: 'transition', recordSet: t.recordSet, from: t.from, to: t.to, reason: t.reason, at: new Date(t.at).toISOString() };
}

export function overrideEvent(e: OverrideEvent, now: number): NotifyEvent {
  const o = e.override;
  return {
    event: 'override',
    action: e.action,
    target: e.targetId,
    state: o.state,
    reason: o.reason,
    source: o.source,
    ...(o.expiresAt !== undefined ? { expiresAt: new Date(o.expiresAt).toISOString() } : {}),
    at: new Date(now).toISOString(),
  };
}

/** The body sent to a webhook, in its format. */
export function webhookBody(e: NotifyEvent, format: 'json' | 'slack', host: string): unknown {
  const withHost = { ...e, host };
  if (format === 'json') return withHost;
  if (e.event === 'transition') {
    return { text: `failoverd on ${host}: *${e.recordSet}* now answers *${e.to}* (was ${e.from}). ${e.reason}` };
  }
  const what = e.state === 'DOWN' ? 'drain' : 'pin UP';
  const until = e.expiresAt ? ` until ${e.expiresAt}` : '';
  const verb = e.action === 'set' ? `set${until}` : e.action;
  return { text: `failoverd on ${host}: override (${what}) on *${e.target}* ${verb} by ${e.source}: ${e.reason}` };
}
