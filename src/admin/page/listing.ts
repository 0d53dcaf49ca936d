/**
 * Which record sets one view of the status page shows: the query of its
 * URL (state and name filters as /v1/status reads them, a page number and
 * size), the counts per state over every record set, and the page asked
 * for, those needing attention first (all down, then degraded, then OK;
 * config order within each). At 10,000 record sets the page renders a page,
 * never the whole list.
 */
import type { RecordSetConfig } from '../../config/types.ts';
import type { RecordSetDecision } from '../../failover/decision.ts';
import { recordSetKey } from '../../failover/describe.ts';
import { ApiError } from '../http.ts';
import { matches, parseFilter, stateOf, type RecordSetFilter, type RecordSetState } from '../record-set-filter.ts';

/** Record sets on one page unless ?limit= says otherwise. */
export const PAGE_SIZE = 50;
const MAX_PAGE_SIZE = 500;

export interface PageQuery extends RecordSetFilter {
  /** ?state= as written (for the links that keep it). */
  stateWord?: string;
  /** 1-based. */
  page: number;
  limit: number;
}

export function parsePageQuery(q: URLSearchParams): PageQuery {
  const filter = parseFilter(q);
  const num = (key: string, fallback: number, max: number): number => {
    const raw = q.get(key);
    if (raw === null || raw === '') return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1 || n > max) throw new ApiError(400, 'BAD_REQUEST', `${key} must be an integer from 1 to ${max}`);
    return n;
  };
  const stateWord = q.get('state')?.trim().toLowerCase();
  return { ...filter, ...(stateWord ? { stateWord } : {}), page: num('page', 1, 1_000_000), limit: num('limit', PAGE_SIZE, MAX_PAGE_SIZE) };
}

/** The URL of a view: `q` with `change` applied (a changed filter starts again at page 1). */
export function pageHref(q: PageQuery, change: { state?: string | undefined; name?: string | undefined; page?: number }): string {
  const state = 'state' in change ? change.state : q.stateWord;
  const name = 'name' in change ? change.name : q.name;
  const page = change.page ?? ('state' in change || 'name' in change ? 1 : q.page);
  const p = new URLSearchParams();
  if (state) p.set('state', state);
  if (name) p.set('name', name);
  if (q.limit !== PAGE_SIZE) p.set('limit', String(q.limit));
  if (page > 1) p.set('page', String(page));
  const s = p.toString();
  return s ? `/?${s}` : '/';
}

export interface Listing {
  counts: Record<RecordSetState, number> & { total: number };
  /** Record sets the filters match. */
  matched: number;
  /** The page shown (the last one when the one asked for is past the end) and the number of pages. */
  page: number;
  pages: number;
  /** Index (0-based) of the first record set shown among those matched. */
  from: number;
  shown: Array<{ rs: RecordSetConfig; decision: RecordSetDecision | undefined; state: RecordSetState }>;
}

const ORDER: RecordSetState[] = ['all_down', 'degraded', 'ok'];

export function listRecordSets(records: readonly RecordSetConfig[], byKey: ReadonlyMap<string, RecordSetDecision>, q: PageQuery): Listing {
  const counts = { total: records.length, ok: 0, degraded: 0, all_down: 0 };
  const groups: Record<RecordSetState, Listing['shown']> = { all_down: [], degraded: [], ok: [] };
  for (const rs of records) {
    const key = recordSetKey(rs);
    const decision = byKey.get(key);
    const state = stateOf(decision);
    counts[state]++;
    if (matches(q, key, state)) groups[state].push({ rs, decision, state });
  }
  const matched = ORDER.reduce((n, s) => n + groups[s].length, 0);
  const pages = Math.max(1, Math.ceil(matched / q.limit));
  const page = Math.min(q.page, pages);
  const from = (page - 1) * q.limit;
  const shown: Listing['shown'] = [];
  let skip = from;
  for (const s of ORDER) {
    const g = groups[s];
    if (skip >= g.length) {
      skip -= g.length;
      continue;
    }
    shown.push(...g.slice(skip, skip + q.limit - shown.length));
    skip = 0;
    if (shown.length >= q.limit) break;
  }
  return { counts, matched, page, pages, from, shown };
}
