/**
 * The narrow port over Route 53 that the sink uses. Every method is one API
 * request (pages are explicit), so a rate limiter and retries can wrap each
 * request uniformly (see guarded-port.ts).
 */
import type { R53Change, R53HealthCheck, R53RecordSet } from './model.ts';

export interface RecordSetPage {
  recordSets: R53RecordSet[];
  /** Where the next page starts; absent on the last page. */
  next?: { name: string; type: string; identifier?: string };
}

export interface ChangeInfo {
  /** Without the "/change/" prefix. */
  id: string;
  status: 'PENDING' | 'INSYNC';
  submittedAt?: Date;
}

export interface HealthCheckPage {
  healthChecks: R53HealthCheck[];
  nextMarker?: string;
}

export interface CreateHealthCheckSpec {
  /** Idempotency token: retrying with the same reference returns the same check. */
  callerReference: string;
  inverted: boolean;
  disabled: boolean;
}

export interface Route53Port {
  /** One page of ListResourceRecordSets, starting at `start` (Route 53 order). */
  listRecordSets(
    zoneId: string,
    opts?: { start?: { name: string; type?: string; identifier?: string }; maxItems?: number },
  ): Promise<RecordSetPage>;
  changeRecordSets(zoneId: string, changes: R53Change[], comment?: string): Promise<ChangeInfo>;
  getChange(id: string): Promise<ChangeInfo>;
  listHealthChecks(marker?: string): Promise<HealthCheckPage>;
  /** CALCULATED health check with no children, driven only by Disabled/Inverted. */
  createHealthCheck(spec: CreateHealthCheckSpec): Promise<R53HealthCheck>;
  updateHealthCheck(id: string, patch: { inverted: boolean; disabled: boolean }): Promise<void>;
  deleteHealthCheck(id: string): Promise<void>;
  /** Tags of up to 10 health checks. */
  listHealthCheckTags(ids: string[]): Promise<Map<string, Record<string, string>>>;
  addHealthCheckTags(id: string, tags: Record<string, string>): Promise<void>;
}
