/** GET /metrics: Prometheus text format. */
import type { AdminDeps } from '../deps.ts';
import type { Route } from '../router.ts';

export function metricsRoutes(d: AdminDeps): Route[] {
  return [
    {
      method: 'GET',
      path: '/metrics',
      handler: async ({ res }) => {
        const text = await d.metrics.text();
        res.writeHead(200, { 'content-type': d.metrics.registry.contentType, 'cache-control': 'no-store' });
        res.end(text);
      },
    },
  ];
}
