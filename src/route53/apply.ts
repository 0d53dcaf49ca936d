/**
 * Apply a Plan: health checks first (created and tagged, or flipped), then
 * the record changes in batches; a rejected batch is retried one group at a
 * time so one bad change cannot block the others; then GetChange is polled
 * until INSYNC (bounded) and health checks nobody references are deleted.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from '../log.ts';
import { silentLogger } from '../log.ts';
import type { Clock } from '../clock.ts';
import { FailoverdError } from '../errors.ts';
import { batchChanges, groupChanges, type BatchLimits } from './batch.ts';
import { Route53Error, toRoute53Error } from './errors.ts';
import { callerReferencePrefix, describeGeoLocation, HEALTH_CHECK_TAG_OWNER, HEALTH_CHECK_TAG_RECORD, type R53Change } from './model.ts';
import { NEW_HC_PREFIX, type Plan, type PlanChange } from './plan.ts';
import type { Route53Port } from './port.ts';
import { sleep } from './rate-limit.ts';

export interface ApplyOptions {
  clock: Clock;
  logger?: Logger;
  /** Poll GetChange until INSYNC before returning (health check deletes always wait). */
  waitInsync?: boolean;
  insyncTimeoutMs?: number;
  /** First GetChange poll delay; doubles up to maxPollMs. */
  pollMs?: number;
  maxPollMs?: number;
  limits?: BatchLimits;
  /** Called once per accepted ChangeResourceRecordSets or health check flip, with the time it returned. */
  onSubmitted?: (at: number) => void;
}

export interface SubmittedChange {
  changeId: string;
  groups: string[];
  changes: number;
  submittedAt: number;
  status: 'PENDING' | 'INSYNC' | 'TIMEOUT';
  insyncAt?: number;
  insyncMs?: number;
}

export interface RejectedGroup {
  group: string;
  changes: { action: string; name: string; type: string; setIdentifier?: string }[];
  awsCode: string;
  message: string;
}

export interface ApplyResult {
  submitted: SubmittedChange[];
  rejected: RejectedGroup[];
  healthChecks: {
    created: { record: string; id: string }[];
    updated: { record?: string; id: string; inverted: boolean }[];
    deleted: string[];
    failed: { ref: string; message: string }[];
  };
}

export function emptyApplyResult(): ApplyResult {
  return { submitted: [], rejected: [], healthChecks: { created: [], updated: [], deleted: [], failed: [] } };
}

export async function applyPlan(plan: Plan, port: Route53Port, opts: ApplyOptions): Promise<ApplyResult> {
  const clock = opts.clock;
  const log = opts.logger ?? silentLogger;
  const result = emptyApplyResult();
  if (plan.guard.blocked) throw new FailoverdError('PLAN_UNSAFE', `plan refused by the guard: ${plan.guard.reason}`);

  // 1. Health checks to create (tagged at once) and to flip.
  const newIds = new Map<string, string>();
  const failedRefs = new Map<string, string>();
  for (const h of plan.healthChecks) {
    if (h.action === 'CREATE') {
      try {
        const created = await port.createHealthCheck({
          callerReference: callerReferencePrefix(plan.ownerId) + randomUUID(),
          inverted: !!h.inverted,
          disabled: h.disabled ?? true,
        });
        await port.addHealthCheckTags(created.id, {
          Name: `failoverd ${h.record}`,
          [HEALTH_CHECK_TAG_OWNER]: plan.ownerId,
          [HEALTH_CHECK_TAG_RECORD]: h.record ?? '',
        });
        newIds.set(h.ref, created.id);
        result.healthChecks.created.push({ record: h.record ?? '', id: created.id });
        log.info({ record: h.record, healthCheckId: created.id, inverted: !!h.inverted }, 'route53 health check created');
      } catch (err) {
        const e = toRoute53Error(err, 1);
        if (e.code !== 'ROUTE53_REJECTED') throw e;
        failedRefs.set(h.ref, e.message);
        result.healthChecks.failed.push({ ref: h.ref, message: e.message });
        log.error({ record: h.record, err: e.message }, 'route53 health check could not be created');
      }
    } else if (h.action === 'UPDATE') {
      try {
        await port.updateHealthCheck(h.ref, { inverted: !!h.inverted, disabled: h.disabled ?? true });
        opts.onSubmitted?.(clock.now());
        result.healthChecks.updated.push({ ...(h.record ? { record: h.record } : {}), id: h.ref, inverted: !!h.inverted });
        log.info({ record: h.record, healthCheckId: h.ref, inverted: !!h.inverted, why: h.why }, 'route53 health check updated');
      } catch (err) {
        const e = toRoute53Error(err, 1);
        if (e.code !== 'ROUTE53_REJECTED') throw e;
        result.healthChecks.failed.push({ ref: h.ref, message: e.message });
        log.error({ record: h.record, healthCheckId: h.ref, err: e.message }, 'route53 health check could not be updated');
      }
    }
  }

  // 2. Record changes, with new health check ids filled in.
  const runnable: PlanChange[] = [];
  for (const g of groupChanges(plan.changes)) {
    const missing = g.map((c) => c.recordSet.healthCheckId).find((id) => id?.startsWith(NEW_HC_PREFIX) && !newIds.has(id));
    if (missing) {
      result.rejected.push(rejectedGroup(g, 'HealthCheckNotCreated', failedRefs.get(missing) ?? `health check ${missing} was not created`));
      continue;
    }
    for (const c of g) {
      const id = c.recordSet.healthCheckId;
      runnable.push(id && newIds.has(id) ? { ...c, recordSet: { ...c.recordSet, healthCheckId: newIds.get(id)! } } : c);
    }
  }
  for (const batch of batchChanges(runnable, opts.limits)) {
    await submitBatch(plan, port, batch, result, clock, log, opts);
  }

  // 3. INSYNC, then health checks nobody references any more.
  const deletes = plan.healthChecks.filter((h) => h.action === 'DELETE');
  if (opts.waitInsync || deletes.length) {
    await waitInsync(port, result.submitted, { clock, timeoutMs: opts.insyncTimeoutMs ?? 300_000, pollMs: opts.pollMs ?? 1000, maxPollMs: opts.maxPollMs ?? 10_000, log });
  }
  const rejectedGroups = new Set(result.rejected.map((r) => r.group));
  for (const h of deletes) {
    const blocked = plan.changes.some((c) => rejectedGroups.has(c.group) && c.recordSet.healthCheckId === h.ref);
    if (blocked) continue;
    try {
      await port.deleteHealthCheck(h.ref);
      result.healthChecks.deleted.push(h.ref);
      log.info({ record: h.record, healthCheckId: h.ref, why: h.why }, 'route53 health check deleted');
    } catch (err) {
      const e = toRoute53Error(err, 1);
      if (e.awsCode === 'NoSuchHealthCheck') {
        result.healthChecks.deleted.push(h.ref);
        continue;
      }
      if (e.code !== 'ROUTE53_REJECTED') throw e;
      result.healthChecks.failed.push({ ref: h.ref, message: e.message });
      log.warn({ record: h.record, healthCheckId: h.ref, err: e.message }, 'route53 health check could not be deleted; will retry at the next reconcile');
    }
  }
  return result;
}

function rejectedGroup(g: PlanChange[], awsCode: string, message: string): RejectedGroup {
  return {
    group: g[0]!.group,
    changes: g.map((c) => ({ action: c.action, name: c.recordSet.name, type: c.recordSet.type, ...(c.recordSet.setIdentifier ? { setIdentifier: c.recordSet.setIdentifier } : {}) })),
    awsCode,
    message,
  };
}

function toChanges(batch: PlanChange[]): R53Change[] {
  return batch.map((c) => ({ action: c.action, recordSet: c.recordSet }));
}

function isBatchRejection(e: Route53Error): boolean {
  // InvalidChangeBatch, InvalidInput, NoSuchHealthCheck, ...: anything Route 53 refuses as a bad request.
  return e.code === 'ROUTE53_REJECTED' && (e.httpStatus === 400 || e.awsCode === 'InvalidChangeBatch' || e.awsCode === 'InvalidInput');
}

async function submitBatch(plan: Plan, port: Route53Port, batch: PlanChange[], result: ApplyResult, clock: Clock, log: Logger, opts: ApplyOptions): Promise<void> {
  const groups = groupChanges(batch);
  try {
    const info = await port.changeRecordSets(plan.zoneId, toChanges(batch), `failoverd ${plan.ownerId}`);
    const at = clock.now();
    opts.onSubmitted?.(at);
    result.submitted.push({ changeId: info.id, groups: groups.map((g) => g[0]!.group), changes: batch.length, submittedAt: at, status: info.status, ...(info.status === 'INSYNC' ? { insyncAt: at, insyncMs: 0 } : {}) });
    for (const c of batch) log.info({ action: c.action, name: c.recordSet.name, type: c.recordSet.type, failover: c.recordSet.failover, ...(c.recordSet.geoLocation ? { geo: describeGeoLocation(c.recordSet.geoLocation) } : {}), values: c.recordSet.values, why: c.why, changeId: info.id }, 'route53 change submitted');
    return;
  } catch (err) {
    const e = toRoute53Error(err, 1);
    if (!isBatchRejection(e)) throw e;
    if (groups.length === 1) {
      result.rejected.push(rejectedGroup(groups[0]!, e.awsCode, e.message));
      log.error({ group: groups[0]![0]!.group, awsCode: e.awsCode, err: e.message }, 'route53 rejected a change');
      return;
    }
    log.warn({ groups: groups.length, awsCode: e.awsCode, err: e.message }, 'route53 rejected a batch; retrying each record set alone');
  }
  for (const g of groups) await submitBatch(plan, port, g, result, clock, log, opts);
}

export async function waitInsync(
  port: Route53Port,
  submitted: SubmittedChange[],
  o: { clock: Clock; timeoutMs: number; pollMs: number; maxPollMs: number; log?: Logger; cancelled?: () => boolean },
): Promise<void> {
  const start = o.clock.now();
  let delay = o.pollMs;
  for (;;) {
    const pending = submitted.filter((s) => s.status === 'PENDING');
    if (!pending.length || o.cancelled?.()) return;
    if (o.clock.now() - start >= o.timeoutMs) {
      for (const s of pending) s.status = 'TIMEOUT';
      o.log?.warn({ changeIds: pending.map((s) => s.changeId), timeoutMs: o.timeoutMs }, 'route53 changes not INSYNC in time');
      return;
    }
    await sleep(o.clock, Math.min(delay, Math.max(0, o.timeoutMs - (o.clock.now() - start))));
    delay = Math.min(o.maxPollMs, delay * 2);
    if (o.cancelled?.()) return;
    for (const s of pending) {
      const info = await port.getChange(s.changeId);
      if (info.status === 'INSYNC') {
        s.status = 'INSYNC';
        s.insyncAt = o.clock.now();
        s.insyncMs = s.insyncAt - s.submittedAt;
        o.log?.info({ changeId: s.changeId, insyncMs: s.insyncMs }, 'route53 change INSYNC');
      }
    }
  }
}
