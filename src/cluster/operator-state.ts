/**
 * Operators' overrides (drains, pins, maintenance windows) live in etcd
 * under /failoverd/<name>/overrides/<target id>, so a drain through any
 * instance's API or CLI applies to the whole cluster. Each instance mirrors
 * them both ways with its local override store:
 * - etcd → local: a put or delete seen by the watch is applied to the store
 *   (the leader's health source reads the store; the others show it);
 * - local → etcd: an override set or cleared through this instance's API
 *   (or its maintenance windows, on the leader) is written to etcd. If the
 *   write fails the local store goes back to what etcd holds, and flush()
 *   rejects, so the API answers with the error instead of a change that
 *   exists on one instance only.
 * Expiry runs on every instance's store at the same instant; the delete in
 * etcd is guarded by the value, so it removes only that override.
 */
import { systemClock, type Clock } from '../clock.ts';
import type { OverrideEvent, OverrideStore, TargetOverride } from '../health/overrides.ts';
import type { Logger } from '../log.ts';
import type { EtcdPort } from './etcd-port.ts';
import type { EtcdWrites } from './etcd-writes.ts';
import type { ClusterKeys } from './keys.ts';
import { PrefixMirror } from './prefix-mirror.ts';
import { clusterUnavailable } from './write-failures.ts';

export class OperatorState {
  private readonly mirror: PrefixMirror;
  /** target id → the override's JSON as etcd holds it. */
  private readonly inEtcd = new Map<string, string>();
  private pending: Promise<void> = Promise.resolve();
  private failed: unknown;

  constructor(
    private readonly etcd: EtcdPort,
    private readonly keys: ClusterKeys,
    private readonly store: () => OverrideStore,
    /** Target ids this instance knows (config); others are ignored. */
    private readonly known: (targetId: string) => boolean,
    private readonly log: Logger,
    /** The mirror's retry timers. */
    clock: Clock = systemClock,
    /** Where a refused write is counted and logged (once per cause). */
    private readonly writes?: EtcdWrites,
  ) {
    this.mirror = new PrefixMirror(etcd, keys.overridePrefix, { clock });
    this.mirror.on('change', (key, value) => this.fromEtcd(keys.targetOfOverride(key), value));
  }

  /** The watch of the overrides (its state and recoveries are the node's to report). */
  get watched(): PrefixMirror {
    return this.mirror;
  }

  /** Reads the overrides from etcd and applies them: etcd is the cluster's truth, a local one it lacks is dropped. */
  async start(): Promise<void> {
    await this.mirror.start();
    for (const [id, o] of this.store().all()) {
      if (this.inEtcd.has(id)) continue;
      this.log.warn({ target: id, state: o.state, reason: o.reason }, 'dropped a local override that the cluster does not have (etcd holds the cluster\'s overrides)');
      this.store().drop(id);
    }
  }

  stop(): Promise<void> {
    return this.mirror.stop();
  }

  /**
   * Resolves once every local change so far is in etcd; rejects (once) when
   * a write failed: CLUSTER_UNAVAILABLE (the admin API's 503), the etcd
   * error as its cause.
   */
  async flush(): Promise<void> {
    await this.pending;
    const err = this.failed;
    this.failed = undefined;
    if (err !== undefined) throw clusterUnavailable(err, 'the change');
  }

  /** Told of every event of the local store. */
  onLocalEvent(e: OverrideEvent): void {
    const id = e.targetId;
    if (e.action === 'set') {
      const json = JSON.stringify(e.override);
      if (this.inEtcd.get(id) === json) return; // applied from etcd
      this.write(id, () => this.etcd.put(this.keys.override(id), json).then(() => undefined), json);
      return;
    }
    const was = this.inEtcd.get(id);
    if (was === undefined) return; // removed from etcd already
    if (e.action === 'expired') {
      // Every instance expires it at once: remove exactly this one, whoever is first.
      this.inEtcd.delete(id);
      this.chain(() => this.etcd.txn([{ key: this.keys.override(id), value: was }], [{ delete: this.keys.override(id) }]).then(() => undefined), id);
      return;
    }
    this.write(id, () => this.etcd.delete(this.keys.override(id)).then(() => undefined), undefined);
  }

  private write(id: string, op: () => Promise<void>, json: string | undefined): void {
    const before = this.inEtcd.get(id);
    if (json === undefined) this.inEtcd.delete(id);
    else this.inEtcd.set(id, json);
    this.chain(op, id, () => {
      // Back to what etcd holds.
      if (before === undefined) this.inEtcd.delete(id);
      else this.inEtcd.set(id, before);
      this.applyLocal(id, before);
    });
  }

  private chain(op: () => Promise<void>, id: string, undo?: () => void): void {
    this.pending = this.pending.then(op).then(() => void this.writes?.succeeded('overrides'), (err: unknown) => {
      this.writes?.failed('overrides', err);
      this.log.warn({ err, target: id }, 'could not write an override to etcd: the change is undone on this instance');
      this.failed = err;
      undo?.();
    });
  }

  private fromEtcd(id: string, value: string | undefined): void {
    if (!this.known(id)) return;
    if (value === undefined) this.inEtcd.delete(id);
    else this.inEtcd.set(id, value);
    this.applyLocal(id, value);
  }

  private applyLocal(id: string, value: string | undefined): void {
    const store = this.store();
    if (value === undefined) {
      if (store.get(id)) store.clear(id);
      return;
    }
    let o: TargetOverride;
    try {
      o = JSON.parse(value) as TargetOverride;
      if ((o.state !== 'UP' && o.state !== 'DOWN') || typeof o.reason !== 'string' || typeof o.createdAt !== 'number') throw new Error('not an override');
    } catch (err) {
      this.log.error({ err, target: id }, 'ignored a malformed override in etcd');
      return;
    }
    if (JSON.stringify(store.get(id)) === value) return;
    store.set(id, o);
  }
}
