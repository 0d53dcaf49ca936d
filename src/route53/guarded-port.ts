/**
 * Wraps any Route53Port so that every request takes a token from the one
 * bucket and is retried per retry.ts. Errors leave as Route53Error.
 */
import type { Route53Port } from './port.ts';
import type { TokenBucket } from './rate-limit.ts';
import { withRetry, type RetryOptions } from './retry.ts';

export interface RequestStats {
  requests: number;
  retries: number;
}

export function guardPort(inner: Route53Port, bucket: TokenBucket, retry: RetryOptions, stats?: RequestStats): Route53Port {
  const onRetry = retry.onRetry;
  const ropts: RetryOptions = {
    ...retry,
    onRetry: (info) => {
      if (stats) stats.retries++;
      onRetry?.(info);
    },
  };
  const call = <T>(op: string, fn: () => Promise<T>): Promise<T> =>
    withRetry(
      op,
      async () => {
        await bucket.take();
        if (stats) stats.requests++;
        return fn();
      },
      ropts,
    );
  return {
    listRecordSets: (zoneId, opts) => call('ListResourceRecordSets', () => inner.listRecordSets(zoneId, opts)),
    changeRecordSets: (zoneId, changes, comment) => call('ChangeResourceRecordSets', () => inner.changeRecordSets(zoneId, changes, comment)),
    getChange: (id) => call('GetChange', () => inner.getChange(id)),
    listHealthChecks: (marker) => call('ListHealthChecks', () => inner.listHealthChecks(marker)),
    createHealthCheck: (spec) => call('CreateHealthCheck', () => inner.createHealthCheck(spec)),
    updateHealthCheck: (id, patch) => call('UpdateHealthCheck', () => inner.updateHealthCheck(id, patch)),
    deleteHealthCheck: (id) => call('DeleteHealthCheck', () => inner.deleteHealthCheck(id)),
    listHealthCheckTags: (ids) => call('ListTagsForResources', () => inner.listHealthCheckTags(ids)),
    addHealthCheckTags: (id, tags) => call('ChangeTagsForResource', () => inner.addHealthCheckTags(id, tags)),
  };
}
