/**
 * The status page: GET / (the whole page), GET /ui/live (its live part),
 * GET /ui/events (Server-Sent Events: the live part, then what changes in
 * it), each for the view its query asks for (?state=, ?name=, ?page=,
 * ?limit=: listing.ts), and the page's
 * script and style from src/admin/page/assets/. Read-only and open like
 * every GET; `admin.statusPage: false` answers 404 on all of them.
 */
import { readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import type { AdminDeps } from '../deps.ts';
import { ApiError } from '../http.ts';
import { LiveUpdates } from '../page/live-updates.ts';
import { parsePageQuery } from '../page/listing.ts';
import { ASSET_PATHS, liveHtml, renderLive, renderPage, renderParts } from '../page/render.ts';
import type { Route } from '../router.ts';
import { collectInSlices } from '../slices.ts';

/** Nothing but this listener: no inline script or style, no frames, no forms. */
export const PAGE_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const SECURITY_HEADERS = { 'content-security-policy': PAGE_CSP, 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer', 'x-frame-options': 'DENY', 'cache-control': 'no-store' };

const asset = (name: string) => readFileSync(new URL(`../page/assets/${name}`, import.meta.url));
const ASSETS = {
  script: { body: asset('status-page.js'), type: 'text/javascript; charset=utf-8' },
  style: { body: asset('status-page.css'), type: 'text/css; charset=utf-8' },
  icon: { body: asset('favicon.svg'), type: 'image/svg+xml' },
};

function send(res: ServerResponse, type: string, body: string | Buffer): void {
  res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

export function pageRoutes(d: AdminDeps, enabled: () => boolean): { routes: Route[]; live: LiveUpdates } {
  // The decisions are read in slices (10,000 take ~70 ms), the query checked first.
  const view = async (query: URLSearchParams) => {
    const q = parsePageQuery(query);
    return { q, decisions: await collectInSlices(d.eachDecision()) };
  };
  const live = new LiveUpdates({
    clock: d.clock,
    render: async (query) => {
      const { q, decisions } = await view(query);
      return renderParts(d, q, decisions);
    },
    html: liveHtml,
    subscribe: (fn) => d.history.subscribe(fn),
  });
  const on = () => {
    if (!enabled()) throw new ApiError(404, 'NOT_FOUND', 'the status page is off (admin.statusPage: false); the JSON API is at /v1/status');
  };
  const routes: Route[] = [
    { method: 'GET', path: '/', handler: async ({ res, query }) => (on(), await view(query).then(({ q, decisions }) => send(res, 'text/html; charset=utf-8', renderPage(d, q, decisions)))) },
    { method: 'GET', path: '/ui/live', handler: async ({ res, query }) => (on(), await view(query).then(({ q, decisions }) => send(res, 'text/html; charset=utf-8', renderLive(d, q, decisions)))) },
    { method: 'GET', path: '/ui/events', handler: async ({ req, res, query }) => (on(), await live.stream(req, res, query)) },
    { method: 'GET', path: ASSET_PATHS.script, handler: ({ res }) => (on(), send(res, ASSETS.script.type, ASSETS.script.body)) },
    { method: 'GET', path: ASSET_PATHS.style, handler: ({ res }) => (on(), send(res, ASSETS.style.type, ASSETS.style.body)) },
    { method: 'GET', path: ASSET_PATHS.icon, handler: ({ res }) => (on(), send(res, ASSETS.icon.type, ASSETS.icon.body)) },
  ];
  return { routes, live };
}
