/**
 * Secondaries support (zone transfers, NOTIFY, TSIG): built from the config
 * and attached to the DNS server by the daemon; a reload configures it
 * again. While no secondaries, transfer ACL or TSIG keys are configured it
 * is detached: AXFR/IXFR stay REFUSED and NOTIFY NOTIMP, as the server
 * answers on its own.
 *
 * Files: responder.ts (the server's TransferHandler), axfr.ts, ixfr.ts +
 * journal.ts, notify.ts, acl.ts, messages.ts (encoding); the config
 * sections are in config/transfer.ts, the wire format (reading and
 * writing bytes) and TSIG in dns/wire/ (the RFC 2136 sink signs with it too).
 */
import { createHash } from 'node:crypto';
import type { Clock } from '../clock.ts';
import type { Config } from '../config/types.ts';
import { randomWeightedPick, type DnsServer } from '../dns/server.ts';
import type { Logger } from '../log.ts';
import type { Snapshot } from '../records/snapshot.ts';
import { AddressAcl } from './acl.ts';
import { Journal } from './journal.ts';
import { NotifySender, type NotifyOptions, type NotifyStatus, type NotifyTarget } from './notify.ts';
import { TransferResponder, type TransferEvent } from './responder.ts';
import { TsigKeyring } from '../dns/wire/tsig.ts';

export type { NotifyStatus, TransferEvent };

export interface Transfers {
  /** Every new snapshot (serial changes → journal, NOTIFY). */
  onSnapshot(snapshot: Snapshot): void;
  /**
   * The secondaries, transfer and tsig sections again (a reload): the next
   * transfer is checked against the new allow list and keys, NOTIFY goes to
   * the new secondaries (an added one is told the current serials at once).
   * Nothing configured any more: transfers are REFUSED again.
   */
  configure(config: Config): void;
  /** Each secondary's last answer to a NOTIFY, per zone (the admin API and status page). */
  notifyStatus(): NotifyStatus[];
  stop(): Promise<void>;
}

export interface TransferDeps {
  logger: Logger;
  dns: DnsServer;
  clock: Clock;
  notify?: Pick<NotifyOptions, 'timeoutMs' | 'maxAttempts' | 'onAck'>;
  onTransfer?: (e: TransferEvent) => void;
}

interface Target {
  zones: Set<string>;
  target: NotifyTarget;
  /** Address, zones and key: an added or changed target is notified at once. */
  id: string;
}

/** What the sections say, secrets included (as digests), to tell a change from none. */
function fingerprint(config: Config): string {
  const keys = (config.tsig ?? []).map((k) => ({ name: k.name, algorithm: k.algorithm, secret: createHash('sha256').update(k.secret.bytes()).digest('hex') }));
  return JSON.stringify({ secondaries: config.secondaries ?? [], transfer: config.transfer ?? {}, keys });
}

/** Zone transfers and NOTIFY, attached to the DNS server while anything is configured. */
export function createTransfers(config: Config, deps: TransferDeps): Transfers {
  const clock = deps.clock;
  const now = (): number => clock.now();
  const sender = new NotifySender({ logger: deps.logger, clock, ...deps.notify });
  let journal: Journal | undefined;
  let responder: TransferResponder | undefined;
  let targets: Target[] = [];
  let last: Snapshot | undefined;
  let current = '';

  const configure = (c: Config, reload: boolean): void => {
    const print = fingerprint(c);
    if (print === current) return;
    current = print;
    const secondaries = c.secondaries ?? [];
    const allow = c.transfer?.allow ?? [];
    const keys = c.tsig ?? [];
    if (secondaries.length === 0 && allow.length === 0 && keys.length === 0) {
      responder = undefined;
      journal = undefined;
      targets = [];
      sender.keepOnly([]);
      deps.dns.setTransferHandler(undefined);
      if (reload) deps.logger.info('zone transfers and NOTIFY off: AXFR/IXFR are REFUSED');
      return;
    }
    const size = c.transfer?.journal ?? 100;
    if (!journal || journal.maxChanges !== size) {
      journal = new Journal(size);
      if (last) journal.record(last);
    }
    const keyring = new TsigKeyring(keys, now);
    responder = new TransferResponder({ keyring, acl: new AddressAcl(allow), journal, logger: deps.logger, pick: randomWeightedPick, nowMs: now, onTransfer: deps.onTransfer });
    deps.dns.setTransferHandler(responder);
    const before = new Set(targets.map((t) => t.id));
    targets = secondaries.map((s) => ({
      zones: new Set(s.zones),
      target: { host: s.address.host, port: s.address.port, key: s.tsig ? keyring.get(s.tsig) : undefined } satisfies NotifyTarget,
      id: JSON.stringify([s.address, s.zones, s.tsig]),
    }));
    sender.keepOnly(targets.map((t) => t.target));
    deps.logger.info(
      { secondaries: secondaries.map((s) => ({ address: `${s.address.host}:${s.address.port}`, zones: s.zones, tsig: s.tsig })), allow, keys: keys.map((k) => ({ name: k.name, algorithm: k.algorithm })), journal: size },
      reload ? 'zone transfers and NOTIFY reconfigured' : 'zone transfers and NOTIFY enabled',
    );
    // A secondary added (or changed) by a reload learns the current serials now.
    if (last) for (const t of targets) if (!before.has(t.id)) for (const zone of last.zones) if (t.zones.has(zone.origin)) sender.notify(t.target, zone);
  };
  configure(config, false);

  return {
    onSnapshot(snapshot) {
      const first = last === undefined;
      last = snapshot;
      if (!journal) return;
      const changed = journal.record(snapshot);
      // At start, every zone: a secondary may hold an older serial from before a restart.
      const zones = first ? snapshot.zones : [...changed.values()];
      for (const zone of zones) {
        for (const t of targets) if (t.zones.has(zone.origin)) sender.notify(t.target, zone);
      }
    },
    configure: (c) => configure(c, true),
    notifyStatus: () => sender.status(),
    async stop() {
      deps.dns.setTransferHandler(undefined);
      await sender.stop();
    },
  };
}
