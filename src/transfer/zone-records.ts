/**
 * A zone of a snapshot as the flat list of records a transfer carries, and
 * the identity of a record for diffs (IXFR journal). Weighted record sets
 * carry all their values (a secondary cannot weigh them); a record set that
 * answers SERVFAIL (whenAllDown: servfail) has no records to carry.
 */
import type { AnswerRR } from '../dns/resolve.ts';
import type { ZoneView } from '../records/snapshot.ts';
import type { SoaData } from '../dns-model/records.ts';

export function soaRecord(origin: string, ttl: number, soa: SoaData): AnswerRR {
  return { owner: origin, ttl, data: { type: 'SOA', ...soa } };
}

/**
 * Every record of the zone but the SOA: the apex first, then the other names
 * in order. With `only`: the records of those names alone, in the same order.
 */
export function zoneRecords(zone: ZoneView, only?: ReadonlySet<string>): AnswerRR[] {
  const out: AnswerRR[] = [];
  const names = [...(only ?? zone.nodes.keys())].filter((n) => n !== zone.origin).sort();
  for (const name of !only || only.has(zone.origin) ? [zone.origin, ...names] : names) {
    const node = zone.nodes.get(name);
    if (!node) continue;
    for (const set of node.rrsets.values()) {
      if (set.type === 'SOA') continue;
      for (const data of set.rdata) out.push({ owner: name, ttl: set.ttl, data });
    }
  }
  return out;
}

/** Equal keys ⇔ the same record (owner, type, TTL and data). */
export function recordKey(r: AnswerRR): string {
  return `${r.owner}\u0000${r.ttl}\u0000${JSON.stringify(r.data, (_k, v: unknown) => (v && typeof v === 'object' && (v as { type?: string }).type === 'Buffer' ? Buffer.from((v as { data: number[] }).data).toString('hex') : v))}`;
}
