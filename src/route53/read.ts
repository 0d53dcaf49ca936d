/** Reading what Route 53 holds: record sets (whole zone or some names) and this owner's health checks. */
import { callerReferencePrefix, HEALTH_CHECK_TAG_RECORD, type R53RecordSet } from './model.ts';
import type { OwnedHealthCheck } from './plan.ts';
import type { Route53Port } from './port.ts';

const PAGE = 300;

/** Every record set of the zone. */
export async function readZone(port: Route53Port, zoneId: string): Promise<R53RecordSet[]> {
  const out: R53RecordSet[] = [];
  let start: { name: string; type?: string; identifier?: string } | undefined;
  for (let pages = 0; pages < 10_000; pages++) {
    const page = await port.listRecordSets(zoneId, { ...(start ? { start } : {}), maxItems: PAGE });
    out.push(...page.recordSets);
    if (!page.next) break;
    start = page.next;
  }
  return out;
}

/** The record sets of these names only (one listing per name, starting at it). */
export async function readNames(port: Route53Port, zoneId: string, names: string[]): Promise<R53RecordSet[]> {
  const out: R53RecordSet[] = [];
  for (const name of [...new Set(names)].sort()) {
    let start: { name: string; type?: string; identifier?: string } = { name };
    for (let pages = 0; pages < 100; pages++) {
      const page = await port.listRecordSets(zoneId, { start, maxItems: 20 });
      const mine = page.recordSets.filter((r) => r.name === name);
      out.push(...mine);
      // Stop once the listing has moved past the name.
      if (!page.next || mine.length < page.recordSets.length || page.next.name !== name) break;
      start = page.next;
    }
  }
  return out;
}

/** Health checks this owner created (found by CallerReference prefix), with their record tag. */
export async function readOwnedHealthChecks(port: Route53Port, ownerId: string): Promise<OwnedHealthCheck[]> {
  const prefix = callerReferencePrefix(ownerId);
  const mine: OwnedHealthCheck[] = [];
  let marker: string | undefined;
  for (let pages = 0; pages < 1000; pages++) {
    const page = await port.listHealthChecks(marker);
    for (const h of page.healthChecks) if (h.callerReference.startsWith(prefix)) mine.push({ id: h.id, inverted: h.inverted, disabled: h.disabled });
    if (!page.nextMarker) break;
    marker = page.nextMarker;
  }
  for (let i = 0; i < mine.length; i += 10) {
    const chunk = mine.slice(i, i + 10);
    const tags = await port.listHealthCheckTags(chunk.map((h) => h.id));
    for (const h of chunk) {
      const rec = tags.get(h.id)?.[HEALTH_CHECK_TAG_RECORD];
      if (rec) h.record = rec;
    }
  }
  return mine;
}
