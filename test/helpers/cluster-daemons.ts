/**
 * Several failoverd processes on loopback forming one cluster on a real
 * etcd: each in its own temp folder with the same records, its own admin
 * and DNS ports, and `cluster.instance: fo-<n>`. Ask them all the same
 * question, find the leader, kill and restart one. With `host`, `targets`
 * and `place` the instances run elsewhere than on loopback, e.g. each in its
 * own network namespace (test/cluster-netns.test.ts).
 */
import type { TestContext } from 'node:test';
import { AdminDaemon, FAST, TestDir, TOKEN, until, type DaemonPlace } from './admin-daemon.ts';
import { httpBackendsOnOnePort, type Backend } from './backends.ts';
import { startEtcd, type EtcdCluster, type EtcdOptions } from './etcd.ts';
import { needTool } from './tools.ts';

export interface ClusterOptions {
  endpoints: string[];
  /** The backends' HTTP port (the same port on 127.0.0.1 and 127.0.0.2). */
  port: number;
  name?: string;
  leaseTtl?: string;
  quorum?: string;
  onLoss?: 'freeze' | 'local';
  /** More top-level YAML (e.g. a route53: section); a function gives instance n its own. */
  extra?: string | ((n: number) => string);
  /** More record sets (YAML list items under records:, after www.example.test); their checks may be web1 or web2. */
  moreRecords?: string;
  failback?: string;
  /** The port instance n probes the primary on (default: `port`): a dead port cuts that instance off from the primary. */
  primaryPort?: (n: number) => number | undefined;
  startupTimeout?: string;
  /** Environment of every instance (e.g. AWS_ENV for moto). */
  env?: NodeJS.ProcessEnv;
  /** The address instance n listens on for DNS and the admin API (default 127.0.0.1). */
  host?: (n: number) => string;
  /** The primary's and the secondary's addresses (default 127.0.0.1 and 127.0.0.2). */
  targets?: [string, string];
  /** Where instance n runs (default: here, on loopback). */
  place?: (n: number) => DaemonPlace;
}

export function clusterConfig(n: number, o: ClusterOptions): string {
  const host = o.host?.(n) ?? '127.0.0.1';
  const [primary, secondary] = o.targets ?? ['127.0.0.1', '127.0.0.2'];
  return `dns: { listen: ["${host}:0"] }
zones: zones
admin: { listen: "${host}:0", token: "${TOKEN}", allowPlaintext: true }
startupTimeout: ${o.startupTimeout ?? '8s'}
checks:
  web1: { type: http, port: ${o.primaryPort?.(n) ?? o.port}, ${FAST} }
  web2: { type: http, port: ${o.port}, ${FAST} }
records:
  - name: www.example.test
    type: A
    ttl: 5
    failback: ${o.failback ?? 'auto'}
    targets: [{ address: ${primary}, check: web1 }, { address: ${secondary}, check: web2 }]
${o.moreRecords ?? ''}cluster:
  name: ${o.name ?? 'test'}
  instance: fo-${n}
  etcd: { endpoints: ${JSON.stringify(o.endpoints)} }
  quorum: ${o.quorum ?? 'majority'}
  leaseTtl: ${o.leaseTtl ?? '1s'}
  onLoss: ${o.onLoss ?? 'freeze'}
${typeof o.extra === 'function' ? o.extra(n) : (o.extra ?? '')}`;
}

export class LoopbackCluster {
  readonly dirs: TestDir[] = [];
  readonly daemons: Array<AdminDaemon | undefined> = [];
  /** Instances whose process runs and that do not serve DNS yet: stop() kills them too. */
  readonly starting = new Set<AdminDaemon>();
  private stopped = false;

  constructor(
    readonly size: number,
    readonly o: ClusterOptions,
  ) {
    for (let i = 1; i <= size; i++) {
      const d = new TestDir();
      d.write(clusterConfig(i, o));
      this.dirs.push(d);
    }
  }

  /** Starts every instance (in parallel) and waits until each serves DNS. */
  async start(timeoutMs = 20_000): Promise<void> {
    await Promise.all(this.dirs.map((_, i) => this.startOne(i, timeoutMs)));
  }

  /**
   * Starts instance i and waits until it serves DNS. Its process is killed
   * on every way this fails: not serving in time (ready() kills it), or the
   * cluster stopped meanwhile (stop() kills the instances still starting;
   * one that gets ready after it is killed here), so no daemon outlives the test.
   */
  async startOne(i: number, timeoutMs = 20_000): Promise<AdminDaemon> {
    if (this.stopped) throw new Error(`fo-${i + 1} not started: the cluster is stopped`);
    const d = new AdminDaemon(this.dirs[i]!, this.o.env ?? {}, this.o.place?.(i + 1));
    this.starting.add(d);
    try {
      await d.ready(timeoutMs);
    } finally {
      this.starting.delete(d);
    }
    if (this.stopped) {
      await d.stop('SIGKILL');
      throw new Error(`fo-${i + 1} got ready after the cluster was stopped: killed`);
    }
    this.daemons[i] = d;
    return d;
  }

  /** The running instances (only those of `among` when given). */
  live(among?: number[]): AdminDaemon[] {
    return this.daemons.filter((d, i): d is AdminDaemon => d !== undefined && (!among || among.includes(i)));
  }

  /** Each live instance's answer and SOA serial (asking only `among`, default all live). */
  async views(name = 'www.example.test', among?: number[]): Promise<Array<{ answer: string; serial: number | string }>> {
    return Promise.all(
      this.live(among).map(async (d) => ({
        answer: (await d.answer(name)).join(','),
        serial: await d.serial().catch((err: { code?: string }) => err.code ?? 'error'),
      })),
    );
  }

  /** Waits until every live instance (of `among`) answers `want` with one SOA serial; returns the time it took and the serial. */
  async waitSame(want: string[], timeoutMs = 5000, among?: number[]): Promise<{ ms: number; serial: number }> {
    const start = Date.now();
    const views = await until(
      `every instance answering ${want.join(',')} with one serial`,
      async () => {
        const v = await this.views('www.example.test', among);
        return v.every((x) => x.answer === want.join(',') && x.serial === v[0]!.serial) ? v : undefined;
      },
      timeoutMs,
    );
    return { ms: Date.now() - start, serial: views![0]!.serial as number };
  }

  /** Rewrites instance i's config (applied by a reload or a restart). */
  rewrite(i: number, o: Partial<ClusterOptions>): void {
    this.dirs[i]!.write(clusterConfig(i + 1, { ...this.o, ...o }));
  }

  /** Index of the instance whose /v1/status says it leads (asking only `among`, default all live). */
  async leaderIndex(timeoutMs = 5000, among?: number[]): Promise<number> {
    return until(
      'one leader',
      async () => {
        const st = await Promise.all(this.daemons.map(async (d, i) => (d && (!among || among.includes(i)) ? (await d.api('GET', '/v1/status')).body?.cluster : undefined)));
        const leaders = st.map((s, i) => (s?.isLeader ? i : -1)).filter((i) => i >= 0);
        return leaders.length === 1 ? leaders[0]! + 1 : undefined;
      },
      timeoutMs,
    ).then((i) => i! - 1);
  }

  async status(i: number): Promise<any> {
    return (await this.daemons[i]!.api('GET', '/v1/status')).body;
  }

  async kill(i: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const d = this.daemons[i];
    this.daemons[i] = undefined;
    await d?.stop(signal);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all([...this.daemons.map((d) => d?.stop()), ...[...this.starting].map((d) => d.stop('SIGKILL'))]);
    for (const d of this.dirs) d.remove();
  }
}

/** What a loopback cluster test starts: etcd, the two backends (127.0.0.1 and 127.0.0.2 on one port) and the instances. */
export interface LoopbackSetup {
  etcd: EtcdCluster;
  primary: Backend;
  secondary: Backend;
  /** Every backend, primary and secondary first (one per address of `backends`). */
  backends: Backend[];
  cluster: LoopbackCluster;
}

/**
 * Starts etcd (`etcdSize` members), the two backends and `size` instances
 * with `options` (endpoints and port filled in), all stopped when the test
 * ends; undefined when the test was skipped for want of etcd. With
 * `startEtcdDown` etcd is started and killed before the instances start;
 * `etcd` sets its members' options; `backends` lists more backend addresses
 * than the default two (all on one port).
 */
export async function startLoopbackCluster(
  t: TestContext,
  o: { size?: number; etcdSize?: 1 | 3; startEtcdDown?: boolean; start?: boolean; etcd?: EtcdOptions; backends?: string[] } & Partial<ClusterOptions> = {},
): Promise<LoopbackSetup | undefined> {
  if (!needTool(t, 'etcd', 'etcd-server')) return undefined;
  const etcd = await startEtcd(o.etcdSize ?? 1, o.etcd);
  t.after(() => etcd.stop());
  if (o.startEtcdDown) await etcd.kill(0);
  const backends = await httpBackendsOnOnePort(o.backends ?? ['127.0.0.1', '127.0.0.2']);
  const [primary, secondary] = backends;
  t.after(async () => {
    for (const b of backends) await b.kill();
  });
  const { size, etcdSize: _, startEtcdDown: __, start, etcd: ___, backends: ____, ...rest } = o;
  const cluster = new LoopbackCluster(size ?? 3, { leaseTtl: '1s', ...rest, endpoints: etcd.endpoints, port: primary!.port });
  t.after(() => cluster.stop());
  if (start !== false) await cluster.start();
  return { etcd, primary: primary!, secondary: secondary!, backends, cluster };
}
