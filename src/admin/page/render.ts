/**
 * The status page as server-rendered HTML: `renderPage` is the whole
 * document, `renderLive` the part that live updates replace, made of
 * `renderParts`: named parts (summary, filters, pager, timeline, ...) and
 * one article per record set shown, in pieces (its head, a row per target),
 * so the event stream can send only the articles, or the rows, that changed. One view shows a page of the record sets (listing.ts),
 * never all of them. Every value from the daemon goes through esc(); state
 * is written in words (UP, DOWN, DEGRADED, ...) so the page reads the same
 * without colour.
 */
import type { RecordSetConfig } from '../../config/types.ts';
import type { Health } from '../../config/types.ts';
import type { AdminDeps } from '../deps.ts';
import { HISTORY_WINDOW_MS, STRIP_CELL_MS, type StripCell } from '../status-history.ts';
import { ago, iso, recordSetView, secondaryView, targetView } from '../views.ts';
import { esc } from './escape.ts';
import { articleHtml, type ArticlePieces } from './live-updates.ts';
import { listRecordSets, pageHref, type Listing, type PageQuery } from './listing.ts';

/** Where the page's own assets are served (same listener, no outside request). */
export const ASSET_PATHS = { script: '/ui/status-page.js', style: '/ui/status-page.css', icon: '/ui/favicon.svg' } as const;
/** Newest entries shown in the timeline. */
const TIMELINE_ENTRIES = 40;
/** Most recent probe results shown per target. */
const PROBES_SHOWN = 5;

type RecordSetView = ReturnType<typeof recordSetView>;
type TargetView = ReturnType<typeof targetView>;

/** The live part in pieces: `parts` in page order (the record sets go between filters and pager), `sets` the articles shown, in order. */
export interface LiveParts {
  parts: Array<[string, string]>;
  sets: Array<[string, ArticlePieces]>;
}

/** Where the record sets go among the parts: after this one. */
const SETS_AFTER = 'filters';

/** `decisions`: the decisions of every record set, read beforehand (in slices: collectInSlices) or here at once. */
export function renderPage(d: AdminDeps, q: PageQuery, decisions = d.decisions()): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>failoverd status</title>
<link rel="icon" href="${ASSET_PATHS.icon}" type="image/svg+xml">
<link rel="stylesheet" href="${ASSET_PATHS.style}">
<script src="${ASSET_PATHS.script}" defer></script>
</head>
<body>
<header class="top">
<h1>failoverd</h1>
<p id="conn" class="conn conn-live" role="status" aria-live="polite">Live: updates as they happen.</p>
<p class="search"><label for="search">Search record sets</label> <input type="search" id="search" value="${esc(q.name ?? '')}" placeholder="name or part of it" autocomplete="off" spellcheck="false"></p>
</header>
<main id="live">
${renderLive(d, q, decisions)}
</main>
<footer><p>Read-only view of the admin API (<a href="/v1/status">/v1/status</a>, <a href="/v1/transitions">/v1/transitions</a>, <a href="/metrics">/metrics</a>). Changes go through the CLI: <code>failoverd drain</code>, <code>undrain</code>, <code>failback</code>.</p></footer>
</body>
</html>
`;
}

/** The live part of a view: summary, filters, the page of record sets with their targets, pager, timeline, Route 53, RFC 2136 (when configured) and secondaries. */
export function renderLive(d: AdminDeps, q: PageQuery, decisions = d.decisions()): string {
  return liveHtml(renderParts(d, q, decisions));
}

export function liveHtml(live: LiveParts): string {
  const out: string[] = [];
  for (const [name, html] of live.parts) {
    out.push(html);
    if (name === SETS_AFTER) out.push(`<section class="sets" id="sets" aria-label="Record sets">${live.sets.map(([, a]) => articleHtml(a)).join('\n')}</section>`);
  }
  return out.join('\n');
}

export function renderParts(d: AdminDeps, q: PageQuery, decisions = d.decisions()): LiveParts {
  const now = d.now();
  const byKey = new Map(decisions.map((x) => [x.key, x]));
  const listing = listRecordSets(d.controller().config.records, byKey, q);
  const sets = listing.shown.map(({ rs, decision }): [string, ArticlePieces] => {
    const view = recordSetView(rs, decision, d.probes);
    return [view.key, recordSet(d, rs, view, now)];
  });
  return {
    parts: [
      ['summary', summary(d, listing, now)],
      ['filters', filters(listing, q)],
      ['pager', pager(listing, q)],
      ['timeline', timeline(d)],
      ['route53', route53(d)],
      ['rfc2136', rfc2136(d)],
      ['secondaries', secondaries(d)],
    ],
    sets,
  };
}

function summary(d: AdminDeps, l: Listing, now: number): string {
  const info = d.info();
  const ready = d.readiness();
  const zones = (d.snapshot()?.zones ?? []).map((z) => `${esc(z.origin || '.')} serial ${esc(z.serial)}`).join(', ');
  const { total, degraded, all_down: allDown } = l.counts;
  const windows = d.maintenance();
  const active = windows.filter((m) => m.active);
  const failed = windows.filter((m) => m.lastRun?.ok === false);
  const overall = allDown ? `<span class="badge b-alldown">ALL DOWN: ${allDown}</span>` : degraded ? `<span class="badge b-degraded">DEGRADED: ${degraded}</span>` : '<span class="badge b-ok">ALL HEALTHY</span>';
  const attention = allDown + degraded;
  return `<section class="summary" data-part="summary" aria-label="Summary">
<p>${overall} <span class="count">${total} record set${total === 1 ? '' : 's'}</span> · <span class="attention">${attention ? `${attention} need${attention === 1 ? 's' : ''} attention (${allDown} all down, ${degraded} degraded)` : 'none needs attention'}</span> · <span class="${ready.ready ? 'ready' : 'notready'}">${ready.ready ? 'ready' : `NOT READY: ${esc(ready.reason ?? '')}`}</span></p>
<p class="meta">version ${esc(info.version)} · up since ${time(info.startedAt, now)} · config ${esc(info.configFile)} loaded ${time(info.configLoadedAt, now)}${zones ? ` · zones: ${zones}` : ''}</p>
${active.length ? `<p class="meta">Maintenance now: ${active.map((m) => `<span class="badge b-held">MAINTENANCE ${esc(m.name)}</span>`).join(' ')}</p>` : ''}
${info.lastReload?.ok === false ? `<p class="meta reload-refused"><span class="badge b-alldown">RELOAD REFUSED</span> ${time(info.lastReload.at, now)}: still serving the config loaded ${time(info.configLoadedAt, now)}; ${info.lastReload.problemCount} problem${info.lastReload.problemCount === 1 ? '' : 's'}, first: <span class="reason">${esc(info.lastReload.problems[0] ?? '')}</span></p>` : ''}
${failed.map((m) => `<p class="meta maintenance-failed"><span class="badge b-alldown">MAINTENANCE FAILED</span> window ${esc(m.name)} ${time(m.lastRun!.at, now)}: <span class="reason">${esc(m.lastRun!.error?.message ?? '')}</span></p>`).join('\n')}
</section>`;
}

/** Links to each state filter with its count (the search and page size kept). */
function filters(l: Listing, q: PageQuery): string {
  const c = l.counts;
  const links: Array<[string | undefined, string, number]> = [
    [undefined, 'All', c.total],
    ['attention', 'Needs attention', c.degraded + c.all_down],
    ['all_down', 'All down', c.all_down],
    ['degraded', 'Degraded', c.degraded],
    ['ok', 'OK', c.ok],
  ];
  const link = ([state, label, n]: (typeof links)[number]) =>
    `<a href="${esc(pageHref(q, { state }))}" data-nav${q.stateWord === state ? ' aria-current="page"' : ''}>${label} <span class="n">${n}</span></a>`;
  return `<nav class="filters" data-part="filters" aria-label="Show record sets by state">${links.map(link).join(' ')}${q.name ? ` <span class="muted">matching “${esc(q.name)}”</span>` : ''}</nav>`;
}

function pager(l: Listing, q: PageQuery): string {
  if (l.matched === 0) return `<nav class="pager" data-part="pager" aria-label="Pages"><p class="muted">No record set matches${q.name ? ` “${esc(q.name)}”` : ''}${q.stateWord ? ` in state ${esc(q.stateWord)}` : ''}.</p></nav>`;
  const prev = l.page > 1 ? `<a href="${esc(pageHref(q, { page: l.page - 1 }))}" data-nav rel="prev">← previous</a>` : '<span class="muted">← previous</span>';
  const next = l.page < l.pages ? `<a href="${esc(pageHref(q, { page: l.page + 1 }))}" data-nav rel="next">next →</a>` : '<span class="muted">next →</span>';
  return `<nav class="pager" data-part="pager" aria-label="Pages"><p><span class="range">record sets ${l.from + 1}–${l.from + l.shown.length} of ${l.matched}</span> · page ${l.page} of ${l.pages} · ${prev} · ${next}</p></nav>`;
}

/** A record set's article: its head (name, badges, facts, the table's head), a row per target (keyed by target id), its end. */
function recordSet(d: AdminDeps, rs: RecordSetConfig, v: RecordSetView, now: number): ArticlePieces {
  const badges: string[] = [];
  if (v.allDown) badges.push('<span class="badge b-alldown">ALL DOWN</span>');
  else if (v.degraded) badges.push('<span class="badge b-degraded">DEGRADED</span>');
  if (v.pending) badges.push(rs.failback === 'manual' ? '<span class="badge b-held">HELD: manual failback</span>' : '<span class="badge b-held">FAILBACK WAITING</span>');
  if (!v.allDown && !v.degraded) badges.push('<span class="badge b-ok">OK</span>');
  const head = `<article class="rs" data-record-set="${esc(v.key)}">
<h2><span class="rs-name">${esc(v.name)}</span> <span class="rs-type">${esc(v.type)}</span> ${badges.join(' ')}</h2>
<dl class="facts">
<div><dt>answer</dt><dd class="answer">${esc(v.answer)}${v.ttl !== undefined ? ` <span class="muted">TTL ${esc(v.ttl)}</span>` : ''}</dd></div>
<div><dt>policy</dt><dd>${esc(v.policy)}${v.policy === 'failover' ? `, failback ${esc(typeof v.failback === 'string' ? v.failback : `after ${Math.round(v.failback.after / 1000)}s`)}` : ''}, all down: ${esc(v.whenAllDown)}</dd></div>
<div><dt>since</dt><dd>${v.since ? time(Date.parse(v.since), now) : 'no answer yet'}</dd></div>
<div class="why"><dt>why</dt><dd>${esc(v.reason ?? 'waiting for the first probe round')}</dd></div>
${v.pending ? `<div class="why"><dt>waiting</dt><dd>${esc(v.pending)}</dd></div>` : ''}
</dl>
<div class="table-wrap"><table class="targets">
<thead><tr><th scope="col">target</th><th scope="col">real</th><th scope="col">effective</th><th scope="col">override</th><th scope="col">last probes</th><th scope="col">last hour</th></tr></thead>
<tbody>
`;
  return { head, rows: v.targets.map((t): [string, string] => [t.id, target(d, rs, t, now)]), tail: ARTICLE_TAIL };
}

const ARTICLE_TAIL = `
</tbody></table></div>
</article>`;

function target(d: AdminDeps, rs: RecordSetConfig, t: TargetView, now: number): string {
  const o = t.override;
  const current = o ? { state: o.state, createdAt: Date.parse(o.createdAt!) } : undefined;
  const cells = d.history.strip(t.probe, t.id, t.real.health as Health, current);
  const totals = d.history.totals(t.probe, t.id, t.real.health as Health, current);
  const override = t.override
    ? `<span class="badge ${t.override.state === 'DOWN' ? 'b-drain' : 'b-pin'}">${t.override.state === 'DOWN' ? 'DRAINED' : 'PINNED UP'}</span> <span class="reason">${esc(t.override.reason)}</span> <span class="muted">by ${esc(t.override.source)}${t.override.expiresAt ? `, until ${time(Date.parse(t.override.expiresAt), now, 'abs')}` : ', no expiry'}</span>`
    : '<span class="muted">none</span>';
  const probes = t.history.slice(0, PROBES_SHOWN);
  return `<tr data-target="${esc(t.id)}">
<th scope="row" data-label="target"><span class="role">${esc(t.role)}</span> <span class="addr">${esc(t.address)}</span>${t.answered ? ' <span class="badge b-answer">ANSWERING</span>' : ''}<br><span class="muted id">${esc(t.id)}${rs.policy === 'weighted' ? ` · weight ${esc(t.weight)}` : ''}</span></th>
<td data-label="real">${health(t.real.health)} ${t.real.since ? `<span class="muted">since ${time(Date.parse(t.real.since), now)}</span>` : ''}</td>
<td data-label="effective">${health(t.effective.health)}${t.effective.overridden ? ' <span class="muted">(override)</span>' : ''}</td>
<td data-label="override" class="override">${override}</td>
<td data-label="last probes"><ol class="probes">${probes.length ? probes.map((p) => `<li>${p.ok ? '<span class="p-ok">ok</span>' : '<span class="p-fail">FAIL</span>'} ${esc(p.reason)} <span class="lat">${esc(p.latencyMs)} ms</span> ${p.at ? time(Date.parse(p.at), now) : ''}</li>`).join('') : '<li class="muted">not probed yet</li>'}</ol></td>
<td data-label="last hour">${strip(cells, totals, t.real.health as Health)}</td>
</tr>`;
}

/** A duration as the strip's words say it: seconds under two minutes, else minutes (one decimal under ten). */
export function duration(ms: number): string {
  const s = ms / 1000;
  if (s < 120) return `${Math.round(s)} s`;
  const min = s / 60;
  return `${min < 10 ? Math.round(min * 10) / 10 : Math.round(min)} min`;
}

function strip(cells: StripCell[], totals: { health: Record<Health, number>; drainedMs: number }, current: Health): string {
  let fails = 0;
  let probes = 0;
  for (const cell of cells) {
    fails += cell.fail;
    probes += cell.ok + cell.fail;
  }
  // Real durations (a 90 s drain is "90 s"), not the minutes the cells touch.
  const parts = (['UP', 'DOWN', 'UNKNOWN'] as const).filter((h) => totals.health[h] >= 1000 || h === current).map((h) => `${h} ${duration(totals.health[h])}`);
  const text = `${parts.join(', ') || 'no data'}; ${probes} probe${probes === 1 ? '' : 's'}, ${fails} failed${totals.drainedMs >= 1000 ? `; drained ${duration(totals.drainedMs)}` : ''}`;
  // Runs of alike minutes are one element (class gN: N minutes wide), so a quiet hour is a few elements, not 60.
  const hhmm = (ms: number) => new Date(ms).toISOString().slice(11, 16);
  const kind = (cell: StripCell) => `c-${cell.health}${cell.overridden ? ` c-o${cell.overridden}` : ''}${cell.fail ? ' c-f' : ''}`;
  const runs: Array<{ first: StripCell; last: StripCell; n: number; ok: number; fail: number }> = [];
  for (const cell of cells) {
    const run = runs[runs.length - 1];
    if (run && kind(run.first) === kind(cell)) Object.assign(run, { last: cell, n: run.n + 1, ok: run.ok + cell.ok, fail: run.fail + cell.fail });
    else runs.push({ first: cell, last: cell, n: 1, ok: cell.ok, fail: cell.fail });
  }
  const span = (r: (typeof runs)[number]) => {
    const c = r.first;
    const when = r.n === 1 ? hhmm(c.start) : `${hhmm(c.start)}–${hhmm(r.last.start + STRIP_CELL_MS)}`;
    const label = `${when} UTC: ${c.health === 'none' ? 'not running' : c.health}${c.overridden ? ` (${c.overridden === 'DOWN' ? 'drained' : 'pinned UP'})` : ''}, ${r.ok} ok, ${r.fail} failed`;
    return `<span class="c ${kind(c)} g${r.n}" title="${esc(label)}"></span>`;
  };
  // The words grow with time (durations): data-volatile keeps them out of what the event stream compares (live-updates.ts).
  return `<div class="strip-wrap"><div class="strip" role="img" aria-label="last ${HISTORY_WINDOW_MS / 60_000} minutes, oldest first (summed up beside)">${runs.map(span).join('')}</div><span class="strip-text" data-volatile>${esc(text)}</span></div>`;
}

function timeline(d: AdminDeps): string {
  const now = d.now();
  const entries = [
    ...d.transitions(TIMELINE_ENTRIES).map((t) => ({ at: t.at, html: `<span class="badge b-transition">TRANSITION</span> <strong>${esc(t.recordSet)}</strong>: ${esc(t.from)} → ${esc(t.to)} <span class="reason">${esc(t.reason)}</span>` })),
    ...d.history.overrides(TIMELINE_ENTRIES).map((o) => ({
      at: o.at,
      html: `<span class="badge ${o.state === 'DOWN' ? 'b-drain' : 'b-pin'}">${o.state === 'DOWN' ? 'DRAIN' : 'PIN UP'} ${o.action.toUpperCase()}</span> <strong>${esc(o.target)}</strong> by ${esc(o.source)}: <span class="reason">${esc(o.reason)}</span>${o.action === 'set' && o.expiresAt ? ` <span class="muted">until ${time(o.expiresAt, now, 'abs')}</span>` : ''}`,
    })),
  ]
    .sort((a, b) => b.at - a.at)
    .slice(0, TIMELINE_ENTRIES);
  return `<section class="timeline" data-part="timeline" aria-label="Timeline">
<h2>Timeline <span class="muted">(transitions and overrides, newest first)</span></h2>
${entries.length ? `<ol class="events">${entries.map((e) => `<li>${time(e.at, now, 'abs')} ${e.html}</li>`).join('\n')}</ol>` : '<p class="muted">No transitions or overrides since the daemon started.</p>'}
</section>`;
}

function route53(d: AdminDeps): string {
  const r = d.route53();
  const now = d.now();
  if (!r) return '<section class="route53" data-part="route53" aria-label="Route 53"><h2>Route 53</h2><p class="muted">Not configured.</p></section>';
  const err = r.lastError;
  return `<section class="route53" data-part="route53" aria-label="Route 53">
<h2>Route 53 ${r.inSync ? '<span class="badge b-ok">IN SYNC</span>' : '<span class="badge b-degraded">OUT OF SYNC</span>'}</h2>
<dl class="facts">
<div><dt>mode</dt><dd>${esc(r.mode)}</dd></div>
<div><dt>pending changes</dt><dd>${esc(r.pendingChanges)}</dd></div>
<div><dt>last applied</dt><dd>${r.lastAppliedAt ? time(Date.parse(r.lastAppliedAt), now) : 'never'}</dd></div>
<div><dt>health checks owned</dt><dd>${esc(r.healthChecksOwned)}</dd></div>
<div class="why"><dt>last error</dt><dd>${err ? `<span class="badge b-alldown">ERROR</span> ${esc(err.code)}: <span class="reason">${esc(err.message)}</span> ${time(Date.parse(err.at), now)}` : 'none'}</dd></div>
</dl>
</section>`;
}

/** The RFC 2136 sink, one row per server and zone it writes to (an empty hidden section when not configured: a patch has where to go after a reload adds it). */
function rfc2136(d: AdminDeps): string {
  const r = d.rfc2136?.();
  if (!r) return '<section class="rfc2136" data-part="rfc2136" aria-label="RFC 2136" hidden></section>';
  const now = d.now();
  const state = (t: (typeof r.targets)[number]) =>
    t.inSync ? '<span class="badge b-ok">IN SYNC</span>' : `<span class="badge ${t.lastError ? 'b-alldown' : 'b-degraded'}">OUT OF SYNC</span>`;
  const error = (t: (typeof r.targets)[number]) => {
    const e = t.lastError;
    if (!e) return '<span class="muted">none</span>';
    return `${esc(e.rcode)} (${esc(e.code)}): <span class="reason">${esc(e.message)}</span> ${time(Date.parse(e.at), now)}${t.nextRetryAt ? `, retry ${time(Date.parse(t.nextRetryAt), now)}` : ''}`;
  };
  const refused = (t: (typeof r.targets)[number]) =>
    t.refused.length ? t.refused.map((x) => `${esc(x.name)} ${esc(x.type)} <span class="reason">${esc(x.kind)}</span>`).join('<br>') : '<span class="muted">none</span>';
  return `<section class="rfc2136" data-part="rfc2136" aria-label="RFC 2136">
<h2>RFC 2136 UPDATE ${r.inSync ? '<span class="badge b-ok">IN SYNC</span>' : '<span class="badge b-degraded">OUT OF SYNC</span>'} <span class="muted">(owner ${esc(r.ownerId)}${r.dryRun ? ', dry run' : ''})</span></h2>
<div class="table-wrap"><table>
<thead><tr><th scope="col">server</th><th scope="col">zone</th><th scope="col">state</th><th scope="col">last answer</th><th scope="col">serial</th><th scope="col">pending</th><th scope="col">last applied</th><th scope="col">refused</th><th scope="col">last error</th></tr></thead>
<tbody>
${r.targets.map((t) => `<tr><th scope="row" data-label="server">${esc(t.server)}</th><td data-label="zone">${esc(t.zone)} <span class="muted">(${esc(t.mode)})</span></td><td data-label="state">${state(t)}</td><td data-label="last answer">${t.lastRcode ? esc(t.lastRcode) : '<span class="muted">no UPDATE yet</span>'}</td><td data-label="serial">${t.serial === null ? '<span class="muted">not read</span>' : esc(t.serial)}</td><td data-label="pending">${esc(t.pendingChanges)}</td><td data-label="last applied">${t.lastAppliedAt ? time(Date.parse(t.lastAppliedAt), now) : 'never'}</td><td data-label="refused">${refused(t)}</td><td data-label="last error">${error(t)}</td></tr>`).join('\n')}
</tbody></table></div>
</section>`;
}

function secondaries(d: AdminDeps): string {
  const list = d.secondaries().map(secondaryView);
  const now = d.now();
  if (list.length === 0) return '<section class="secondaries" data-part="secondaries" aria-label="Secondaries"><h2>Secondaries (NOTIFY)</h2><p class="muted">None configured.</p></section>';
  const answer = (s: (typeof list)[number]) => {
    const l = s.lastNotify;
    if (!l) return '<span class="muted">no answer yet</span>';
    const word = { acknowledged: 'ACKNOWLEDGED', refused: 'REFUSED', unanswered: 'NO ANSWER', 'tsig-failed': 'BAD TSIG', 'send-error': 'SEND ERROR' }[l.outcome];
    return `<span class="badge ${l.outcome === 'acknowledged' ? 'b-ok' : 'b-alldown'}">${word}</span>${l.rcode ? ` ${esc(l.rcode)}` : ''} serial ${esc(l.serial)}, ${esc(l.attempts)} attempt${l.attempts === 1 ? '' : 's'}${l.ms !== undefined ? `, ${esc(l.ms)} ms` : ''}${l.error ? ` <span class="reason">${esc(l.error)}</span>` : ''} ${l.at ? time(Date.parse(l.at), now) : ''}`;
  };
  return `<section class="secondaries" data-part="secondaries" aria-label="Secondaries">
<h2>Secondaries (NOTIFY)</h2>
<div class="table-wrap"><table>
<thead><tr><th scope="col">secondary</th><th scope="col">zone</th><th scope="col">last answer</th><th scope="col">waiting</th></tr></thead>
<tbody>
${list.map((s) => `<tr><th scope="row" data-label="secondary">${esc(s.secondary)}</th><td data-label="zone">${esc(s.zone)}</td><td data-label="last answer">${answer(s)}</td><td data-label="waiting">${s.waiting ? `serial ${esc(s.waiting.serial)}, attempt ${esc(s.waiting.attempt)}` : '<span class="muted">nothing</span>'}</td></tr>`).join('\n')}
</tbody></table></div>
</section>`;
}

function health(h: string): string {
  return `<span class="h h-${esc(h)}">${esc(h)}</span>`;
}

/** A time element: relative ("3s ago", kept fresh by the script) or absolute (HH:MM:SS UTC). */
function time(ms: number, now: number, kind: 'rel' | 'abs' = 'rel'): string {
  const at = iso(ms);
  if (!at) return '<span class="muted">unknown</span>';
  return `<time class="${kind}" datetime="${at}" title="${at}">${kind === 'rel' ? ago(ms, now) : `${at.slice(11, 19)} UTC`}</time>`;
}
