/** GET /v1/status, GET /v1/explain?name=&type=, GET /v1/transitions?limit=. */

import type { ClusterStatus } from '../../cluster/cluster-node.ts';
import type { LeaderDutiesView } from '../../leader-duties.ts';
import type { WorkerPoolHealth } from '../../dns/worker-pool.ts';
import { recordSetKey } from '../../failover/describe.ts';
import { canonicalName } from '../../dns-model/names.ts';
import { findZone } from '../../records/snapshot.ts';
import type { AdminDeps } from '../deps.ts';
import { ApiError, sendJson, sendJsonSlices } from '../http.ts';
import { collectInSlices } from '../slices.ts';
import { matches, parseFilter, stateOf, type RecordSetFilter } from '../record-set-filter.ts';
import type { Route } from '../router.ts';
import { explainClient } from '../../failover/topology-explain.ts';
import { explainParagraph, iso, noDecisionReason, recordSetView, secondaryView } from '../views.ts';

const TYPES = new Set(['A', 'AAAA', 'CNAME']);

/** The cluster section of /v1/status (null without a cluster: section), times as ISO strings. */
function clusterView(c: ClusterStatus | undefined): unknown {
  if (!c) return null;
  const { startedAt: _, lastDecision, vantagePoints, writeError, etcdWriteErrors, etcdAlarms, ...rest } = c;
  return {
    ...rest,
    lastDecision: lastDecision ? { ...lastDecision, decidedAt: iso(lastDecision.decidedAt), receivedAt: iso(lastDecision.receivedAt) } : null,
    writeError: writeError ? { ...writeError, since: iso(writeError.since), lastAt: iso(writeError.lastAt) } : null,
    etcdWriteErrors: etcdWriteErrors.map((e) => ({ ...e, since: iso(e.since), lastAt: iso(e.lastAt) })),
    etcdAlarms: etcdAlarms ? { raised: etcdAlarms.raised, readAt: iso(etcdAlarms.readAt) } : null,
    vantagePoints: vantagePoints.map((v) => ({ instance: v.instance, publishedAt: iso(v.publishedAt) })),
  };
}

/** The leader duties' section of /v1/status, times as ISO strings. */
function leaderDutiesView(v: LeaderDutiesView | undefined): unknown {
  if (!v) return null;
  return {
    leading: v.leading,
    duties: v.duties.map((x) => ({ ...x, since: iso(x.since), ...(x.error ? { error: { ...x.error, at: iso(x.error.at) } } : {}), ...(x.nextRetryAt !== undefined ? { nextRetryAt: iso(x.nextRetryAt) } : {}) })),
  };
}

/** ?state=, ?name=, ?limit=, ?cursor=: a page of the record sets (undefined: the whole document). */
function statusPage(q: URLSearchParams): (RecordSetFilter & { limit: number; cursor?: string }) | undefined {
  if (!['state', 'name', 'limit', 'cursor'].some((k) => q.has(k))) return undefined;
  const raw = q.get('limit');
  const limit = raw === null ? 100 : Number(raw);
  if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) throw new ApiError(400, 'BAD_REQUEST', 'limit must be an integer from 1 to 10000');
  return { ...parseFilter(q), limit, ...(q.get('cursor') ? { cursor: q.get('cursor')! } : {}) };
}

function* mapSlices<T, U>(items: Iterable<T>, f: (x: T) => U): Generator<U> {
  for (const x of items) yield f(x);
}

function* flatSlices<T, U>(items: Iterable<T>, f: (x: T) => U[]): Generator<U> {
  for (const x of items) yield* f(x);
}

export function statusRoutes(d: AdminDeps): Route[] {
  return [
    {
      method: 'GET',
      path: '/v1/status',
      handler: async ({ res, query }) => {
        const page = statusPage(query);
        const decisions = await collectInSlices(d.eachDecision());
        const c = d.controller();
        const byKey = new Map(decisions.map((x) => [x.key, x]));
        let sets = c.config.records;
        let paging: unknown;
        if (page) {
          const matched = sets.filter((rs) => {
            const key = recordSetKey(rs);
            return matches(page, key, stateOf(byKey.get(key)));
          });
          const start = page.cursor === undefined ? 0 : matched.findIndex((rs) => recordSetKey(rs) === page.cursor) + 1;
          if (page.cursor !== undefined && start === 0) throw new ApiError(400, 'BAD_REQUEST', `cursor ${JSON.stringify(page.cursor)} is no record set (any more): start again without it`);
          sets = matched.slice(start, start + page.limit);
          const last = sets.at(-1);
          paging = { matched: matched.length, total: c.config.records.length, limit: page.limit, next: start + page.limit < matched.length && last ? recordSetKey(last) : null };
        }
        const keys = new Set(sets.map((rs) => recordSetKey(rs)));
        const info = d.info();
        const head = {
          ready: d.readiness().ready,
          version: info.version,
          startedAt: iso(info.startedAt),
          state: { file: info.stateFile ?? null, restoreProblem: info.stateRestoreProblem ?? null },
          config: { file: info.configFile, loadedAt: iso(info.configLoadedAt), ...(info.lastReload ? { lastReload: { ...info.lastReload, at: iso(info.lastReload.at) } } : {}) },
          ...(paging ? { page: paging } : {}),
          zones: (d.snapshot()?.zones ?? []).map((z) => ({ origin: z.origin, serial: z.serial })),
        };
        const tail = {
          overrides: decisions.filter((x) => keys.has(x.key)).flatMap((x) => x.targets.flatMap(({ id, override: o }) => (o ? [{ target: id, state: o.state, reason: o.reason, source: o.source, createdAt: iso(o.createdAt), expiresAt: iso(o.expiresAt) }] : []))),
          maintenance: d.maintenance().map((m) => ({ ...m, until: iso(m.until), next: iso(m.next), lastRun: m.lastRun ? { ...m.lastRun, at: iso(m.lastRun.at) } : undefined })),
          route53: d.route53(),
          secondaries: d.secondaries().map(secondaryView),
          dnsWorkers: dnsWorkersView(d.dnsWorkers?.()),
          webhooks: (d.webhooks?.() ?? []).map((w) => ({ ...w, lastSentAt: iso(w.lastSentAt), lastFailure: w.lastFailure ? { ...w.lastFailure, at: iso(w.lastFailure.at) } : undefined })),
          cluster: clusterView(d.cluster?.()),
          leaderDuties: leaderDutiesView(d.leaderDuties?.()),
          rfc2136: d.rfc2136?.() ?? null,
        };
        // Built and written in slices, the event loop turning between them: at 10,000 record sets the whole document is tens of MB.
        const missing = noDecisionReason(d.cluster?.());
        const views = function* () {
          for (const rs of sets) yield recordSetView(rs, byKey.get(recordSetKey(rs)), d.probes, missing);
        };
        await sendJsonSlices(res, head, [
          ['recordSets', () => mapSlices(views(), ({ targets, ...rs }) => ({ ...rs, targets: targets.map((t) => t.id) }))],
          ['targets', () => flatSlices(views(), (rs) => rs.targets)],
        ], tail);
      },
    },
    {
      method: 'GET',
      path: '/v1/explain',
      handler: ({ res, query }) => {
        const rawName = query.get('name');
        if (!rawName) throw new ApiError(400, 'BAD_REQUEST', 'name is required: /v1/explain?name=www.example.test[&type=A]');
        const type = query.get('type')?.toUpperCase();
        if (type !== undefined && !TYPES.has(type)) throw new ApiError(400, 'BAD_REQUEST', `type must be A, AAAA or CNAME, not ${JSON.stringify(query.get('type'))}`);
        const name = canonicalName(rawName);
        const c = d.controller();
        const byKey = new Map(d.decisions().map((x) => [x.key, x]));
        const sets = c.config.records.filter((rs) => rs.name === name && (type === undefined || rs.type === type));
        if (sets.length === 0) {
          const zone = d.snapshot() ? findZone(d.snapshot()!, name) : undefined;
          const why = zone
            ? zone.nodes.has(name)
              ? `${name} is static data of zone ${zone.origin} (serial ${zone.serial}); failoverd does not manage it`
              : `${name} does not exist in zone ${zone.origin}: it answers NXDOMAIN`
            : `${name} is outside every zone failoverd serves: it answers REFUSED`;
          throw new ApiError(404, 'NOT_FOUND', `no record set ${name}${type ? `/${type}` : ''}: ${why}`);
        }
        const now = d.now();
        const client = query.get('client') ?? undefined;
        const explained = sets.map((rs) => {
          const decision = byKey.get(recordSetKey(rs));
          const missing = noDecisionReason(d.cluster?.());
          const base = { ...recordSetView(rs, decision, d.probes, missing), explanation: decision ? explainParagraph(rs, decision, d.probes, now) : `${recordSetKey(rs)} has no answer yet: ${missing}.` };
          if (client === undefined || !decision) return base;
          // ?client=ADDR: what that client is answered (policy topology), ahead of the record set's paragraph.
          const forClient = explainClient(rs, decision.state, client);
          if ('problem' in forClient) {
            if (rs.topology) throw new ApiError(400, 'BAD_REQUEST', `client: ${forClient.problem}`);
            return { ...base, explanation: `${forClient.problem}.\n${base.explanation}` };
          }
          return { ...base, client: forClient, explanation: `${forClient.explanation}\n${base.explanation}` };
        });
        sendJson(res, 200, { name, explanation: explained.map((e) => e.explanation).join('\n\n'), recordSets: explained });
      },
    },
    {
      method: 'GET',
      path: '/v1/transitions',
      handler: ({ res, query }) => {
        const raw = query.get('limit');
        const limit = raw === null ? 50 : Number(raw);
        if (!Number.isInteger(limit) || limit < 1 || limit > 500) throw new ApiError(400, 'BAD_REQUEST', 'limit must be an integer from 1 to 500');
        const recordSet = query.get('recordSet');
        const list = d.transitions().filter((t) => !recordSet || t.recordSet === recordSet).slice(0, limit);
        sendJson(res, 200, { transitions: list.map((t) => ({ ...t, at: iso(t.at) })) });
      },
    },
  ];
}

/** The DNS worker processes for /v1/status: null without workers. */
function dnsWorkersView(w: WorkerPoolHealth | undefined) {
  if (!w) return null;
  return { ...w, lastExit: w.lastExit ? { ...w.lastExit, at: iso(w.lastExit.at) } : undefined };
}
