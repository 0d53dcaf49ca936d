/** GET /healthz (the process is alive) and GET /readyz (zones loaded, first probe round done). */
import type { AdminDeps } from '../deps.ts';
import { ApiError, sendJson } from '../http.ts';
import type { Route } from '../router.ts';

export function probeRoutes(d: AdminDeps): Route[] {
  return [
    { method: 'GET', path: '/healthz', handler: ({ res }) => sendJson(res, 200, { status: 'ok' }) },
    {
      method: 'GET',
      path: '/readyz',
      handler: ({ res }) => {
        const r = d.readiness();
        if (!r.ready) throw new ApiError(503, 'NOT_READY', r.reason ?? 'not ready');
        sendJson(res, 200, { status: 'ready' });
      },
    },
  ];
}
