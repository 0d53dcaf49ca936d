/**
 * The cluster's decisions in etcd, laid out per record set under
 * /failoverd/<name>/decisions/ (decision-layout.ts). Every instance mirrors
 * the prefix and serves the last whole generation (decision-assembler.ts);
 * the leader writes what changed, batch by batch, each transaction fenced
 * by its leader key's createRevision (a deposed leader's write is refused);
 * a batch's transactions but the last go a few at a time, the last (the
 * meta key's) once they all went through.
 */
import type { Clock, TimerHandle } from '../clock.ts';
import type { Transition } from '../failover/types.ts';
import type { Logger } from '../log.ts';
import type { RecordSetConfig } from '../config/types.ts';
import { DecisionAssembler } from './decision-assembler.ts';
import { rebuildDecision } from './decision-compact.ts';
import {
  applyTxnToBase,
  DEFAULT_TXN_LIMITS,
  emptyWriterBase,
  planDecisionWrite,
  writerBaseFrom,
  type DecisionRecord,
  type NextDecisions,
  type PlannedTxn,
  type TxnLimits,
  type WriterBase,
} from './decision-layout.ts';
import type { EtcdPort } from './etcd-port.ts';
import type { ClusterKeys } from './keys.ts';
import type { Leadership } from './leadership.ts';
import { PrefixMirror } from './prefix-mirror.ts';

export type { DecisionRecord } from './decision-layout.ts';
export { TRANSITIONS_IN_RECORD } from './decision-layout.ts';

/** What one write did. */
export type DecisionWriteOutcome =
  | { kind: 'unchanged' }
  | { kind: 'written'; generation: number; transactions: number; recordSets: number; bytes: number }
  /** The fence refused it: another instance leads. */
  | { kind: 'refused' };

export class DecisionStore {
  private readonly mirror: PrefixMirror;
  private readonly assembler: DecisionAssembler;
  /** What the leader knows etcd holds (read at the start of its term); undefined when not leading. */
  private base: WriterBase | undefined;
  private readonly malformed = new Set<string>();
  private notifyQueued: TimerHandle | undefined;
  private readonly clock: Clock;
  private readonly limits: TxnLimits;
  /** Called when the record served changes (including after this instance's own writes). */
  readonly listeners: Array<(r: DecisionRecord) => void> = [];

  constructor(
    private readonly etcd: EtcdPort,
    private readonly keys: ClusterKeys,
    private readonly log: Logger,
    /**
     * clock: the mirror's retry timers; limits: of one transaction; rank: the order of record sets (the config's);
     * recordSet: this instance's config of a record set, to make a decision stored compact whole again.
     */
    opts: { clock: Clock; limits?: TxnLimits; rank?: (recordSetKey: string) => number; recordSet?: (recordSetKey: string) => RecordSetConfig | undefined },
  ) {
    this.limits = opts.limits ?? DEFAULT_TXN_LIMITS;
    this.clock = opts.clock;
    this.mirror = new PrefixMirror(etcd, keys.decisionsPrefix, { clock: this.clock });
    const recordSet = opts.recordSet;
    this.assembler = new DecisionAssembler(
      keys,
      opts.rank,
      (key, why) => {
        if (this.malformed.has(key)) return;
        this.malformed.add(key);
        // A mass of them (e.g. an instance of another config or version reading every record set): the first few at error.
        this.log[this.malformed.size <= MALFORMED_LOGGED ? 'error' : 'debug']({ key, why, malformedKeys: this.malformed.size }, 'ignored a malformed decision value in etcd');
      },
      (rsKey, c, g) => {
        const rs = recordSet?.(rsKey);
        return rs ? rebuildDecision(rs, c, g) : `this instance's config has no record set ${rsKey}`;
      },
    );
    // Told once per turn of the event loop: a list or a watch message brings many keys at once (10,000 at a
    // start), and assembling the record for each made a start at 10,000 record sets quadratic.
    this.mirror.on('change', (key, value) => {
      if (!this.assembler.apply(key, value) || this.notifyQueued) return;
      this.notifyQueued = this.clock.defer(() => {
        this.notifyQueued = undefined;
        const r = this.assembler.record();
        if (r) for (const l of this.listeners) l(r);
      });
    });
  }

  /** The watch of the decisions (its state and recoveries are the node's to report). */
  get watched(): PrefixMirror {
    return this.mirror;
  }

  /** Reads the current decisions (if any) and starts watching. */
  start(): Promise<void> {
    return this.mirror.start();
  }

  stop(): Promise<void> {
    this.notifyQueued?.cancel();
    this.notifyQueued = undefined;
    return this.mirror.stop();
  }

  /** The last whole generation seen, or undefined before the cluster's first decision. */
  latest(): DecisionRecord | undefined {
    return this.assembler.record();
  }

  /** Record set values written but not served yet: a batch in progress (or one cut short by a leader's end). */
  get waiting(): number {
    return this.assembler.waiting;
  }

  /** The config changed: the record sets in its order. */
  reorder(rank: (recordSetKey: string) => number): void {
    this.assembler.reorder(rank);
  }

  /**
   * A term begins: reads what etcd holds under the decisions prefix now
   * (after the leader key was won, so every write of an earlier leader is
   * in it), the base the leader's writes are planned against.
   */
  async beginTerm(): Promise<void> {
    const res = await this.etcd.getPrefix(this.keys.decisionsPrefix);
    this.base = writerBaseFrom(res.kvs, this.keys);
  }

  endTerm(): void {
    this.base = undefined;
  }

  /**
   * Writes what changed from what etcd holds to `next`, in as many fenced
   * transactions as the limits ask, the meta key last. Resolves `refused`
   * when the fence refused a transaction; rejects with etcd's error (what
   * went through is remembered: a retry writes only the rest).
   */
  async write(leadership: Leadership, next: NextDecisions, onTransitionsWritten: (ts: readonly Transition[]) => void = () => undefined): Promise<DecisionWriteOutcome> {
    if (!this.base) await this.beginTerm();
    const base = this.base ?? emptyWriterBase();
    const plan = planDecisionWrite(base, next, this.keys, this.limits);
    if (!plan) return { kind: 'unchanged' };
    let bytes = 0;
    let refused = false;
    const one = async (txn: PlannedTxn, last: boolean): Promise<void> => {
      if (refused) return;
      if (!(await leadership.fencedTxn(txn.ops))) {
        refused = true;
        return;
      }
      applyTxnToBase(base, plan, txn, last);
      if (txn.transitions.length > 0) onTransitionsWritten(txn.transitions);
      for (const op of txn.ops) bytes += 'put' in op ? op.put.length + Buffer.byteLength(op.value) : op.delete.length;
    };
    // Every transaction but the last (the meta key's) in any order, a few at a time: etcd commits the
    // transactions that arrive together in one round of its log (one fsync), where one after the other each
    // waited for its own (a mass failover at 10,000 record sets is about 100 transactions).
    await inFlight(plan.txns.slice(0, -1), TXNS_IN_FLIGHT, (txn) => one(txn, false));
    if (!refused) await one(plan.txns.at(-1)!, true);
    if (refused) return { kind: 'refused' };
    return { kind: 'written', generation: plan.generation, transactions: plan.txns.length, recordSets: plan.recordSets, bytes };
  }
}

/** Malformed decision keys logged at error (one line each); further ones at debug. */
const MALFORMED_LOGGED = 10;

/** Transactions of one batch sent before the first is answered. */
export const TXNS_IN_FLIGHT = 16;

/**
 * Runs `run` on every item, at most `limit` at once. Once one rejects no
 * further item begins; the items already begun are waited for (what went
 * through is recorded), then the first error is thrown.
 */
async function inFlight<T>(items: readonly T[], limit: number, run: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed: { err: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (next < items.length && !failed) {
      const item = items[next++]!;
      try {
        await run(item);
      } catch (err) {
        failed ??= { err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failed) throw failed.err;
}
