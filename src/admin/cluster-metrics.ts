/**
 * failoverd_cluster_*: a cluster instance's link to etcd, its role, the
 * live vantage points and the age of the decisions it serves. No series
 * without a cluster: section.
 */
import { Gauge, type Registry } from 'prom-client';
import type { ClusterStatus } from '../cluster/cluster-node.ts';

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
  gauge('failoverd_cluster_seconds_since_last_decision', 'Seconds since this instance received the decisions it serves (since start when it has none). The leader writes them when they change, so this also grows while nothing changes; read it with failoverd_cluster_connected.', ['cluster'], (s, set) =>
    set({ cluster: s.name }, Math.max(0, (now() - (s.lastDecision?.receivedAt ?? s.startedAt)) / 1000)),
  );
}
