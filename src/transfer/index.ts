/**
 * Secondaries support (zone transfers, NOTIFY, TSIG): built from the config
 * and attached to the DNS server by the daemon. Undefined when no
 * secondaries, transfer ACL or TSIG keys are configured: then AXFR/IXFR
 * stay REFUSED and NOTIFY NOTIMP, as the server answers on its own.
 *
 * Files: responder.ts (the server's TransferHandler), axfr.ts, ixfr.ts +
 * journal.ts, notify.ts, tsig.ts, acl.ts, messages.ts (encoding); the
 * config sections are in config/transfer.ts, the wire format (reading
 * and writing bytes) in dns/wire/.
 */
import { systemClock, type Clock } from '../clock.ts';
import type { Config } from '../config/types.ts';
import { randomWeightedPick, type DnsServer } from '../dns/server.ts';
import type { Logger } from '../log.ts';
import type { Snapshot } from '../records/snapshot.ts';
import { AddressAcl } from './acl.ts';
import { Journal } from './journal.ts';
import { NotifySender, type NotifyOptions, type NotifyStatus, type NotifyTarget } from './notify.ts';
import { TransferResponder, type TransferEvent } from './responder.ts';
import { TsigKeyring } from './tsig.ts';

export type { NotifyStatus, TransferEvent };

export interface Transfers {
  /** Every new snapshot (serial changes → journal, NOTIFY). */
  onSnapshot(snapshot: Snapshot): void;
  /** Each secondary's last answer to a NOTIFY, per zone (the admin API and status page). */
  notifyStatus(): NotifyStatus[];
  stop(): Promise<void>;
}

export interface TransferDeps {
  logger: Logger;
  dns: DnsServer;
  clock?: Clock;
  notify?: Pick<NotifyOptions, 'timeoutMs' | 'maxAttempts' | 'onAck'>;
  onTransfer?: (e: TransferEvent) => void;
}

export function createTransfers(config: Config, deps: TransferDeps): Transfers | undefined {
  const secondaries = config.secondaries ?? [];
  const allow = config.transfer?.allow ?? [];
  const keys = config.tsig ?? [];
  if (secondaries.length === 0 && allow.length === 0 && keys.length === 0) return undefined;

  const clock = deps.clock ?? systemClock;
  const now = (): number => clock.now();
  const keyring = new TsigKeyring(keys, now);
  const journal = new Journal(config.transfer?.journal ?? 100);
  const responder = new TransferResponder({ keyring, acl: new AddressAcl(allow), journal, logger: deps.logger, pick: randomWeightedPick, nowMs: now, onTransfer: deps.onTransfer });
  deps.dns.setTransferHandler(responder);
  const sender = new NotifySender({ logger: deps.logger, clock, ...deps.notify });
  const targets = secondaries.map((s) => ({ zones: new Set(s.zones), target: { host: s.address.host, port: s.address.port, key: s.tsig ? keyring.get(s.tsig) : undefined } satisfies NotifyTarget }));
  let first = true;
  deps.logger.info(
    { secondaries: secondaries.map((s) => ({ address: `${s.address.host}:${s.address.port}`, zones: s.zones, tsig: s.tsig })), allow, keys: keys.map((k) => ({ name: k.name, algorithm: k.algorithm })), journal: config.transfer?.journal ?? 100 },
    'zone transfers and NOTIFY enabled',
  );

  return {
    onSnapshot(snapshot) {
      const changed = journal.record(snapshot);
      // At start, every zone: a secondary may hold an older serial from before a restart.
      const zones = first ? snapshot.zones : [...changed.values()];
      first = false;
      for (const zone of zones) {
        for (const t of targets) if (t.zones.has(zone.origin)) sender.notify(t.target, zone);
      }
    },
    notifyStatus: () => sender.status(),
    async stop() {
      deps.dns.setTransferHandler(undefined);
      await sender.stop();
    },
  };
}
