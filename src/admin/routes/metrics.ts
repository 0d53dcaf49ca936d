/** GET /metrics: Prometheus text format, written one metric at a time (Metrics.chunks), so a big scrape lets DNS answers through between them. */
import type { AdminDeps } from '../deps.ts';
import type { Route } from '../router.ts';

export function metricsRoutes(d: AdminDeps): Route[] {
  return [
    {
      method: 'GET',
      path: '/metrics',
      handler: async ({ res }) => {
        res.writeHead(200, { 'content-type': d.metrics.registry.contentType, 'cache-control': 'no-store' });
        for await (const chunk of d.metrics.chunks()) {
          if (res.destroyed) return;
          if (!res.write(chunk)) await new Promise<void>((r) => (res.once('drain', r), res.once('close', r)));
        }
        res.end();
      },
    },
  ];
}
