/**
 * Route53Port over @aws-sdk/client-route-53. The SDK's own retries are off
 * (maxAttempts 1): retry.ts and rate-limit.ts decide when to call again.
 * Credentials come from the SDK's default provider chain unless given
 * explicitly (tests); they are never logged.
 */
import {
  ChangeResourceRecordSetsCommand,
  ChangeTagsForResourceCommand,
  CreateHealthCheckCommand,
  DeleteHealthCheckCommand,
  GetChangeCommand,
  ListHealthChecksCommand,
  ListResourceRecordSetsCommand,
  ListTagsForResourcesCommand,
  Route53Client,
  UpdateHealthCheckCommand,
  type Route53ClientConfig,
  type ResourceRecordSet,
  type RRType,
  type HealthCheck,
} from '@aws-sdk/client-route-53';
import type { ChangeInfo, CreateHealthCheckSpec, HealthCheckPage, RecordSetPage, Route53Port } from './port.ts';
import { fromRoute53Name, toRoute53Name, type R53Change, type R53HealthCheck, type R53RecordSet } from './model.ts';

export interface SdkPortOptions {
  region: string;
  endpoint?: string;
  /** Only for tests and emulators; production uses the default provider chain. */
  credentials?: Route53ClientConfig['credentials'];
  /**
   * Called synchronously as the last step before a signed request is handed
   * to the HTTP handler; throws to refuse it (the caller gets that error).
   * Everything before it (loading the SDK, credentials, signing) awaits, and
   * a process paused there may have lost what made the request right (the
   * cluster's lead) when it resumes.
   */
  beforeSend?: (op: string) => void;
  /** Per-request socket timeout in ms (default 10 s). */
  requestTimeoutMs?: number;
}

const MANAGED = new Set(['Name', 'Type', 'TTL', 'ResourceRecords', 'SetIdentifier', 'Failover', 'GeoLocation', 'HealthCheckId']);

export function fromSdkRecordSet(r: ResourceRecordSet): R53RecordSet {
  const out: R53RecordSet = {
    name: fromRoute53Name(r.Name ?? ''),
    type: String(r.Type),
    values: (r.ResourceRecords ?? []).map((v) => v.Value ?? ''),
  };
  if (r.TTL !== undefined) out.ttl = r.TTL;
  if (r.SetIdentifier !== undefined) out.setIdentifier = r.SetIdentifier;
  if (r.Failover !== undefined) out.failover = r.Failover as 'PRIMARY' | 'SECONDARY';
  if (r.GeoLocation !== undefined) {
    const g = r.GeoLocation;
    out.geoLocation = {
      ...(g.ContinentCode !== undefined ? { continentCode: g.ContinentCode } : {}),
      ...(g.CountryCode !== undefined ? { countryCode: g.CountryCode } : {}),
      ...(g.SubdivisionCode !== undefined ? { subdivisionCode: g.SubdivisionCode } : {}),
    };
  }
  if (r.HealthCheckId !== undefined) out.healthCheckId = r.HealthCheckId;
  const other: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(r)) if (!MANAGED.has(k) && v !== undefined) other[k] = v;
  if (Object.keys(other).length) out.other = other;
  return out;
}

export function toSdkRecordSet(r: R53RecordSet): ResourceRecordSet {
  const out: ResourceRecordSet = { ...(r.other as Partial<ResourceRecordSet>), Name: toRoute53Name(r.name), Type: r.type as RRType };
  if (r.ttl !== undefined) out.TTL = r.ttl;
  if (r.values.length) out.ResourceRecords = r.values.map((Value) => ({ Value }));
  if (r.setIdentifier !== undefined) out.SetIdentifier = r.setIdentifier;
  if (r.failover !== undefined) out.Failover = r.failover;
  if (r.geoLocation !== undefined) {
    const g = r.geoLocation;
    out.GeoLocation = {
      ...(g.continentCode !== undefined ? { ContinentCode: g.continentCode } : {}),
      ...(g.countryCode !== undefined ? { CountryCode: g.countryCode } : {}),
      ...(g.subdivisionCode !== undefined ? { SubdivisionCode: g.subdivisionCode } : {}),
    };
  }
  if (r.healthCheckId !== undefined) out.HealthCheckId = r.healthCheckId;
  return out;
}

function fromSdkHealthCheck(h: HealthCheck): R53HealthCheck {
  return {
    id: h.Id ?? '',
    callerReference: h.CallerReference ?? '',
    type: String(h.HealthCheckConfig?.Type ?? ''),
    inverted: h.HealthCheckConfig?.Inverted ?? false,
    disabled: h.HealthCheckConfig?.Disabled ?? false,
    ...(h.HealthCheckVersion !== undefined ? { version: h.HealthCheckVersion } : {}),
  };
}

function stripPrefix(id: string | undefined, prefix: string): string {
  return (id ?? '').startsWith(prefix) ? (id ?? '').slice(prefix.length) : (id ?? '');
}

export class SdkRoute53Port implements Route53Port {
  readonly client: Route53Client;

  constructor(opts: SdkPortOptions) {
    // The SDK prints a multi-line NodeVersionSupportWarning on stderr under
    // Node 20 (its releases after January 2027 need Node 22). The pinned
    // version works on Node 20; keep stderr for failoverd's own messages.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    this.client = new Route53Client({
      region: opts.region,
      ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
      ...(opts.credentials ? { credentials: opts.credentials } : {}),
      maxAttempts: 1,
      requestHandler: { requestTimeout: opts.requestTimeoutMs ?? 10_000, connectionTimeout: 5_000 },
    });
    const beforeSend = opts.beforeSend;
    if (beforeSend) {
      // The innermost middleware (step deserialize, priority low): after signing, right before the HTTP handler.
      this.client.middlewareStack.add(
        (next, context) => (args) => {
          beforeSend(String(context.commandName ?? 'request'));
          return next(args);
        },
        { step: 'deserialize', priority: 'low', name: 'failoverdBeforeSend' },
      );
    }
  }

  destroy(): void {
    this.client.destroy();
  }

  async listRecordSets(
    zoneId: string,
    opts: { start?: { name: string; type?: string; identifier?: string }; maxItems?: number } = {},
  ): Promise<RecordSetPage> {
    const res = await this.client.send(
      new ListResourceRecordSetsCommand({
        HostedZoneId: zoneId,
        ...(opts.start ? { StartRecordName: toRoute53Name(opts.start.name) } : {}),
        ...(opts.start?.type ? { StartRecordType: opts.start.type as RRType } : {}),
        ...(opts.start?.identifier ? { StartRecordIdentifier: opts.start.identifier } : {}),
        ...(opts.maxItems ? { MaxItems: opts.maxItems } : {}),
      }),
    );
    const page: RecordSetPage = { recordSets: (res.ResourceRecordSets ?? []).map(fromSdkRecordSet) };
    if (res.IsTruncated && res.NextRecordName) {
      page.next = {
        name: fromRoute53Name(res.NextRecordName),
        type: String(res.NextRecordType ?? ''),
        ...(res.NextRecordIdentifier ? { identifier: res.NextRecordIdentifier } : {}),
      };
    }
    return page;
  }

  async changeRecordSets(zoneId: string, changes: R53Change[], comment?: string): Promise<ChangeInfo> {
    const res = await this.client.send(
      new ChangeResourceRecordSetsCommand({
        HostedZoneId: zoneId,
        ChangeBatch: {
          ...(comment ? { Comment: comment } : {}),
          Changes: changes.map((c) => ({ Action: c.action, ResourceRecordSet: toSdkRecordSet(c.recordSet) })),
        },
      }),
    );
    return {
      id: stripPrefix(res.ChangeInfo?.Id, '/change/'),
      status: res.ChangeInfo?.Status === 'INSYNC' ? 'INSYNC' : 'PENDING',
      ...(res.ChangeInfo?.SubmittedAt ? { submittedAt: res.ChangeInfo.SubmittedAt } : {}),
    };
  }

  async getChange(id: string): Promise<ChangeInfo> {
    const res = await this.client.send(new GetChangeCommand({ Id: id }));
    return {
      id: stripPrefix(res.ChangeInfo?.Id, '/change/'),
      status: res.ChangeInfo?.Status === 'INSYNC' ? 'INSYNC' : 'PENDING',
      ...(res.ChangeInfo?.SubmittedAt ? { submittedAt: res.ChangeInfo.SubmittedAt } : {}),
    };
  }

  async listHealthChecks(marker?: string): Promise<HealthCheckPage> {
    const res = await this.client.send(new ListHealthChecksCommand({ ...(marker ? { Marker: marker } : {}), MaxItems: 1000 }));
    return {
      healthChecks: (res.HealthChecks ?? []).map(fromSdkHealthCheck),
      ...(res.IsTruncated && res.NextMarker ? { nextMarker: res.NextMarker } : {}),
    };
  }

  async createHealthCheck(spec: CreateHealthCheckSpec): Promise<R53HealthCheck> {
    const res = await this.client.send(
      new CreateHealthCheckCommand({
        CallerReference: spec.callerReference,
        HealthCheckConfig: {
          Type: 'CALCULATED',
          HealthThreshold: 0,
          ChildHealthChecks: [],
          Inverted: spec.inverted,
          Disabled: spec.disabled,
        },
      }),
    );
    if (!res.HealthCheck) throw new Error('CreateHealthCheck returned no health check');
    return fromSdkHealthCheck(res.HealthCheck);
  }

  async updateHealthCheck(id: string, patch: { inverted: boolean; disabled: boolean }): Promise<void> {
    await this.client.send(new UpdateHealthCheckCommand({ HealthCheckId: id, Inverted: patch.inverted, Disabled: patch.disabled }));
  }

  async deleteHealthCheck(id: string): Promise<void> {
    await this.client.send(new DeleteHealthCheckCommand({ HealthCheckId: id }));
  }

  async listHealthCheckTags(ids: string[]): Promise<Map<string, Record<string, string>>> {
    const out = new Map<string, Record<string, string>>();
    if (!ids.length) return out;
    const res = await this.client.send(new ListTagsForResourcesCommand({ ResourceType: 'healthcheck', ResourceIds: ids }));
    for (const s of res.ResourceTagSets ?? []) {
      const tags: Record<string, string> = {};
      for (const t of s.Tags ?? []) if (t.Key) tags[t.Key] = t.Value ?? '';
      if (s.ResourceId) out.set(s.ResourceId, tags);
    }
    return out;
  }

  async addHealthCheckTags(id: string, tags: Record<string, string>): Promise<void> {
    await this.client.send(
      new ChangeTagsForResourceCommand({
        ResourceType: 'healthcheck',
        ResourceId: id,
        AddTags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
      }),
    );
  }
}
