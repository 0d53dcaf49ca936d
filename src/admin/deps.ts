/** What the admin API reads and steers: the daemon, through this narrow interface. */
import type { Clock } from '../clock.ts';
import type { ClusterStatus } from '../cluster/cluster-node.ts';
import type { LeaderDutiesView } from '../leader-duties.ts';
import type { Controller, ReloadSummary } from '../controller.ts';
import type { Problem } from '../errors.ts';
import type { FailbackOutcome } from '../failover/decider.ts';
import type { Transition } from '../failover/types.ts';
import type { RecordSetDecision } from '../failover/decision.ts';
import type { WindowStatus } from '../maintenance/windows.ts';
import type { Snapshot } from '../records/snapshot.ts';
import type { Rfc2136StatusView } from '../rfc2136/sink.ts';
import type { Route53StatusView } from '../route53/sink.ts';
import type { StateRestoreProblem, StateWriteOutcome } from '../state/store.ts';
import type { NotifyStatus } from '../transfer/index.ts';
import type { WebhookStatus } from '../notify/webhook.ts';
import type { WorkerPoolHealth } from '../dns/worker-pool.ts';
import type { Metrics } from './metrics.ts';
import type { StatusHistory } from './status-history.ts';
import type { ProbesOf } from './views.ts';

export type ReloadOutcome = { ok: true; summary: ReloadSummary; warnings: string[]; needsRestart: Array<{ key: string; why: string }> } | { ok: false; problems: Problem[] };

export interface AdminDeps {
  /** Operator actions (overrides, failback), the config and the transitions. */
  controller(): Controller;
  /** What is served: the decision of every record set. Every reader of answers and effective health reads these. */
  decisions(): RecordSetDecision[];
  /** The same, each made when it is reached: read them with collectInSlices (slices.ts) where a reader can wait, so DNS answers flow between slices. */
  eachDecision(): Iterable<RecordSetDecision>;
  /** This instance's probes of a probed target (streak, last and recent results). */
  probes: ProbesOf;
  snapshot(): Snapshot | undefined;
  /** Ready once zones are loaded and the first probe round is done; not while stopping. */
  readiness(): { ready: boolean; reason?: string };
  reload(): Promise<ReloadOutcome>;
  maintenance(): WindowStatus[];
  metrics: Metrics;
  /** Writes the state file now (after an operator action): on disk, or the error of the write. */
  persistNow(): Promise<StateWriteOutcome>;
  /** The daemon's Clock: the only source of time for the API (now() is its reading). */
  clock: Clock;
  now(): number;
  /** The Route 53 sink's state; null when Route 53 is not configured. */
  route53(): Route53StatusView | null;
  /** The RFC 2136 sink: each zone on each server it writes to; null when not configured. */
  rfc2136?(): Rfc2136StatusView | null;
  /** Each secondary's last answer to a NOTIFY, per zone; empty without secondaries. */
  secondaries(): NotifyStatus[];
  /** Each webhook's deliveries (notify:): sent, failed, dropped, the last failure. */
  webhooks?(): WebhookStatus[];
  /** The embedded DNS server's UDP worker processes; undefined without workers (dns.workers 1). */
  dnsWorkers?(): WorkerPoolHealth | undefined;
  /** The last hour of each target and the recent override events (the status page). */
  history: StatusHistory;
  /**
   * The failback command for a record set key: decided here, or in cluster
   * mode by the leader (sent through etcd when this instance is not it).
   */
  failback(recordSetKey: string): Promise<FailbackOutcome | { kind: 'requested'; reason: string }>;
  /** Recent transitions of the decisions served, newest first. */
  transitions(limit?: number): Transition[];
  /** Cluster mode's state; undefined without a cluster: section. */
  cluster?(): ClusterStatus | undefined;
  /** The leader duties (Route 53, RFC 2136, webhooks, maintenance): whether this process leads, each duty's state. */
  leaderDuties?(): LeaderDutiesView;
  /** Cluster mode: a target this instance knows and the leader does not decide (a drain of it would be applied nowhere), with the instances that know it. */
  targetUnknownToLeader?(targetId: string): { leader: string; knownBy: string[] } | undefined;
  /** lastReload: the last reload since start (none: undefined); a refused one with its problems (the first 20 as text). */
  /** stateRestoreProblem: why the state file was not restored at start (drains, holds and serials of before forgotten). */
  info(): {
    version: string;
    startedAt: number;
    configFile: string;
    configLoadedAt: number;
    lastReload?: { at: number; ok: boolean; problemCount: number; problems: string[] };
    stateFile?: string;
    stateRestoreProblem?: StateRestoreProblem;
  };
}
