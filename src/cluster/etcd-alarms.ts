/**
 * etcd's alarms (Maintenance.Alarm), as `etcdctl alarm list` shows them:
 * NOSPACE (the backend quota is reached: etcd refuses every write until an
 * operator frees space and disarms it) and CORRUPT. Read every
 * ALARM_POLL_MS, every ALARM_POLL_RAISED_MS while one is raised (its end
 * is seen soon), and at once (at most once a second) when etcd refuses a
 * write. An alarm raised is logged at error once, its end at info.
 */
import type { Clock, TimerHandle } from '../clock.ts';
import type { Logger } from '../log.ts';
import type { EtcdPort } from './etcd-port.ts';
import { decisionWriteFailureCause } from './write-failures.ts';

/** The alarms etcd 3.4 knows: each is a metric series (0 or 1) from the first read. */
export const ETCD_ALARMS = ['NOSPACE', 'CORRUPT'] as const;

export const ALARM_POLL_MS = 10_000;
export const ALARM_POLL_RAISED_MS = 2000;
/** The least time between two reads asked for by refused writes. */
const CHECK_MIN_GAP_MS = 1000;

const MEANING: Record<string, string> = {
  NOSPACE: 'its backend quota is reached: it refuses every write (vantage reports, heartbeats, decisions, drains) until an operator compacts, defragments and disarms it (docs/cluster.md)',
  CORRUPT: 'a member found its data corrupt: it refuses writes; restore that member (docs/cluster.md)',
};

export interface EtcdAlarmsView {
  /** The alarms raised, e.g. ["NOSPACE"] (empty: none). */
  raised: string[];
  /** When they were last read (epoch ms). */
  readAt: number;
}

export class EtcdAlarms {
  private view: EtcdAlarmsView | undefined;
  private timer: TimerHandle | undefined;
  private reading: Promise<void> | undefined;
  private lastRead = -Infinity;
  private readFailing = false;
  private stopped = true;

  constructor(
    private readonly etcd: EtcdPort,
    private readonly clock: Clock,
    private readonly log: Logger,
    /** Every alarm was disarmed: writes etcd refused may go through now. */
    private readonly onCleared: () => void = () => undefined,
  ) {}

  /** The alarms as last read; undefined before the first read that succeeded. */
  get current(): EtcdAlarmsView | undefined {
    return this.view;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    void this.read();
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = undefined;
  }

  /** etcd refused a write: read the alarms now (unless read within the last second). */
  check(): void {
    if (this.stopped || this.reading || this.clock.now() - this.lastRead < CHECK_MIN_GAP_MS) return;
    void this.read();
  }

  private read(): Promise<void> {
    this.timer?.cancel();
    this.timer = undefined;
    this.lastRead = this.clock.now();
    this.reading = this.readOnce().finally(() => {
      this.reading = undefined;
      if (this.stopped) return;
      this.timer = this.clock.setTimer(this.view?.raised.length ? ALARM_POLL_RAISED_MS : ALARM_POLL_MS, () => void this.read());
    });
    return this.reading;
  }

  private async readOnce(): Promise<void> {
    let raised: string[];
    try {
      raised = await this.etcd.alarms();
    } catch (err) {
      // etcd out of reach is said elsewhere (connected, the lease); anything else once here.
      if (!this.readFailing && decisionWriteFailureCause(err) !== 'unavailable') {
        this.log.warn({ err }, 'could not read etcd\'s alarms (etcdctl alarm list): a NOSPACE alarm shows only as refused writes');
        this.readFailing = true;
      }
      return;
    }
    if (this.readFailing) this.log.info('etcd\'s alarms are read again');
    this.readFailing = false;
    const before = this.view?.raised ?? [];
    this.view = { raised, readAt: this.clock.now() };
    for (const a of raised) if (!before.includes(a)) this.log.error({ alarm: a }, `etcd raised its ${a} alarm: ${MEANING[a] ?? 'see etcdctl alarm list'}`);
    for (const a of before) if (!raised.includes(a)) this.log.info({ alarm: a }, `etcd's ${a} alarm is no longer raised`);
    if (before.length > 0 && raised.length === 0) this.onCleared();
  }
}
