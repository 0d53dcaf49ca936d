/**
 * A real etcd cluster for the cluster tests: 1 or 3 members on free loopback
 * ports, each with its own temp data dir, started with the settings
 * docs/cluster.md asks for (ETCD_SETTINGS). Besides killing and restarting a
 * member it does what an operator's routine does to etcd (etcd-ops.ts runs
 * etcdctl for the cluster): restart every member, wipe the data and start a
 * new empty cluster on the same client ports, freeze every member
 * (SIGSTOP/SIGCONT). Tests call needTool(t, 'etcd', 'etcd-server') first
 * (and needTool(t, 'etcdctl', 'etcd-client') for etcd-ops.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { freePort } from './ports.ts';
import { scaled } from './eventually.ts';

/**
 * The member flags docs/cluster.md documents for failoverd's etcd
 * ("etcd settings"): history compacted automatically, a bounded backend.
 * The compose `cluster` profile and .ci/run use the same.
 */
export const ETCD_SETTINGS = {
  autoCompactionMode: 'periodic',
  autoCompactionRetention: '5m',
  quotaBackendBytes: 2 * 1024 ** 3,
} as const;

interface Member {
  name: string;
  clientUrl: string;
  peerUrl: string;
  dataDir: string;
  proc: ChildProcess | undefined;
  /** The end of what it printed (log level error): why a member died. */
  stderr: string;
}

export interface EtcdCluster {
  /** Client URLs of all members. */
  endpoints: string[];
  /** Kills member i (SIGKILL) and waits for it to exit. */
  kill(i: number): Promise<void>;
  /** Starts member i again on its data dir and ports. */
  restart(i: number): void;
  /** Kills member i and starts it again on its data dir; resolves once the cluster takes writes through it. */
  restartMember(i: number): Promise<void>;
  /** Kills every member, starts them all again on their data dirs; resolves once the cluster takes writes. */
  restartAll(): Promise<void>;
  /**
   * etcd replaced by an empty one: every member killed, its data removed,
   * and a NEW cluster (new cluster ID, revision 1) started on the same client
   * and peer ports; resolves once it takes writes.
   */
  wipe(): Promise<void>;
  /** SIGSTOP to every member: etcd freezes (connections stay open, nothing answers). */
  pause(): void;
  /** SIGCONT to every member. */
  resume(): void;
  /** Kills every member and removes the data dirs. */
  stop(): Promise<void>;
  /** Each member's state and the end of its error output, for a failing test's message. */
  describe(): string;
}

export interface EtcdOptions {
  /** The address the members listen for clients on (default 127.0.0.1). */
  host?: string;
  /** A command that runs etcd, e.g. ['ip', 'netns', 'exec', ns] for members inside a network namespace (peers then talk on its loopback). */
  wrap?: string[];
  /** --quota-backend-bytes (default ETCD_SETTINGS.quotaBackendBytes): a small one reaches NOSPACE quickly. */
  quotaBackendBytes?: number;
}

export async function startEtcd(size: 1 | 3, opts: EtcdOptions = {}): Promise<EtcdCluster> {
  const members: Member[] = [];
  const newDataDir = () => mkdtempSync(join(tmpdir(), 'failoverd-etcd-'));
  for (let i = 0; i < size; i++) {
    members.push({
      name: `m${i}`,
      clientUrl: `http://${opts.host ?? '127.0.0.1'}:${await freePort()}`,
      peerUrl: `http://127.0.0.1:${await freePort()}`,
      dataDir: newDataDir(),
      proc: undefined,
      stderr: '',
    });
  }
  const initial = members.map((m) => `${m.name}=${m.peerUrl}`).join(',');
  // A new token per cluster: a wiped and restarted cluster gets a new cluster ID.
  let token = `failoverd-test-${randomBytes(4).toString('hex')}`;
  const start = (m: Member): void => {
    const [command, ...pre] = [...(opts.wrap ?? []), 'etcd'];
    m.proc = spawn(command!, [...pre,
      '--name', m.name, '--data-dir', m.dataDir,
      '--listen-client-urls', m.clientUrl, '--advertise-client-urls', m.clientUrl,
      '--listen-peer-urls', m.peerUrl, '--initial-advertise-peer-urls', m.peerUrl,
      '--initial-cluster', initial, '--initial-cluster-state', 'new', '--initial-cluster-token', token,
      '--auto-compaction-mode', ETCD_SETTINGS.autoCompactionMode, '--auto-compaction-retention', ETCD_SETTINGS.autoCompactionRetention,
      '--quota-backend-bytes', String(opts.quotaBackendBytes ?? ETCD_SETTINGS.quotaBackendBytes),
      '--heartbeat-interval', '50', '--election-timeout', '500', '--log-level', 'error',
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
    m.proc.stderr!.on('data', (b: Buffer) => {
      m.stderr = (m.stderr + b.toString()).slice(-2000);
    });
  };
  const kill = async (i: number): Promise<void> => {
    const p = members[i]!.proc;
    members[i]!.proc = undefined;
    if (p === undefined || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise((resolve) => p.once('exit', resolve));
    p.kill('SIGKILL');
    await exited;
  };
  const killAll = async (): Promise<void> => {
    await Promise.all(members.map((_, i) => kill(i)));
  };
  const signalAll = (signal: NodeJS.Signals): void => {
    for (const m of members) if (m.proc && m.proc.exitCode === null && m.proc.signalCode === null) m.proc.kill(signal);
  };
  const endpoints = members.map((m) => m.clientUrl);
  for (const m of members) start(m);
  const cluster: EtcdCluster = {
    endpoints,
    kill,
    restart: (i) => start(members[i]!),
    restartMember: async (i) => {
      await kill(i);
      start(members[i]!);
      await waitWritable([members[i]!.clientUrl], 20_000);
    },
    restartAll: async () => {
      await killAll();
      for (const m of members) start(m);
      await waitWritable(endpoints, 20_000);
    },
    wipe: async () => {
      await killAll();
      token = `failoverd-test-${randomBytes(4).toString('hex')}`;
      for (const m of members) {
        rmSync(m.dataDir, { recursive: true, force: true });
        m.dataDir = newDataDir();
      }
      for (const m of members) start(m);
      await waitWritable(endpoints, 20_000);
    },
    pause: () => signalAll('SIGSTOP'),
    resume: () => signalAll('SIGCONT'),
    stop: async () => {
      await killAll();
      for (const m of members) rmSync(m.dataDir, { recursive: true, force: true });
    },
    describe: () =>
      members
        .map((m) => `${m.name} ${m.clientUrl}: ${m.proc === undefined ? 'stopped' : m.proc.exitCode !== null || m.proc.signalCode !== null ? `exited (${m.proc.exitCode ?? m.proc.signalCode})` : 'running'}${m.stderr ? `; stderr: ${m.stderr.trim().slice(-600)}` : ''}`)
        .join('\n'),
  };
  try {
    await waitWritable(cluster.endpoints, 20_000);
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  return cluster;
}

/** Waits (bounded) until a write through `endpoints` succeeds. */
export async function waitWritable(endpoints: string[], timeoutMs: number): Promise<void> {
  const client = new Etcd3({ hosts: endpoints });
  const deadline = Date.now() + scaled(timeoutMs);
  // Each attempt bounded too (a frozen member never answers).
  try {
    for (;;) {
      try {
        await client.put('failoverd-test/ready').value('1').options({ deadline: Math.min(deadline, Date.now() + 2000) }).exec();
        return;
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`etcd at ${endpoints.join(',')} not writable within ${timeoutMs} ms`, { cause: err });
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  } finally {
    client.close();
  }
}
