/**
 * A real etcd cluster for the cluster tests: 1 or 3 members on free loopback
 * ports, each with its own temp data dir; a member can be killed and
 * restarted (same data dir, same ports). Tests call needTool(t, 'etcd',
 * 'etcd-server') first.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { freePort } from './ports.ts';

interface Member {
  name: string;
  clientUrl: string;
  peerUrl: string;
  dataDir: string;
  proc: ChildProcess | undefined;
}

export interface EtcdCluster {
  /** Client URLs of all members. */
  endpoints: string[];
  /** Kills member i (SIGKILL) and waits for it to exit. */
  kill(i: number): Promise<void>;
  /** Starts member i again on its data dir and ports. */
  restart(i: number): void;
  /** Kills every member and removes the data dirs. */
  stop(): Promise<void>;
}

/**
 * `host`: the address the members listen for clients on (default 127.0.0.1);
 * `wrap`: a command that runs etcd, e.g. ['ip', 'netns', 'exec', ns] for
 * members inside a network namespace (peers then talk on its loopback).
 */
export async function startEtcd(size: 1 | 3, opts: { host?: string; wrap?: string[] } = {}): Promise<EtcdCluster> {
  const members: Member[] = [];
  for (let i = 0; i < size; i++) {
    members.push({
      name: `m${i}`,
      clientUrl: `http://${opts.host ?? '127.0.0.1'}:${await freePort()}`,
      peerUrl: `http://127.0.0.1:${await freePort()}`,
      dataDir: mkdtempSync(join(tmpdir(), 'failoverd-etcd-')),
      proc: undefined,
    });
  }
  const initial = members.map((m) => `${m.name}=${m.peerUrl}`).join(',');
  const start = (m: Member): void => {
    const [command, ...pre] = [...(opts.wrap ?? []), 'etcd'];
    m.proc = spawn(command!, [...pre,
      '--name', m.name, '--data-dir', m.dataDir,
      '--listen-client-urls', m.clientUrl, '--advertise-client-urls', m.clientUrl,
      '--listen-peer-urls', m.peerUrl, '--initial-advertise-peer-urls', m.peerUrl,
      '--initial-cluster', initial, '--initial-cluster-state', 'new',
      '--heartbeat-interval', '50', '--election-timeout', '500', '--log-level', 'error',
    ], { stdio: 'ignore' });
  };
  const kill = async (i: number): Promise<void> => {
    const p = members[i].proc;
    members[i].proc = undefined;
    if (p === undefined || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise((resolve) => p.once('exit', resolve));
    p.kill('SIGKILL');
    await exited;
  };
  for (const m of members) start(m);
  const cluster: EtcdCluster = {
    endpoints: members.map((m) => m.clientUrl),
    kill,
    restart: (i) => start(members[i]),
    stop: async () => {
      for (let i = 0; i < members.length; i++) await kill(i);
      for (const m of members) rmSync(m.dataDir, { recursive: true, force: true });
    },
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
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      try {
        await client.put('failoverd-test/ready').value('1').exec();
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
