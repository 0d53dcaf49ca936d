/**
 * Wires the stages together: the controller (probes → health → failover)
 * feeds the records snapshot of the embedded DNS server and, when
 * configured, the Route 53 sink. The only place that knows them all.
 */
import type { Clock } from './clock.ts';
import type { LoadedConfig } from './config/load.ts';
import { Controller } from './controller.ts';
import { DnsServer, type DnsServerOptions } from './dns/server.ts';
import type { Logger } from './log.ts';
import { toDesiredRecordSet, toDynamicRRset } from './published-answers.ts';
import { buildSnapshot, type Snapshot } from './records/snapshot.ts';
import { Route53Sink } from './route53/sink.ts';
import { createTransfers, type Transfers } from './transfer/index.ts';

export interface DaemonOptions {
  logger: Logger;
  clock?: Clock;
  /** Passed to the DNS server (tests pick weights deterministically). */
  dnsPick?: DnsServerOptions['pick'];
}

export class Daemon {
  readonly controller: Controller;
  private readonly log: Logger;
  private readonly dns: DnsServer;
  private readonly route53: Route53Sink | undefined;
  private readonly transfers: Transfers | undefined;
  private snapshot: Snapshot | undefined;

  constructor(
    private readonly loaded: LoadedConfig,
    opts: DaemonOptions,
  ) {
    this.log = opts.logger;
    const { config } = loaded;
    this.controller = new Controller(config, { logger: this.log, clock: opts.clock });
    this.dns = new DnsServer({ listen: config.dns.listen, logger: this.log.child({ component: 'dns' }), pick: opts.dnsPick });
    this.route53 = config.route53 ? new Route53Sink({ config: config.route53, logger: this.log.child({ component: 'route53' }), clock: opts.clock }) : undefined;
    this.transfers = createTransfers(config, { logger: this.log.child({ component: 'transfer' }), dns: this.dns });
    this.controller.changeListeners.push(() => this.publish());
  }

  /**
   * Waits for every target's first verdict (or startupTimeout), then opens
   * the DNS listeners: no answer is served before it is a verdict.
   */
  async start(): Promise<Array<{ host: string; port: number }>> {
    await this.controller.start();
    this.publish();
    const bound = await this.dns.start();
    this.route53?.start();
    this.log.info({ listen: bound, zones: this.loaded.zones.map((z) => z.origin), recordSets: this.loaded.config.records.length, route53: this.route53 ? this.loaded.config.route53!.mode : 'off' }, 'serving DNS');
    return bound;
  }

  async stop(): Promise<void> {
    await Promise.all([this.controller.stop(), this.dns.stop(), this.route53?.stop(), this.transfers?.stop()]);
  }

  /** The snapshot being served. */
  currentSnapshot(): Snapshot | undefined {
    return this.snapshot;
  }

  /** Builds the snapshot of static data plus every current answer, swaps it in, and tells Route 53. */
  private publish(): void {
    const answers = this.controller.answers();
    this.snapshot = buildSnapshot(this.loaded.zones, answers.map(toDynamicRRset), this.snapshot);
    this.dns.setSnapshot(this.snapshot);
    this.transfers?.onSnapshot(this.snapshot);
    this.route53?.update(answers.map((a) => toDesiredRecordSet(a, (k) => this.controller.tracker(k))));
  }
}
