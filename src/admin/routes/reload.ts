/**
 * POST /v1/reload: re-read config and zones; a bad config is refused (422)
 * with every problem and the old one keeps serving. The reply names every
 * changed key that waits for a restart (needsRestart, and as text in warnings).
 */
import { formatProblem } from '../../errors.ts';
import type { AdminDeps } from '../deps.ts';
import { ApiError, readBody, sendJson } from '../http.ts';
import type { Route } from '../router.ts';

export function reloadRoutes(d: AdminDeps): Route[] {
  return [
    {
      method: 'POST',
      path: '/v1/reload',
      mutation: true,
      scope: 'admin',
      handler: async ({ req, res }) => {
        await readBody(req);
        const r = await d.reload();
        if (!r.ok) throw new ApiError(422, 'CONFIG_INVALID', `config refused, still serving the previous one: ${r.problems.length} problem${r.problems.length === 1 ? '' : 's'}`, r.problems.map((p) => ({ ...p, text: formatProblem(p) })));
        sendJson(res, 200, { reloaded: true, ...r.summary, needsRestart: r.needsRestart, warnings: r.warnings });
      },
    },
  ];
}
