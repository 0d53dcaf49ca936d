/**
 * Which record sets a reader asked for: by state (ok, degraded, all_down,
 * or attention for either of the last two) and by a part of the key
 * ("name/type"). /v1/status and the status page read the same query words.
 */
import type { RecordSetDecision } from '../failover/decision.ts';
import { ApiError } from './http.ts';

export const STATES = ['ok', 'degraded', 'all_down', 'attention'] as const;
export type RecordSetState = 'ok' | 'degraded' | 'all_down';

export interface RecordSetFilter {
  /** The states asked for (attention already spelt out); undefined: any. */
  state?: Set<RecordSetState>;
  /** A part of the key, lower case; undefined: any. */
  name?: string;
}

/** ok, degraded (not on its all-healthy answer, or no answer yet), all_down (every target DOWN). */
export function stateOf(d: RecordSetDecision | undefined): RecordSetState {
  if (!d) return 'degraded';
  return d.state.allDown ? 'all_down' : d.state.degraded ? 'degraded' : 'ok';
}

/** ?state= (comma-separated) and ?name= of a query; 400 on a state it does not know. */
export function parseFilter(q: URLSearchParams): RecordSetFilter {
  let state: Set<RecordSetState> | undefined;
  const raw = q.get('state')?.trim();
  if (raw) {
    const asked = raw.split(',').map((s) => s.trim().toLowerCase());
    const bad = asked.filter((s) => !(STATES as readonly string[]).includes(s));
    if (bad.length) throw new ApiError(400, 'BAD_REQUEST', `state must be ${STATES.join(', ')} (comma-separated), not ${JSON.stringify(bad.join(','))}`);
    state = new Set(asked.flatMap((s): RecordSetState[] => (s === 'attention' ? ['degraded', 'all_down'] : [s as RecordSetState])));
  }
  const name = q.get('name')?.trim().toLowerCase() || undefined;
  return { ...(state ? { state } : {}), ...(name ? { name } : {}) };
}

export function matches(f: RecordSetFilter, key: string, state: RecordSetState): boolean {
  return (!f.name || key.includes(f.name)) && (!f.state || f.state.has(state));
}
