/**
 * Every kind of write an instance makes to etcd, and what etcd refuses of
 * them: a NOSPACE alarm, a request too large, a permission, etcd out of
 * reach. Each kind keeps its own WriteFailures (count by cause, what fails
 * now and since when, the pause before a retry); this logs each refusal at
 * error once per kind and cause (not once per retry: a vantage report is
 * tried again every second) and once at info when that kind of write
 * succeeds again. Status, metrics and the alert read refusals() and counts().
 */
import type { Clock } from '../clock.ts';
import type { Logger } from '../log.ts';
import { WriteFailures, type DecisionWriteFailureCause, type WriteFailureNow } from './write-failures.ts';

/** The kinds of etcd write, by the name status and metrics give them. */
export const ETCD_WRITES = ['vantage', 'heartbeat', 'decisions', 'overrides', 'failback', 'campaign'] as const;
export type EtcdWrite = (typeof ETCD_WRITES)[number];

/** What a refusal of each kind means, for the error line. */
const MEANING: Record<EtcdWrite, string> = {
  vantage: 'etcd refused this instance\'s vantage report: the leader decides without this instance\'s latest health; trying again',
  heartbeat: 'etcd refused the leader\'s heartbeat: every instance sees its decisions age and stops being current; trying again',
  decisions: 'etcd refused the decisions: the cluster serves the last decisions written until a write succeeds; trying again',
  overrides: 'etcd refused an override (drain or pin): the change is undone on this instance and applied nowhere; the operator is told to retry',
  failback: 'etcd refused a failback command: it did not reach the leader; the operator is told to retry',
  campaign: 'etcd refused this instance\'s campaign for the lead: while the cluster has no leader nobody decides; trying again',
};

/** What a write of each kind is, for the line that says it succeeds again. */
const NOUN: Record<EtcdWrite, string> = {
  vantage: 'vantage report',
  heartbeat: 'heartbeat',
  decisions: 'decision',
  overrides: 'override',
  failback: 'failback command',
  campaign: 'campaign',
};

/** Writes made once for an operator (not retried here: the operator is told to retry). */
const ONE_SHOT: readonly EtcdWrite[] = ['overrides', 'failback'];
/** Causes that are etcd's state as a whole, not of one kind of write. */
const ETCD_WIDE: ReadonlySet<DecisionWriteFailureCause> = new Set(['no-space', 'unavailable']);

/** The first pause before a vantage report is tried again, and its bound: small, so a report reaches the leader soon after etcd takes writes again. */
export const VANTAGE_RETRY = { minMs: 250, maxMs: 1000 };

/** What etcd refuses now of one kind of write. */
export interface EtcdWriteRefusal extends WriteFailureNow {
  write: EtcdWrite;
}

export class EtcdWrites {
  private readonly kinds: Record<EtcdWrite, WriteFailures>;

  constructor(
    private readonly log: Logger,
    private readonly clock: Clock,
    /** Told of every refusal (e.g. to read etcd's alarms at once). */
    private readonly onRefused: (write: EtcdWrite, cause: DecisionWriteFailureCause) => void = () => undefined,
  ) {
    this.kinds = Object.fromEntries(ETCD_WRITES.map((w) => [w, new WriteFailures(w === 'vantage' ? VANTAGE_RETRY : undefined)])) as Record<EtcdWrite, WriteFailures>;
  }

  /** A write of this kind failed: counted, logged at error the first time of its cause in a row; returns when to try again. */
  failed(write: EtcdWrite, err: unknown): { cause: DecisionWriteFailureCause; first: boolean; retryMs: number } {
    const f = this.kinds[write].failed(err, this.clock.now());
    if (f.first) this.log.error({ err, write, cause: f.cause, retryMs: f.retryMs }, MEANING[write]);
    else this.log.debug({ err, write, cause: f.cause, retryMs: f.retryMs }, `etcd refused a ${NOUN[write]} write again`);
    this.onRefused(write, f.cause);
    return f;
  }

  /**
   * A write of this kind succeeded: logs once at info when it had been
   * refused; returns what had been failing. An operator's write refused
   * because etcd was full or out of reach (overrides, failback: not retried
   * here, the operator was told to retry) no longer counts as refused now
   * either: etcd takes writes again.
   */
  succeeded(write: EtcdWrite): WriteFailureNow | undefined {
    const was = this.kinds[write].succeeded();
    if (was) this.log.info({ write, cause: was.cause, failingForMs: this.clock.now() - was.since }, `${NOUN[write]} writes to etcd succeed again`);
    for (const other of ONE_SHOT) {
      const now = this.kinds[other].current;
      if (other === write || !now || !ETCD_WIDE.has(now.cause)) continue;
      this.kinds[other].succeeded();
      this.log.info({ write: other, cause: now.cause, by: write }, `etcd takes writes again (a ${NOUN[write]} write went through): ${NOUN[other]} writes are no longer refused`);
    }
    return was;
  }

  /** This instance stopped making writes of this kind (e.g. no longer the leader): nothing of it fails now (the counts stay). */
  reset(write: EtcdWrite): void {
    this.kinds[write].reset();
  }

  /** What fails now of one kind (undefined while it succeeds). */
  current(write: EtcdWrite): WriteFailureNow | undefined {
    return this.kinds[write].current;
  }

  /** Every kind etcd refuses now, in ETCD_WRITES order. */
  refusals(): EtcdWriteRefusal[] {
    return ETCD_WRITES.flatMap((write) => {
      const now = this.kinds[write].current;
      return now ? [{ write, ...now }] : [];
    });
  }

  /** Failed writes since start, by kind and cause (every kind and cause present). */
  counts(): Record<EtcdWrite, Record<DecisionWriteFailureCause, number>> {
    return Object.fromEntries(ETCD_WRITES.map((w) => [w, { ...this.kinds[w].counts }])) as Record<EtcdWrite, Record<DecisionWriteFailureCause, number>>;
  }
}

