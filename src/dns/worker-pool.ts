/**
 * UdpWorkerPool: N worker processes (node:cluster) serving UDP on the
 * listen addresses of the main process.
 *
 * Why cluster: Node 20's dgram has no SO_REUSEPORT option; cluster instead
 * creates one UDP handle in the main process and shares it with every
 * worker that binds the same address and port, so all of them read the same
 * socket and the kernel gives each datagram to one of them. The main
 * process never reads it.
 *
 * Every snapshot goes to every worker over the IPC channel ('advanced'
 * serialization: structured clone keeps Maps and Buffers): whole the first
 * time, then as a delta from the previous one (snapshot-delta.ts: only the
 * nodes that changed); a worker swaps it in as soon as it arrives and
 * acknowledges it, so
 * `lastPush` tells how long an answer change took to reach every worker.
 * A worker that dies is forked again (at most once a second) and given the
 * listen addresses and the current snapshot before it serves.
 */
import cluster, { type Worker } from 'node:cluster';
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { Clock } from '../clock.ts';
import { liveGeoDatabases } from '../config/geo-database.ts';
import type { EcsSettings } from './client-subnet.ts';
import type { Logger } from '../log.ts';
import type { Snapshot } from '../records/snapshot.ts';
import { snapshotDelta } from './snapshot-delta.ts';
import type { DnsClient } from './dns2.ts';
import type { FromWorker, ToWorker } from './worker-protocol.ts';

export function resolveWorkers(w: number | 'auto' | undefined): number {
  if (w === 'auto') return availableParallelism();
  return w === undefined || w < 1 ? 1 : Math.floor(w);
}

export interface UdpWorkerPoolOptions {
  logger: Logger;
  /** EDNS Client Subnet settings, passed to each worker (FAILOVERD_DNS_ECS). */
  ecs?: EcsSettings;
  /** Timers and the restart pacing (default: the system clock). */
  clock: Clock;
  /** A query only the main process answers; returns the replies to send back. */
  onForward: (raw: Buffer, client: DnsClient) => Buffer[];
  /** `count` replies with `rcode` were sent by workers. */
  onReplies?: (rcode: number, count: number) => void;
}

/** The pool's workers: how many it keeps, how many run now, and the ones that exited without being asked to. */
export interface WorkerPoolHealth {
  size: number;
  /** Worker processes alive now (a replacement counts from its fork). */
  running: number;
  /** Workers that exited while the pool was not stopping (each is replaced). */
  exits: number;
  /** The last of those: when (epoch ms), which process, its exit code or signal. */
  lastExit?: { at: number; pid: number; code: number | null; signal: string | null };
}

export interface PushTiming {
  seq: number;
  /** Milliseconds from push() until the last worker had swapped the snapshot in. */
  ms: number;
}

interface Member {
  worker: Worker;
  ready: Promise<void>;
  /** Listen requests waiting for this worker's answer. */
  waiting: Map<number, (m: Extract<FromWorker, { type: 'listening' }>) => void>;
  appliedSeq: number;
  /** The snapshot last sent to this worker (deltas apply to it). */
  has: Snapshot | undefined;
  /** The MaxMind databases (ids) this worker holds. */
  geo: Set<string>;
}

let primaryConfigured = false;

function configurePrimary(): void {
  if (primaryConfigured) return;
  primaryConfigured = true;
  const here = import.meta.url;
  const exec = fileURLToPath(new URL(here.endsWith('.ts') ? './udp-worker.ts' : './udp-worker.js', here));
  // Running from TypeScript sources: the workers need the same loader.
  const execArgv = here.endsWith('.ts') ? ['--import', import.meta.resolve('tsx')] : [];
  cluster.setupPrimary({ exec, execArgv, serialization: 'advanced', args: [] });
}

export class UdpWorkerPool {
  private readonly members = new Set<Member>();
  private readonly listens: Array<{ host: string; port: number }> = [];
  private snapshot: Snapshot | undefined;
  private seq = 0;
  private nextListenId = 1;
  private stopping = false;
  private lastFork = 0;
  private exits = 0;
  private lastExit: WorkerPoolHealth['lastExit'];
  private readonly pushedAt = new Map<number, number>();
  /** The latest completed push. */
  lastPush: PushTiming | undefined;
  /** Called when every worker has applied a pushed snapshot. */
  readonly pushListeners: Array<(t: PushTiming) => void> = [];

  private readonly clock: Clock;

  constructor(
    readonly size: number,
    private readonly opts: UdpWorkerPoolOptions,
  ) {
    this.clock = opts.clock;
  }

  async start(): Promise<void> {
    configurePrimary();
    const started: Promise<void>[] = [];
    for (let i = 0; i < this.size; i++) started.push(this.fork().ready);
    await Promise.all(started);
  }

  /** Binds host:port in every worker (one shared handle); rejects with the first error. */
  async listen(host: string, port: number): Promise<void> {
    const results = await Promise.all([...this.members].map((m) => this.listenIn(m, host, port)));
    const failed = results.find((r) => r.error);
    if (failed) {
      const err = new Error(failed.error) as NodeJS.ErrnoException;
      err.code = failed.code;
      throw err;
    }
    this.listens.push({ host, port });
  }

  /**
   * Sends `snapshot` to every worker (only what changed since the one it
   * has, when it has the previous one); each swaps it in on arrival.
   */
  push(snapshot: Snapshot): void {
    const prev = this.snapshot;
    this.snapshot = snapshot;
    const seq = ++this.seq;
    this.pushedAt.set(seq, performance.now());
    const delta = prev && prev.version !== snapshot.version ? snapshotDelta(prev, snapshot) : undefined;
    for (const m of this.members) {
      this.sendGeo(m);
      if (delta && m.has === prev) this.send(m.worker, { type: 'delta', seq, delta });
      else this.send(m.worker, { type: 'snapshot', seq, snapshot });
      m.has = snapshot;
    }
  }

  /** Resolves once every worker has applied the latest push (or after timeoutMs). */
  settled(timeoutMs = 5000): Promise<boolean> {
    const target = this.seq;
    if ([...this.members].every((m) => m.appliedSeq >= target)) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = this.clock.setTimer(timeoutMs, () => done(false));
      const listener = (t: PushTiming): void => {
        if (t.seq >= target) done(true);
      };
      const done = (ok: boolean): void => {
        timer.cancel();
        const i = this.pushListeners.indexOf(listener);
        if (i >= 0) this.pushListeners.splice(i, 1);
        resolve(ok);
      };
      this.pushListeners.push(listener);
    });
  }

  health(): WorkerPoolHealth {
    return { size: this.size, running: this.members.size, exits: this.exits, ...(this.lastExit ? { lastExit: this.lastExit } : {}) };
  }

  /** Process ids of the workers (for tests and benchmarks). */
  pids(): number[] {
    return [...this.members].map((m) => m.worker.process.pid ?? 0);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    const exits: Promise<void>[] = [];
    for (const m of this.members) {
      const w = m.worker;
      exits.push(
        new Promise<void>((resolve) => {
          if (w.isDead()) return resolve();
          const t = this.clock.setTimer(2000, () => {
            w.process.kill('SIGKILL');
            resolve();
          });
          w.once('exit', () => {
            t.cancel();
            resolve();
          });
          this.send(w, { type: 'stop' });
        }),
      );
    }
    await Promise.all(exits);
    this.members.clear();
  }

  private fork(): Member {
    this.lastFork = this.clock.now();
    const worker = cluster.fork({ FAILOVERD_LOG_LEVEL: this.opts.logger.level, ...(this.opts.ecs ? { FAILOVERD_DNS_ECS: JSON.stringify(this.opts.ecs) } : {}) });
    let readyResolve!: () => void;
    const member: Member = { worker, ready: new Promise((r) => (readyResolve = r)), waiting: new Map(), appliedSeq: 0, has: undefined, geo: new Set() };
    this.members.add(member);
    worker.on('message', (m: FromWorker) => this.onMessage(member, m, readyResolve));
    worker.on('error', (err) => this.opts.logger.warn({ err, pid: worker.process.pid }, 'DNS worker IPC error'));
    worker.on('exit', (code, signal) => {
      this.members.delete(member);
      for (const w of member.waiting.values()) w({ type: 'listening', id: 0, socket: -1, error: `worker exited (${signal ?? code})` });
      if (this.stopping) return;
      this.exits++;
      this.lastExit = { at: this.clock.now(), pid: worker.process.pid ?? 0, code, signal };
      this.opts.logger.error({ pid: worker.process.pid, code, signal }, 'DNS worker exited; starting another');
      const wait = Math.max(0, this.lastFork + 1000 - this.clock.now());
      this.clock.setTimer(wait, () => void this.replace());
    });
    return member;
  }

  /** A new worker in place of one that died: snapshot first, then the listen addresses. */
  private async replace(): Promise<void> {
    if (this.stopping) return;
    const m = this.fork();
    await m.ready;
    if (this.snapshot) {
      this.sendGeo(m);
      this.send(m.worker, { type: 'snapshot', seq: this.seq, snapshot: this.snapshot });
      m.has = this.snapshot;
    }
    for (const l of this.listens) {
      const r = await this.listenIn(m, l.host, l.port);
      if (r.error) this.opts.logger.error({ host: l.host, port: l.port, err: r.error }, 'restarted DNS worker cannot listen');
    }
  }

  /**
   * Before a snapshot: the MaxMind databases of the topology maps (a
   * snapshot carries only their ids) that the worker does not hold yet,
   * once each, and which it may drop.
   */
  private sendGeo(m: Member): void {
    const live = liveGeoDatabases();
    const fresh = live.filter((db) => !m.geo.has(db.id));
    const ids = live.map((db) => db.id);
    if (fresh.length === 0 && m.geo.size === ids.length) return;
    this.send(m.worker, { type: 'geo', databases: fresh.map((db) => ({ id: db.id, file: db.file, bytes: db.bytes() })), live: ids });
    m.geo = new Set(ids);
  }

  private listenIn(m: Member, host: string, port: number): Promise<Extract<FromWorker, { type: 'listening' }>> {
    return m.ready.then(
      () =>
        new Promise((resolve) => {
          const id = this.nextListenId++;
          m.waiting.set(id, resolve);
          this.send(m.worker, { type: 'listen', id, host, port });
        }),
    );
  }

  private onMessage(m: Member, msg: FromWorker, ready: () => void): void {
    switch (msg.type) {
      case 'ready':
        ready();
        return;
      case 'listening': {
        const w = m.waiting.get(msg.id);
        m.waiting.delete(msg.id);
        w?.(msg);
        return;
      }
      case 'applied': {
        m.appliedSeq = Math.max(m.appliedSeq, msg.seq);
        const at = this.pushedAt.get(msg.seq);
        if (at === undefined) return;
        for (const other of this.members) if (other.appliedSeq < msg.seq) return;
        this.pushedAt.delete(msg.seq);
        for (const s of this.pushedAt.keys()) if (s < msg.seq) this.pushedAt.delete(s);
        const t = { seq: msg.seq, ms: performance.now() - at };
        this.lastPush = t;
        for (const l of [...this.pushListeners]) l(t);
        return;
      }
      case 'resync':
        if (this.snapshot) {
          this.sendGeo(m);
          this.send(m.worker, { type: 'snapshot', seq: this.seq, snapshot: this.snapshot });
          m.has = this.snapshot;
        }
        return;
      case 'forward': {
        let replies: Buffer[] = [];
        try {
          replies = this.opts.onForward(msg.raw, msg.client);
        } catch (err) {
          this.opts.logger.warn({ err }, 'forwarded query failed');
        }
        if (replies.length > 0) this.send(m.worker, { type: 'replies', socket: msg.socket, client: msg.client, replies });
        return;
      }
      case 'replies-sent':
        for (const [rcode, count] of Object.entries(msg.byRcode)) this.opts.onReplies?.(Number(rcode), count);
        return;
    }
  }

  private send(w: Worker, m: ToWorker): void {
    if (!w.isConnected()) return;
    try {
      w.send(m);
    } catch (err) {
      this.opts.logger.warn({ err, pid: w.process.pid }, 'cannot reach a DNS worker');
    }
  }
}
