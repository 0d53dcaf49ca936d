/**
 * The leader's work, bound to its term (as client-go's leaderelection runs
 * OnStartedLeading and OnStoppedLeading): the Route 53 sink, webhooks,
 * maintenance triggers, any sink that writes to a shared place. elected()
 * starts every duty, in the order they were added; deposed() stops them in
 * reverse order and resolves once each has stopped (no request, no timer
 * left). Changes run one at a time: a loss during a start waits for the
 * start, then stops; a quick loss and re-election ends started. One process
 * without a cluster is elected at start and deposed at stop.
 * A duty whose start() throws is `failed`: logged at error, tried again
 * after a backoff (backoff.ts: 1 s doubling to 1 min, jittered) for as long
 * as this process leads, and said in status() (its state, error, attempts,
 * next try) and the failoverd_leader_duty_running gauge.
 * Adding a duty is one add() call in the wiring.
 */
import { backoffDelay, type BackoffOptions } from './backoff.ts';
import type { Clock, TimerHandle } from './clock.ts';
import { errorText, FailoverdError } from './errors.ts';
import type { Logger } from './log.ts';

/** The pause before trying a failed start again: 1 s doubling to 1 min, with jitter. */
export const DUTY_RETRY: Omit<BackoffOptions, 'random'> = { baseMs: 1000, maxDelayMs: 60_000 };

/** stopped (not leading), starting, running, failed (its start threw: tried again after a pause), stopping. */
export type DutyState = 'stopped' | 'starting' | 'running' | 'failed' | 'stopping';

export interface DutyStatus {
  name: string;
  state: DutyState;
  /** Since when it is in this state (epoch ms). */
  since: number;
  /** The last start that threw, while failed. */
  error?: { message: string; at: number };
  /** Failed starts in a row (0 once it runs). */
  failedStarts: number;
  /** When a failed start is tried again (epoch ms). */
  nextRetryAt?: number;
}

export interface LeaderDuty {
  /** For logs: "route53", "notify", "maintenance", ... */
  readonly name: string;
  /** Begins the duty (this process was elected, or runs alone). A throw is logged; the other duties start. */
  start(): void | Promise<void>;
  /** Ends it: resolves once the duty makes no more requests and holds no timer. */
  stop(): void | Promise<void>;
  /** The config was reloaded: a running duty takes the new one (e.g. maintenance windows). */
  reload?(): void | Promise<void>;
}

export interface LeaderDutiesOptions {
  logger: Logger;
  clock: Clock;
  /**
   * Proof, while the duties run, that this process still leads (a cluster:
   * a write fenced by the leader key); throws when it does not. Alone:
   * none, the duties' own state is the proof.
   */
  proof?: () => Promise<void>;
  /**
   * Whether this process still holds the lead by what it knows without
   * asking (a cluster: its leader key and a lease etcd confirmed within a
   * TTL of the renewal being sent). Checked right before a request to a
   * shared place: the proof is an await, and a process paused past its
   * lease (SIGSTOP, a long GC, a frozen VM) resumes after it. Alone: always.
   */
  holds?: () => boolean;
  /** The backoff's jitter (tests: a fixed value). */
  random?: () => number;
}

/** What status and metrics show: whether this process leads (alone: from start to stop), and each duty's state. */
export interface LeaderDutiesView {
  leading: boolean;
  duties: DutyStatus[];
}

interface DutyTrack {
  state: DutyState;
  since: number;
  failedStarts: number;
  error?: { message: string; at: number };
  retry?: { timer: TimerHandle; at: number };
}

export class LeaderDuties {
  private readonly duties: LeaderDuty[] = [];
  private readonly started = new Set<LeaderDuty>();
  private readonly track = new Map<LeaderDuty, DutyTrack>();
  /** What the last call asked for: lead (true) or not. */
  private wanted = false;
  private closed = false;
  private changing: Promise<void> = Promise.resolve();
  private readonly log: Logger;

  constructor(private readonly opts: LeaderDutiesOptions) {
    this.log = opts.logger;
  }

  /** Adds a duty; it starts at once if this process leads now. */
  add(duty: LeaderDuty): this {
    this.duties.push(duty);
    this.track.set(duty, { state: 'stopped', since: this.opts.clock.now(), failedStarts: 0 });
    if (this.wanted) void this.settle();
    return this;
  }

  /** True from elected() until deposed() (the duties may still be starting). */
  get leading(): boolean {
    return this.wanted;
  }

  /** The names of the duties running now. */
  running(): string[] {
    return this.duties.filter((d) => this.started.has(d)).map((d) => d.name);
  }

  /** Whether the duty of that name runs now. */
  isRunning(name: string): boolean {
    return this.duties.some((d) => d.name === name && this.track.get(d)?.state === 'running');
  }

  /** Whether this process leads and has a duty of that name: it should run (it may be starting, or failed and waiting to be tried again). */
  isWanted(name: string): boolean {
    return this.wanted && this.duties.some((d) => d.name === name);
  }

  view(): LeaderDutiesView {
    return { leading: this.wanted, duties: this.status() };
  }

  /** Every duty's state, in the order they were added. */
  status(): DutyStatus[] {
    return this.duties.map((d) => {
      const t = this.track.get(d)!;
      return { name: d.name, state: t.state, since: t.since, failedStarts: t.failedStarts, ...(t.error ? { error: t.error } : {}), ...(t.retry ? { nextRetryAt: t.retry.at } : {}) };
    });
  }

  /** This process leads: starts every duty. Resolves once they are started. */
  elected(): Promise<void> {
    if (this.closed) return this.changing;
    this.wanted = true;
    return this.settle();
  }

  /** This process no longer leads: stops every duty. Resolves once they are all stopped. */
  deposed(): Promise<void> {
    this.wanted = false;
    return this.settle();
  }

  /** The config was reloaded: every running duty that has a reload() takes it (in turn with starts and stops). */
  reload(): Promise<void> {
    this.changing = this.changing.then(async () => {
      for (const duty of this.duties) {
        if (!this.started.has(duty) || !duty.reload) continue;
        try {
          await duty.reload();
        } catch (err) {
          this.log.error({ err, duty: duty.name }, 'a leader duty failed to take the reloaded config');
        }
      }
    });
    return this.changing;
  }

  /** Stops the duties for good (the process stops): a later elected() starts nothing. */
  close(): Promise<void> {
    this.closed = true;
    return this.deposed();
  }

  /**
   * Resolves while this process leads, proven when a proof is configured;
   * throws CLUSTER_NOT_LEADER otherwise. A duty awaits it before each write
   * to a shared place.
   */
  async assertLeader(): Promise<void> {
    if (!this.wanted) throw new FailoverdError('CLUSTER_NOT_LEADER', 'this instance is not the leader: its leader duties are stopped');
    await this.opts.proof?.();
    if (!this.leadsNow()) throw new FailoverdError('CLUSTER_NOT_LEADER', 'this instance lost the lead: its leader duties are stopped');
  }

  /**
   * Without a request: whether the duties run and this process still holds
   * the lead (see `holds`). A duty checks it right before each request to a
   * shared place, after every await.
   */
  leadsNow(): boolean {
    return this.wanted && (this.opts.holds?.() ?? true);
  }

  /** Queues one pass that brings every duty to what was last asked for. */
  private settle(): Promise<void> {
    this.changing = this.changing.then(() => this.apply());
    return this.changing;
  }

  private setState(duty: LeaderDuty, state: DutyState): void {
    const t = this.track.get(duty)!;
    if (t.state !== state) t.since = this.opts.clock.now();
    t.state = state;
  }

  private async apply(): Promise<void> {
    const lead = this.wanted;
    if (!lead) for (const duty of this.duties) this.cancelRetry(duty);
    // Leading: every duty not started, a failed one included (its retry timer comes here too).
    const pending = lead ? this.duties.filter((d) => !this.started.has(d)) : this.duties.filter((d) => this.started.has(d)).reverse();
    if (!lead) {
      for (const duty of this.duties) {
        const t = this.track.get(duty)!;
        if (t.state !== 'failed') continue;
        // Not this process's to run any more: the next term starts it afresh.
        t.failedStarts = 0;
        t.error = undefined;
        this.setState(duty, 'stopped');
      }
    }
    if (pending.length === 0) return;
    const t0 = this.opts.clock.now();
    const done: string[] = [];
    for (const duty of pending) {
      if (lead) {
        if (await this.startOne(duty)) done.push(duty.name);
        continue;
      }
      this.setState(duty, 'stopping');
      try {
        await duty.stop();
      } catch (err) {
        this.log.error({ err, duty: duty.name }, 'a leader duty failed to stop cleanly');
      }
      this.started.delete(duty);
      this.setState(duty, 'stopped');
      done.push(duty.name);
    }
    const ms = this.opts.clock.now() - t0;
    if (lead && done.length > 0) this.log.info({ duties: done, ms }, 'leader duties started');
    else if (!lead) this.log.info({ duties: done, ms }, 'leader duties stopped');
  }

  /** Starts one duty; on a throw, marks it failed and sets its retry. Resolves with whether it runs. */
  private async startOne(duty: LeaderDuty): Promise<boolean> {
    const t = this.track.get(duty)!;
    this.cancelRetry(duty);
    this.started.add(duty);
    this.setState(duty, 'starting');
    try {
      await duty.start();
    } catch (err) {
      this.started.delete(duty);
      t.failedStarts++;
      t.error = { message: errorText(err), at: this.opts.clock.now() };
      this.setState(duty, 'failed');
      const delayMs = backoffDelay(t.failedStarts, { ...DUTY_RETRY, random: this.opts.random ?? Math.random });
      const at = this.opts.clock.now() + delayMs;
      t.retry = { at, timer: this.opts.clock.setTimer(delayMs, () => this.retry(duty)) };
      // The first failure at error, the next ones at warn (at most about one a minute).
      this.log[t.failedStarts === 1 ? 'error' : 'warn']({ err, duty: duty.name, failedStarts: t.failedStarts, retryMs: delayMs }, 'a leader duty failed to start: trying again');
      return false;
    }
    if (t.failedStarts > 0) this.log.info({ duty: duty.name, failedStarts: t.failedStarts }, 'a leader duty that had failed to start runs now');
    t.failedStarts = 0;
    t.error = undefined;
    this.setState(duty, 'running');
    return true;
  }

  /** A failed start's pause is over: tried again, in turn with elections and losses, if this process still leads. */
  private retry(duty: LeaderDuty): void {
    const t = this.track.get(duty)!;
    t.retry = undefined;
    this.changing = this.changing.then(async () => {
      if (!this.wanted || this.started.has(duty) || t.state !== 'failed') return;
      if (await this.startOne(duty)) this.log.info({ duties: [duty.name], ms: 0 }, 'leader duties started');
    });
  }

  private cancelRetry(duty: LeaderDuty): void {
    const t = this.track.get(duty)!;
    t.retry?.timer.cancel();
    t.retry = undefined;
  }
}
