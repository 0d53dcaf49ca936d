/**
 * The decisions of a cluster as a DecisionSource: a ClusterNode around the
 * local controller. Every instance serves the decisions it mirrors from etcd
 * (its own verdict until it has them, or when cut off with onLoss: local);
 * the leader's decider makes them, and its transitions are the ones counted
 * and notified; the leader duties run from each election to its loss.
 */
import { ClusterNode, type ClusterStatus } from './cluster/cluster-node.ts';
import type { LoadedConfig } from './config/load.ts';
import type { Config } from './config/types.ts';
import type { Clock } from './clock.ts';
import type { Controller } from './controller.ts';
import type { DecisionSource, FailbackReply, ServedDecisions } from './decision-source.ts';
import type { RecordSetDecision } from './failover/decision.ts';
import { Decider } from './failover/decider.ts';
import type { Transition } from './failover/types.ts';
import type { LeaderDuties } from './leader-duties.ts';
import type { Logger } from './log.ts';
import type { ZoneFile } from './dns-model/records.ts';

/** How long a health change waits before this instance's own verdict takes it, while the cluster's decisions are served. */
export const LOCAL_VERDICT_DELAY_MS = 30_000;

export interface ClusterDecisionsOptions {
  loaded: LoadedConfig;
  controller: Controller;
  /** The running config (reloads included): the leader's decider is made with it. */
  config: () => Config;
  clock: Clock;
  logger: Logger;
}

export class ClusterDecisions implements DecisionSource {
  readonly node: ClusterNode;
  private readonly decided: Array<(t: Transition) => void> = [];
  private readonly controller: Controller;
  private readonly log: Logger;
  private readonly opts: ClusterDecisionsOptions;

  constructor(opts: ClusterDecisionsOptions) {
    this.opts = opts;
    this.controller = opts.controller;
    this.log = opts.logger.child({ component: 'cluster' });
    const log = this.log;
    this.node = new ClusterNode({
      config: opts.loaded.config,
      zones: opts.loaded.zones,
      localViews: () => Object.fromEntries(this.controller.health.probed()),
      localView: (probeKey) => this.controller.health.probedOne(probeKey),
      overrides: () => this.controller.overrides,
      gatherMs: opts.loaded.config.startupTimeout,
      makeDecider: (health, restore, onChange) => {
        const decider = new Decider(opts.config(), { clock: opts.clock, logger: log, health, restore });
        decider.changeListeners.push(onChange);
        decider.transitionListeners.push((t) => {
          for (const l of this.decided) l(t);
        });
        decider.activate();
        return decider;
      },
      clock: opts.clock,
      logger: log,
    });
    // While the cluster's decisions are served, this instance's own verdict is decided a few seconds after a health
    // change (off the path of a mass failover's cluster decision); at once when it is about to be served.
    this.controller.deferVerdict(() => this.node.served() !== undefined, LOCAL_VERDICT_DELAY_MS);
    this.node.on('served', () => {
      if (!this.node.served()) this.controller.decidePending();
    });
    // This instance's health and operators' overrides go to etcd.
    this.controller.healthListeners.push((probeKey) => this.node.localHealthChanged(probeKey));
    this.controller.overrideListeners.push((e) => this.node.onOverride(e));
  }

  served(): ServedDecisions {
    const r = this.node.served();
    if (!r) return { decisions: this.controller.decisions() };
    return { decisions: r.decisions, serials: new Map(Object.entries(r.serials)) };
  }

  eachDecision(): Iterable<RecordSetDecision> {
    return this.node.served()?.decisions ?? this.controller.eachDecision();
  }

  transitions(limit?: number): Transition[] {
    return this.node.transitions((n) => this.controller.transitions(n), limit);
  }

  failback(recordSetKey: string): Promise<FailbackReply> {
    return this.node.failback(recordSetKey);
  }

  onDecided(listener: (t: Transition) => void): void {
    this.decided.push(listener);
  }

  onChange(listener: () => void): void {
    // The local verdict is served until the cluster's decisions arrive (and when cut off with onLoss: local);
    // while the cluster's are served, a change of the local verdict changes nothing served.
    this.controller.changeListeners.push(() => {
      if (!this.node.served()) listener();
    });
    this.node.on('served', listener);
    this.node.on('leadership', () => listener());
  }

  proveLeader(): Promise<void> {
    return this.node.assertLeader();
  }

  holdsLead(): boolean {
    return this.node.isLeader;
  }

  async runDuties(duties: LeaderDuties): Promise<void> {
    this.node.on('leadership', (leader) => {
      if (leader) void duties.elected();
      else void duties.deposed();
    });
  }

  /** DNS opens once this instance has the cluster's decisions, or after startupTimeout on its own verdict. */
  async join(): Promise<void> {
    this.node.publishVantage();
    const timeout = this.opts.config().startupTimeout;
    if (!(await this.node.start(timeout))) {
      this.log.warn({ startupTimeout: timeout, endpoints: this.opts.config().cluster?.etcd.endpoints }, 'no cluster decisions within startupTimeout (etcd unreachable, or no leader yet): serving this instance\'s own verdict until they arrive');
    }
  }

  reconfigure(config: Config, zones: readonly ZoneFile[]): void {
    this.node.reconfigure(config, zones);
  }

  flush(): Promise<void> {
    return this.node.flushOperatorState();
  }

  clusterStatus(): ClusterStatus {
    return this.node.status();
  }

  targetUnknownToLeader(targetId: string): { leader: string; knownBy: string[] } | undefined {
    return this.node.targetUnknownToLeader(targetId);
  }

  stop(): Promise<void> {
    return this.node.stop();
  }
}
