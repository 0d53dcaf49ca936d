/** POST /v1/records/{name}/failback[?type=A]: the failback command for `failback: manual` (works in every mode). */
import { recordSetKey } from '../../failover/describe.ts';
import { canonicalName } from '../../dns-model/names.ts';
import type { AdminDeps } from '../deps.ts';
import { ApiError, readBody, sendJson, stateWriteFailed } from '../http.ts';
import type { Route } from '../router.ts';
import { iso } from '../views.ts';

export function recordRoutes(d: AdminDeps): Route[] {
  return [
    {
      method: 'POST',
      path: '/v1/records/:name/failback',
      mutation: true,
      handler: async ({ req, res, params, query }) => {
        await readBody(req);
        const name = canonicalName(params.name!);
        const type = query.get('type')?.toUpperCase();
        const c = d.controller();
        const sets = c.config.records.filter((r) => r.name === name && r.policy === 'failover' && (!type || r.type === type));
        if (sets.length === 0) {
          const any = c.config.records.some((r) => r.name === name);
          throw new ApiError(404, 'NOT_FOUND', any ? `${name}${type ? `/${type}` : ''} has no record set with policy failover` : `no record set named ${name}`);
        }
        const results = await Promise.all(sets.map(async (rs) => ({ recordSet: recordSetKey(rs), ...(await d.failback(recordSetKey(rs))) })));
        const moved = results.filter((r) => r.kind === 'moved');
        if (moved.length === 0 && results.some((r) => r.kind === 'refused')) {
          throw new ApiError(409, 'FAILBACK_NOT_POSSIBLE', results.map((r) => `${r.recordSet}: ${'reason' in r ? r.reason : ''}`).join('; '));
        }
        if (moved.length) {
          const saved = await d.persistNow();
          if (!saved.ok) {
            const what = moved.map((r) => `${r.recordSet} now answers ${r.kind === 'moved' ? r.transition.to : ''}`).join('; ');
            throw stateWriteFailed(saved.err, `the failback is served (${what}) but not on disk: a restart would go back to the held answer; repeat the failback once the state file can be written`, false);
          }
        }
        sendJson(res, 200, {
          results: results.map((r) =>
            r.kind === 'moved'
              ? { recordSet: r.recordSet, changed: true, from: r.transition.from, to: r.transition.to, reason: r.transition.reason, at: iso(r.transition.at) }
              : { recordSet: r.recordSet, changed: false, ...(r.kind === 'requested' ? { requested: true } : {}), reason: r.reason },
          ),
        });
      },
    },
  ];
}
