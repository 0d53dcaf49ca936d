/**
 * Secondaries support (zone transfers, NOTIFY, TSIG): built from the config
 * and attached to the DNS server by the daemon. Undefined when no
 * secondaries or transfers are configured.
 */
import type { Config } from '../config/types.ts';
import type { DnsServer } from '../dns/server.ts';
import type { Logger } from '../log.ts';
import type { Snapshot } from '../records/snapshot.ts';

export interface Transfers {
  /** Every new snapshot (serial changes → journal, NOTIFY). */
  onSnapshot(snapshot: Snapshot): void;
  stop(): Promise<void>;
}

export function createTransfers(_config: Config, _deps: { logger: Logger; dns: DnsServer }): Transfers | undefined {
  return undefined;
}
