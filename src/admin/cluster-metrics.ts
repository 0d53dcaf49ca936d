/**
 * failoverd_cluster_*: a cluster instance's link to etcd, its role, the
 * live vantage points, its etcd watches, the age of the decisions it
 * serves, the writes etcd refused and etcd's alarms. No series without a
 * cluster: section.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import { MIRROR_NAMES, type ClusterStatus } from '../cluster/cluster-node.ts';
import { RECOVERY_CAUSES } from '../cluster/prefix-mirror.ts';
import { DECISION_WRITE_FAILURE_CAUSES } from '../cluster/write-failures.ts';
import { ETCD_ALARMS } from '../cluster/etcd-alarms.ts';
import { ETCD_WRITES } from '../cluster/etcd-writes.ts';

export function registerClusterMetrics(registry: Registry, status: () => ClusterStatus | undefined, now: () => number): void {
  const registers = [registry];
  type Read = (s: ClusterStatus, set: (labels: Record<string, string>, v: number) => void) => void;
  /** A gauge or a counter read whole from the status at each scrape (the status keeps the counts). */
  const collected = (kind: 'gauge' | 'counter', name: string, help: string, labelNames: string[], read: Read): void => {
    const config = { name, help, labelNames, registers };
    if (kind === 'gauge') {
      new Gauge({
        ...config,
        collect() {
          this.reset();
          const s = status();
          if (s) read(s, (l, v) => this.set(l, v));
        },
      });
    } else {
      new Counter({
        ...config,
        collect() {
          this.reset();
          const s = status();
          if (s) read(s, (l, v) => this.inc(l, v));
        },
      });
    }
  };
  const gauge = (name: string, help: string, labelNames: string[], read: Read): void => collected('gauge', name, help, labelNames, read);
  const counter = (name: string, help: string, labelNames: string[], read: Read): void => collected('counter', name, help, labelNames, read);
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
  counter('failoverd_cluster_watch_recoveries_total', 'Recoveries of this instance\'s etcd watches, by watch (mirror) and cause: error (stream broke, resumed), compacted (re-listed), canceled (by etcd, re-listed), cluster-changed and revision-backwards (etcd replaced or restored, re-listed).', ['cluster', 'mirror', 'cause'], (s, inc) => {
    for (const m of MIRROR_NAMES) for (const cause of RECOVERY_CAUSES) inc({ cluster: s.name, mirror: m, cause }, s.watchRecoveries[m][cause]);
  });
  counter('failoverd_cluster_decision_write_failures_total', 'Decision writes of this instance (as the leader) that etcd refused or did not answer, by cause: too-large, no-space (NOSPACE alarm), too-many-ops, unavailable, permission, other. Every cause is exported from the start.', ['cluster', 'cause'], (s, inc) => {
    for (const cause of DECISION_WRITE_FAILURE_CAUSES) inc({ cluster: s.name, cause }, s.writeFailures[cause]);
  });
  counter(
    'failoverd_cluster_etcd_write_failures_total',
    'Writes of this instance that etcd refused or did not answer, by write (vantage: its health report; heartbeat and decisions: as the leader; overrides: drains and pins; failback: a failback command sent to the leader; campaign: its bid for the lead) and cause: too-large, no-space (NOSPACE alarm), too-many-ops, unavailable, permission, other. Every write and cause is exported from the start.',
    ['cluster', 'write', 'cause'],
    (s, inc) => {
      for (const write of ETCD_WRITES) for (const cause of DECISION_WRITE_FAILURE_CAUSES) inc({ cluster: s.name, write, cause }, s.etcdWriteFailures[write][cause]);
    },
  );
  gauge('failoverd_cluster_etcd_alarm', '1 while etcd has this alarm raised on any member (NOSPACE: its quota is full, it refuses every write; CORRUPT), else 0; read every 10 s (2 s while one is raised). No series before the first read.', ['cluster', 'alarm'], (s, set) => {
    if (!s.etcdAlarms) return;
    for (const alarm of new Set([...ETCD_ALARMS, ...s.etcdAlarms.raised])) set({ cluster: s.name, alarm }, s.etcdAlarms.raised.includes(alarm) ? 1 : 0);
  });
  gauge('failoverd_cluster_seconds_since_last_decision', 'Seconds since this instance received the decisions it serves (since start when it has none). The leader writes them when they change, so this also grows while nothing changes; read it with failoverd_cluster_connected.', ['cluster'], (s, set) =>
    set({ cluster: s.name }, Math.max(0, (now() - (s.lastDecision?.receivedAt ?? s.startedAt)) / 1000)),
  );
}
