/**
 * failoverd_cluster_*: a cluster instance's link to etcd, its role, the
 * live vantage points, its etcd watches, the age of the decisions it
 * serves and the decision writes etcd refused. No series without a
 * cluster: section.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import { MIRROR_NAMES, type ClusterStatus } from '../cluster/cluster-node.ts';
import { RECOVERY_CAUSES } from '../cluster/prefix-mirror.ts';
import { DECISION_WRITE_FAILURE_CAUSES } from '../cluster/write-failures.ts';

export function registerClusterMetrics(registry: Registry, status: () => ClusterStatus | undefined, now: () => number): void {
  const registers = [registry];
  const gauge = (name: string, help: string, labelNames: string[], read: (s: ClusterStatus, set: (labels: Record<string, string>, v: number) => void) => void): void => {
    new Gauge({
      name,
      help,
      labelNames,
      registers,
      collect() {
        this.reset();
        const s = status();
        if (s) read(s, (labels, v) => this.set(labels, v));
      },
    });
  };
  gauge('failoverd_cluster_connected', '1 while this instance\'s etcd lease is confirmed (it reaches etcd), else 0.', ['cluster', 'cluster_instance'], (s, set) => set({ cluster: s.name, cluster_instance: s.instance }, s.connected ? 1 : 0));
  gauge('failoverd_cluster_is_leader', '1 while this instance is the cluster\'s leader (it decides and writes Route 53), else 0.', ['cluster', 'cluster_instance'], (s, set) => set({ cluster: s.name, cluster_instance: s.instance }, s.isLeader ? 1 : 0));
  gauge('failoverd_cluster_vantage_points_live', 'Vantage points (instances) whose health reports are live in etcd, as this instance last saw them.', ['cluster'], (s, set) => set({ cluster: s.name }, s.vantagePoints.length));
  gauge('failoverd_cluster_serving', 'What this instance serves, 1 for the current mode: cluster (the leader\'s decisions), frozen (the last decisions, cut off from etcd), local (its own verdict).', ['cluster', 'mode'], (s, set) => {
    for (const mode of ['cluster', 'frozen', 'local']) set({ cluster: s.name, mode }, s.serving === mode ? 1 : 0);
  });
  gauge('failoverd_cluster_current', '1 while this instance serves the cluster\'s decisions, every etcd watch is live and the decisions were confirmed (a leader heartbeat or a decision) recently; else 0.', ['cluster'], (s, set) => set({ cluster: s.name }, s.current ? 1 : 0));
  gauge('failoverd_cluster_decisions_age_seconds', 'Seconds since the decisions this instance serves were last confirmed current: a heartbeat of the leader (every 2 s) or a decision received while every etcd watch was live (since start when never). Grows while there is no leader, while cut off from etcd, and while a watch is broken: the alert signal.', ['cluster', 'cluster_instance'], (s, set) =>
    set({ cluster: s.name, cluster_instance: s.instance }, Math.max(0, (now() - (s.confirmedAt ?? s.startedAt)) / 1000)),
  );
  gauge('failoverd_cluster_watch_live', '1 while this instance\'s etcd watch of a prefix (mirror) follows etcd, 0 while it recovers (re-list and re-watch after a break).', ['cluster', 'mirror'], (s, set) => {
    for (const m of MIRROR_NAMES) set({ cluster: s.name, mirror: m }, s.mirrors[m] === 'live' ? 1 : 0);
  });
  new Counter({
    name: 'failoverd_cluster_watch_recoveries_total',
    help: 'Recoveries of this instance\'s etcd watches, by watch (mirror) and cause: error (stream broke, resumed), compacted (re-listed), canceled (by etcd, re-listed), cluster-changed and revision-backwards (etcd replaced or restored, re-listed).',
    labelNames: ['cluster', 'mirror', 'cause'],
    registers,
    collect() {
      this.reset();
      const s = status();
      if (!s) return;
      for (const m of MIRROR_NAMES) for (const cause of RECOVERY_CAUSES) this.inc({ cluster: s.name, mirror: m, cause }, s.watchRecoveries[m][cause]);
    },
  });
  new Counter({
    name: 'failoverd_cluster_decision_write_failures_total',
    help: 'Decision writes of this instance (as the leader) that etcd refused or did not answer, by cause: too-large, no-space (NOSPACE alarm), too-many-ops, unavailable, permission, other. Every cause is exported from the start.',
    labelNames: ['cluster', 'cause'],
    registers,
    collect() {
      this.reset();
      const s = status();
      if (s) for (const cause of DECISION_WRITE_FAILURE_CAUSES) this.inc({ cluster: s.name, cause }, s.writeFailures[cause]);
    },
  });
  gauge('failoverd_cluster_seconds_since_last_decision', 'Seconds since this instance received the decisions it serves (since start when it has none). The leader writes them when they change, so this also grows while nothing changes; read it with failoverd_cluster_connected.', ['cluster'], (s, set) =>
    set({ cluster: s.name }, Math.max(0, (now() - (s.lastDecision?.receivedAt ?? s.startedAt)) / 1000)),
  );
}
