/** The embedded DNS server on an ephemeral loopback port, serving a zone text. */
import { readFileSync } from 'node:fs';
import { DnsServer } from '../../src/dns/server.ts';
import { silentLogger } from '../../src/log.ts';
import { buildSnapshot, type DynamicRRset } from '../../src/records/snapshot.ts';
import type { ZoneFile } from '../../src/dns-model/records.ts';
import { parseZoneText } from '../../src/zones/parse.ts';
import { systemClock } from '../../src/clock.ts';

export const EXAMPLE_ZONE_FILE = new URL('../../zones/example.test.zone', import.meta.url);

export function exampleZone(): ZoneFile {
  return parseZoneText(readFileSync(EXAMPLE_ZONE_FILE, 'utf8'), { file: 'zones/example.test.zone' });
}

export interface RunningDns {
  server: DnsServer;
  port: number;
  zones: ZoneFile[];
  /** Swaps in a snapshot with these dynamic answers. */
  publish(dynamic: DynamicRRset[]): void;
  stop(): Promise<void>;
}

/** `pick` defaults to the first record of a weighted RRset, so answers are predictable. */
export async function startDns(zones: ZoneFile[] = [exampleZone()], dynamic: DynamicRRset[] = [], pick: (w: readonly number[]) => number = () => 0): Promise<RunningDns> {
  const server = new DnsServer({ clock: systemClock, listen: [{ host: '127.0.0.1', port: 0 }], logger: silentLogger, pick });
  let snap = buildSnapshot(zones, dynamic);
  server.setSnapshot(snap);
  const [bound] = await server.start();
  return {
    server,
    port: bound!.port,
    zones,
    publish(d) {
      snap = buildSnapshot(zones, d, snap);
      server.setSnapshot(snap);
    },
    stop: () => server.stop(),
  };
}
