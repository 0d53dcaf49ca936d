/**
 * GET /healthz (the process is alive) and GET /readyz (zones loaded, first
 * probe round done). In a cluster /readyz stays "can answer": an instance
 * whose decisions are not current still answers the last ones (taking it
 * out of rotation would leave no answer at all when etcd is down for every
 * instance); the 200 body says `clusterCurrent`, and status, the
 * failoverd_cluster_current metric and the FailoverdClusterDecisionsStale
 * alert say it loudly (docs/cluster.md).
 */
import type { AdminDeps } from '../deps.ts';
import { ApiError, sendJson } from '../http.ts';
import type { Route } from '../router.ts';

export function probeRoutes(d: AdminDeps): Route[] {
  return [
    { method: 'GET', path: '/healthz', scope: 'open', handler: ({ res }) => sendJson(res, 200, { status: 'ok' }) },
    {
      method: 'GET',
      path: '/readyz',
      scope: 'open',
      handler: ({ res }) => {
        const r = d.readiness();
        if (!r.ready) throw new ApiError(503, 'NOT_READY', r.reason ?? 'not ready');
        const c = d.cluster?.();
        sendJson(res, 200, c ? { status: 'ready', clusterCurrent: c.current } : { status: 'ready' });
      },
    },
  ];
}
