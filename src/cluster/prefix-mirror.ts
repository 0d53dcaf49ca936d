/**
 * A local copy of every key under one etcd prefix, kept current by a watch
 * and repaired by itself, as Kubernetes' reflector does: etcd's life
 * (compaction, member restarts, a restore or a wipe) is routine.
 * - start(): list the prefix, then watch from the list's revision + 1
 *   (nothing is missed in between).
 * - The watch stream broke (member down, network): watch again from the
 *   last revision seen (cause 'error'); no re-list needed.
 * - The watch was canceled by etcd ('compacted': the revision to resume
 *   from is gone; 'canceled'), or etcd is not the one listed
 *   ('cluster-changed': another cluster id; 'revision-backwards': etcd's
 *   revision is below one already seen, as after a restore from backup or
 *   a wipe, where a resumed watch would wait for a revision that never
 *   comes): list again, diff against the local copy and report every
 *   difference (deletes included), then watch from the new list.
 * The revision going backwards is seen in the header of a re-created watch
 * and in the periodic check (checkpoint()) of the node's tick. A member
 * change alone is not a cause: the members of one cluster serve one
 * history, and a watch re-created on a member that lags is confirmed by a
 * linearizable read before anything is thrown away.
 * Every recovery is reported once ('recovering' with its cause, then
 * 'live'); state says whether the copy is live.
 */
import { EventEmitter } from 'node:events';
import type { Clock, TimerHandle } from '../clock.ts';
import type { EtcdHeader, EtcdPort, EtcdWatch, EtcdWatchMessage } from './etcd-port.ts';

/** Why a mirror recovered; every value is exported as a metric label from the start. */
export const RECOVERY_CAUSES = ['error', 'compacted', 'canceled', 'cluster-changed', 'revision-backwards'] as const;
export type RecoveryCause = (typeof RECOVERY_CAUSES)[number];

export type MirrorState = 'live' | 'recovering';

/** The first pause before trying again after a failed list or watch; doubled up to RETRY_MAX_MS. */
export const RETRY_MIN_MS = 100;
export const RETRY_MAX_MS = 1000;

interface MirrorEvents {
  change: [key: string, value: string | undefined];
  /** The copy is no longer current: it is being repaired. */
  recovering: [cause: RecoveryCause, detail: string];
  /** The copy is current again (also after start()). */
  live: [];
}

export class PrefixMirror extends EventEmitter<MirrorEvents> {
  private readonly entries = new Map<string, string>();
  private watch: EtcdWatch | undefined;
  /** The header of the last list, with the highest revision seen since (watch headers, events). */
  private seen: EtcdHeader | undefined;
  private started = false;
  private stopped = false;
  private live = false;
  /** The cause of the recovery under way, if any. */
  private recovering: RecoveryCause | undefined;
  private retry: TimerHandle | undefined;
  private retryMs = RETRY_MIN_MS;
  /** Bumped on every new watch, list or stop: a late answer of an older one is ignored. */
  private generation = 0;
  private readonly clock: Clock;

  constructor(
    private readonly etcd: EtcdPort,
    readonly prefix: string,
    opts: { clock: Clock },
  ) {
    super();
    this.clock = opts.clock;
  }

  /** 'live' while the copy follows etcd; 'recovering' from a broken watch until it follows again (and before start). */
  get state(): MirrorState {
    return this.live ? 'live' : 'recovering';
  }

  /** The highest etcd revision this copy reflects. */
  get revision(): bigint | undefined {
    return this.seen?.revision;
  }

  /** Lists the prefix and starts the watch; rejects when etcd does not answer the list. A second call does nothing. */
  async start(): Promise<void> {
    if (this.started) return;
    this.stopped = false;
    const gen = ++this.generation;
    const res = await this.etcd.getPrefix(this.prefix);
    if (gen !== this.generation || this.stopped) return;
    this.started = true;
    this.replace(res.kvs);
    this.seen = res.header;
    this.live = true;
    this.openWatch(res.header.revision + 1n);
    this.emit('live');
  }

  get(key: string): string | undefined {
    return this.entries.get(key);
  }

  all(): ReadonlyMap<string, string> {
    return this.entries;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.started = false;
    this.generation++;
    this.retry?.cancel();
    this.retry = undefined;
    const w = this.watch;
    this.watch = undefined;
    this.live = false;
    await w?.cancel().catch(() => undefined);
  }

  /**
   * For a periodic check: call before a read of etcd, then give the read's
   * header to the function returned. A revision below what this copy had
   * seen before the read, or another cluster id, starts a recovery.
   */
  checkpoint(): (h: EtcdHeader) => void {
    const before = this.seen;
    const gen = this.generation;
    return (h) => {
      if (!before || gen !== this.generation || !this.live || this.stopped) return;
      const cause = historyBreak(before, h);
      if (cause) this.recover(cause, describe(cause, before, h));
    };
  }

  private openWatch(from: bigint): void {
    const gen = ++this.generation;
    this.watch = this.etcd.watch(this.prefix, from, (m) => {
      if (gen === this.generation && !this.stopped) this.onMessage(m, gen);
    });
  }

  private onMessage(m: EtcdWatchMessage, gen: number): void {
    const seen = this.seen!;
    if (m.kind === 'created') {
      const cause = historyBreak(seen, m.header);
      if (cause === undefined) return this.becomeLive(m.header);
      // Another cluster, or a revision below one seen: a member that lags, or etcd's history really went back? Ask (linearizable).
      this.etcd.get(this.prefix).then(
        (res) => {
          if (gen !== this.generation || this.stopped) return;
          const really = historyBreak(seen, res.header);
          if (really) this.recover(really, describe(really, seen, res.header));
          else this.becomeLive(m.header);
        },
        () => {
          if (gen === this.generation && !this.stopped) this.recover(cause, describe(cause, seen, m.header));
        },
      );
      return;
    }
    if (m.kind === 'events') {
      // The revision reached is the last event's, not the header's: a watch
      // catching up gets its events in batches, each with the store's current
      // revision in its header; resuming after that revision would skip the
      // batches still to come. A progress notification (no events) is sent
      // only once the watch has caught up: its header revision is reached.
      let reached = m.events.length === 0 ? m.header.revision : seen.revision;
      for (const e of m.events) {
        if (e.type === 'put') {
          this.apply(e.kv.key, e.kv.value);
          if (e.kv.modRevision > reached) reached = e.kv.modRevision;
        } else {
          this.apply(e.key, undefined);
          if (e.modRevision > reached) reached = e.modRevision;
        }
      }
      if (reached > seen.revision) this.seen = { ...seen, revision: reached };
      return;
    }
    // Canceled: a broken stream resumes from the last revision seen; anything else lists again.
    this.watch = undefined;
    if (m.cause === 'error') this.resume(m.reason);
    else this.recover(m.cause, m.reason);
  }

  private becomeLive(h: EtcdHeader): void {
    this.retryMs = RETRY_MIN_MS;
    // The member may differ after a reconnect: remember the one answering now.
    // Not its revision: the events up to it may still be on their way.
    this.seen = { ...this.seen!, clusterId: h.clusterId, memberId: h.memberId };
    if (this.live) return;
    this.live = true;
    this.recovering = undefined;
    this.emit('live');
  }

  private goRecovering(cause: RecoveryCause, detail: string): void {
    if (this.recovering === cause) return; // one report per cause of a recovery
    this.recovering = cause;
    this.live = false;
    this.emit('recovering', cause, detail);
  }

  /** The stream broke: watch again from the last revision seen (after a pause when it keeps failing). */
  private resume(detail: string): void {
    this.goRecovering('error', detail);
    this.later(() => this.openWatch(this.seen!.revision + 1n));
  }

  /** Lists again (or uses a list just made), reports the differences, and watches from there. */
  private recover(cause: RecoveryCause, detail: string): void {
    this.goRecovering(cause, detail);
    const w = this.watch;
    this.watch = undefined;
    void w?.cancel().catch(() => undefined);
    const gen = ++this.generation;
    const relist = (res: Awaited<ReturnType<EtcdPort['getPrefix']>>): void => {
      if (gen !== this.generation || this.stopped) return;
      this.replace(res.kvs);
      this.seen = res.header;
      this.openWatch(res.header.revision + 1n);
    };
    this.etcd.getPrefix(this.prefix).then(relist, () => {
      if (gen !== this.generation || this.stopped) return;
      this.later(() => this.recover(cause, detail));
    });
  }

  private later(fn: () => void): void {
    this.retry?.cancel();
    const gen = this.generation;
    this.retry = this.clock.setTimer(this.retryMs, () => {
      this.retry = undefined;
      if (gen === this.generation && !this.stopped) fn();
    });
    this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
  }

  /** Makes the copy equal to a list: every difference is reported, deletes first. */
  private replace(kvs: ReadonlyArray<{ key: string; value: string }>): void {
    const listed = new Map(kvs.map((kv) => [kv.key, kv.value]));
    for (const key of [...this.entries.keys()]) if (!listed.has(key)) this.apply(key, undefined);
    for (const [key, value] of listed) this.apply(key, value);
  }

  private apply(key: string, value: string | undefined): void {
    if (value === undefined) {
      if (!this.entries.delete(key)) return;
    } else {
      if (this.entries.get(key) === value) return;
      this.entries.set(key, value);
    }
    this.emit('change', key, value);
  }
}

/** Why `now` is not a later answer of the etcd `before` came from, if it is not. */
function historyBreak(before: EtcdHeader, now: EtcdHeader): RecoveryCause | undefined {
  if (now.clusterId !== before.clusterId) return 'cluster-changed';
  if (now.revision < before.revision) return 'revision-backwards';
  return undefined;
}

function describe(cause: RecoveryCause, before: EtcdHeader, now: EtcdHeader): string {
  return cause === 'cluster-changed'
    ? `etcd's cluster id changed from ${before.clusterId} to ${now.clusterId}`
    : `etcd's revision went back from ${before.revision} to ${now.revision} (restored or replaced)`;
}
