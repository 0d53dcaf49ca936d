/**
 * The cluster's decisions in etcd: one key, /failoverd/<name>/decisions,
 * holding every record set's decision and the zone serials, written by the
 * leader in one transaction fenced by its leader key's createRevision (a
 * deposed leader's write is refused). Every instance watches it and serves
 * exactly what it holds.
 */
import type { RecordSetDecision } from '../failover/decision.ts';
import type { Transition } from '../failover/types.ts';
import { systemClock, type Clock } from '../clock.ts';
import type { Logger } from '../log.ts';
import type { EtcdPort } from './etcd-port.ts';
import type { Leadership } from './leadership.ts';
import { PrefixMirror } from './prefix-mirror.ts';

export interface DecisionRecord {
  /** The instance that wrote it. */
  leader: string;
  /** The leader key's createRevision when written: one per leadership term. */
  term: string;
  /** The leader's clock when written. */
  decidedAt: number;
  decisions: RecordSetDecision[];
  /** zone origin → SOA serial every instance serves. */
  serials: Record<string, number>;
  /** The vantage points the cluster counts (the most live, carried from term to term): a new leader waits for all but one of them, at most gatherMs. */
  vantagePoints?: number;
  /** The cluster's recent transitions, newest first (carried over from leader to leader). */
  transitions: Transition[];
}

/** How many transitions a record carries. */
export const TRANSITIONS_IN_RECORD = 100;

export class DecisionStore {
  private readonly mirror: PrefixMirror;
  private current: DecisionRecord | undefined;
  /** Called with each new record seen (including this instance's own writes). */
  readonly listeners: Array<(r: DecisionRecord) => void> = [];

  constructor(
    etcd: EtcdPort,
    private readonly key: string,
    private readonly log: Logger,
    /** The mirror's retry timers. */
    clock: Clock = systemClock,
  ) {
    this.mirror = new PrefixMirror(etcd, key, { clock });
    this.mirror.on('change', (k, value) => {
      if (k !== key || value === undefined) return;
      const r = parseDecisionRecord(value);
      if (!r) {
        this.log.error({ key }, 'ignored a malformed decision record in etcd');
        return;
      }
      this.current = r;
      for (const l of this.listeners) l(r);
    });
  }

  /** The watch of the record (its state and recoveries are the node's to report). */
  get watched(): PrefixMirror {
    return this.mirror;
  }

  /** Reads the current record (if any) and starts watching. */
  start(): Promise<void> {
    return this.mirror.start();
  }

  stop(): Promise<void> {
    return this.mirror.stop();
  }

  /** The last record seen, or undefined before the cluster's first decision. */
  latest(): DecisionRecord | undefined {
    return this.current;
  }

  /** Writes a record, fenced by leadership; false when refused (no longer the leader). */
  write(leadership: Leadership, record: DecisionRecord): Promise<boolean> {
    return leadership.fencedPut(this.key, JSON.stringify(record));
  }
}

export function parseDecisionRecord(text: string): DecisionRecord | undefined {
  try {
    const r = JSON.parse(text) as DecisionRecord;
    if (typeof r?.leader !== 'string' || typeof r.term !== 'string' || !Array.isArray(r.decisions) || typeof r.serials !== 'object' || r.serials === null) return undefined;
    if (!Array.isArray(r.transitions)) r.transitions = [];
    for (const d of r.decisions) if (typeof d?.key !== 'string' || typeof d.answer?.kind !== 'string' || !Array.isArray(d.targets)) return undefined;
    return r;
  } catch {
    return undefined;
  }
}
