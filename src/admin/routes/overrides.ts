/** POST /v1/targets/{id}/override {state, reason, expires?} and DELETE of it. */
import { z } from 'zod';
import { parseDuration } from '../../config/duration.ts';
import { describeAnswer } from '../../failover/describe.ts';
import type { AdminDeps } from '../deps.ts';
import { ApiError, readJson, sendJson, stateWriteFailed } from '../http.ts';
import type { Route } from '../router.ts';
import { iso } from '../views.ts';

/** The longest override expiry accepted: one year. */
const MAX_EXPIRY_MS = 366 * 24 * 3_600_000;

export const overrideBody = z.strictObject({
  state: z
    .string()
    .transform((s) => s.toUpperCase())
    .pipe(z.enum(['UP', 'DOWN'], { error: 'state must be "up" (pin) or "down" (drain)' })),
  reason: z.string().trim().min(1, 'reason is required: say why (it is shown in status, logs and notifications)').max(500),
  /** A duration from now ("30m", "2h") or an ISO 8601 time. */
  expires: z.string().min(1).optional(),
});

export function resolveExpiry(expires: string | undefined, now: number): number | undefined {
  if (expires === undefined) return undefined;
  const ms = parseDuration(expires);
  let at: number;
  if (ms !== undefined) at = now + ms;
  else if (/^\d{4}-\d{2}-\d{2}T/.test(expires) && !Number.isNaN(Date.parse(expires))) at = Date.parse(expires);
  else throw new ApiError(400, 'BAD_REQUEST', `expires: ${JSON.stringify(expires)} is neither a duration (30m, 2h) nor an ISO 8601 time`);
  if (at <= now) throw new ApiError(400, 'BAD_REQUEST', 'expires: must be in the future');
  if (at - now > MAX_EXPIRY_MS) throw new ApiError(400, 'BAD_REQUEST', 'expires: at most one year ahead (omit it for an override without expiry)');
  return at;
}

export function overrideRoutes(d: AdminDeps): Route[] {
  const known = (id: string) => {
    const c = d.controller();
    const found = c.findTarget(id);
    if (!found) {
      const ids = c.config.records.flatMap((r) => r.targets.map((t) => t.id));
      throw new ApiError(404, 'UNKNOWN_TARGET', `no target ${JSON.stringify(id)}; targets: ${ids.slice(0, 20).join(', ')}${ids.length > 20 ? ', ...' : ''}`);
    }
    return found;
  };
  return [
    {
      method: 'POST',
      path: '/v1/targets/:id+/override',
      mutation: true,
      handler: async ({ req, res, params }) => {
        known(params.id!);
        const gap = d.targetUnknownToLeader?.(params.id!);
        if (gap) {
          throw new ApiError(
            409,
            'TARGET_UNKNOWN_TO_LEADER',
            `the cluster's leader ${gap.leader} does not know target ${params.id} (its config has other record sets): an override would be applied nowhere. Instances whose config has it: ${gap.knownBy.join(', ')}. Give every instance the same records, or drain it once the leader's config has it`,
          );
        }
        const body = await readJson(req, overrideBody);
        const now = d.now();
        const expiresAt = resolveExpiry(body.expires, now);
        const c = d.controller();
        const before = c.overrides.get(params.id!);
        const o = c.setOverride(params.id!, { state: body.state, reason: body.reason, source: 'api', createdAt: now, ...(expiresAt !== undefined ? { expiresAt } : {}) });
        const saved = await d.persistNow();
        if (!saved.ok) {
          // Not on disk: undone, so a restart cannot bring back what the API refused.
          if (c.overrides.get(params.id!) === o) {
            if (before) c.setOverride(params.id!, before);
            else c.clearOverride(params.id!);
          }
          throw stateWriteFailed(saved.err, `the override of ${params.id} is undone (${before ? 'its previous override is back' : 'it has none'})`);
        }
        const found = c.findTarget(params.id!)!;
        const rs = c.answers().find((a) => a.config === found.recordSet);
        sendJson(res, 200, {
          target: params.id,
          override: { state: o.state, reason: o.reason, source: o.source, createdAt: iso(o.createdAt), expiresAt: iso(o.expiresAt) },
          effective: c.effectiveOf(found.target).health,
          real: c.tracker(found.target.probeKey)?.health ?? 'UNKNOWN',
          recordSet: rs ? { key: `${rs.config.name}/${rs.config.type}`, answer: describeAnswer(rs.config, rs.state.answer), reason: rs.state.reason } : undefined,
          ...(rs?.state.allDown
            ? { warning: `every target of ${rs.config.name}/${rs.config.type} is now DOWN: whenAllDown (${rs.config.whenAllDown}) decides the answer (${describeAnswer(rs.config, rs.state.answer)})` }
            : {}),
        });
      },
    },
    {
      method: 'DELETE',
      path: '/v1/targets/:id+/override',
      mutation: true,
      handler: async ({ res, params }) => {
        const { target } = known(params.id!);
        const c = d.controller();
        const removed = c.clearOverride(params.id!);
        if (!removed) throw new ApiError(404, 'NO_OVERRIDE', `target ${params.id} has no override`);
        const saved = await d.persistNow();
        if (!saved.ok) {
          if (!c.overrides.get(params.id!)) c.setOverride(params.id!, removed);
          throw stateWriteFailed(saved.err, `the override of ${params.id} stays`);
        }
        sendJson(res, 200, { target: params.id, removed: { state: removed.state, reason: removed.reason, source: removed.source }, effective: c.effectiveOf(target).health });
      },
    },
  ];
}
