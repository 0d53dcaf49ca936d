/**
 * Where the decisions this process serves come from, read in one place by
 * the daemon for DNS, the admin API, metrics and the sinks: this process's
 * own controller (alone), or the cluster's decisions mirrored from etcd
 * (cluster-source.ts). A source also says when this process leads, which is
 * when its leader duties run (leader-duties.ts): alone, from start to stop.
 */
import type { ClusterStatus } from './cluster/cluster-node.ts';
import type { Config } from './config/types.ts';
import type { Controller } from './controller.ts';
import type { FailbackOutcome } from './failover/decider.ts';
import type { RecordSetDecision } from './failover/decision.ts';
import type { Transition } from './failover/types.ts';
import type { LeaderDuties } from './leader-duties.ts';
import type { ZoneFile } from './dns-model/records.ts';

export interface ServedDecisions {
  decisions: RecordSetDecision[];
  /** zone origin → the serial to serve these decisions with; undefined: this process numbers its own. */
  serials?: ReadonlyMap<string, number>;
}

export type FailbackReply = FailbackOutcome | { kind: 'requested'; reason: string };

export interface DecisionSource {
  /** The decisions served now, and their serials. */
  served(): ServedDecisions;
  /** served()'s decisions, lazily: alone, each made when it is reached (a reader can take them in slices); a cluster's from etcd as they are. */
  eachDecision(): Iterable<RecordSetDecision>;
  /** The recent transitions of the decisions served, newest first. */
  transitions(limit?: number): Transition[];
  /** A failback command, run where the decisions are made. */
  failback(recordSetKey: string): Promise<FailbackReply>;
  /** Told of each transition this process decides of the decisions served (counted and notified once: in a cluster, by the leader). */
  onDecided(listener: (t: Transition) => void): void;
  /** Told when what served() returns may have changed. */
  onChange(listener: () => void): void;
  /** Resolves while this process leads, proven (a cluster: a write to etcd fenced by the leader key); throws CLUSTER_NOT_LEADER otherwise. Alone: always. */
  proveLeader(): Promise<void>;
  /** Without a request: whether this process still holds the lead (a cluster: its leader key and a lease confirmed within a TTL). Alone: always. */
  holdsLead(): boolean;
  /** Runs `duties` while this process leads. Alone: from now until stop() (resolves once they run); a cluster: from each election to its loss. */
  runDuties(duties: LeaderDuties): Promise<void>;
  /** After the first probe round: a cluster joins (resolves with its decisions, or after startupTimeout); alone, nothing to do. */
  join(): Promise<void>;
  /** A reloaded config. */
  reconfigure(config: Config, zones: readonly ZoneFile[]): void;
  /** Resolves once operator changes are where every instance sees them (a cluster: etcd). */
  flush(): Promise<void>;
  /** The cluster's view for /v1/status and metrics; undefined alone. */
  clusterStatus(): ClusterStatus | undefined;
  /** A target the leader's config does not have: the leader and the instances whose config has it (a drain of it would be applied nowhere); undefined alone or when the leader knows it. */
  targetUnknownToLeader(targetId: string): { leader: string; knownBy: string[] } | undefined;
  stop(): Promise<void>;
}

/** One process, no cluster: the controller decides, and this process leads from start to stop. */
export class LocalDecisions implements DecisionSource {
  constructor(private readonly controller: Controller) {}

  served(): ServedDecisions {
    return { decisions: this.controller.decisions() };
  }

  eachDecision(): Iterable<RecordSetDecision> {
    return this.controller.eachDecision();
  }

  transitions(limit?: number): Transition[] {
    return this.controller.transitions(limit);
  }

  async failback(recordSetKey: string): Promise<FailbackReply> {
    return this.controller.failback(recordSetKey);
  }

  onDecided(listener: (t: Transition) => void): void {
    this.controller.transitionListeners.push(listener);
  }

  onChange(listener: () => void): void {
    this.controller.changeListeners.push(listener);
  }

  async proveLeader(): Promise<void> {}

  holdsLead(): boolean {
    return true;
  }

  runDuties(duties: LeaderDuties): Promise<void> {
    return duties.elected();
  }

  async join(): Promise<void> {}

  reconfigure(): void {}

  async flush(): Promise<void> {}

  clusterStatus(): undefined {
    return undefined;
  }

  targetUnknownToLeader(): undefined {
    return undefined;
  }

  async stop(): Promise<void> {}
}
