/**
 * The leader's work, bound to its term (as client-go's leaderelection runs
 * OnStartedLeading and OnStoppedLeading): the Route 53 sink, webhooks,
 * maintenance triggers, any sink that writes to a shared place. elected()
 * starts every duty, in the order they were added; deposed() stops them in
 * reverse order and resolves once each has stopped (no request, no timer
 * left). Changes run one at a time: a loss during a start waits for the
 * start, then stops; a quick loss and re-election ends started. One process
 * without a cluster is elected at start and deposed at stop.
 * Adding a duty is one add() call in the wiring.
 */
import type { Clock } from './clock.ts';
import { FailoverdError } from './errors.ts';
import type { Logger } from './log.ts';

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
}

export class LeaderDuties {
  private readonly duties: LeaderDuty[] = [];
  private readonly started = new Set<LeaderDuty>();
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
    return this.duties.some((d) => d.name === name && this.started.has(d));
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
    if (!this.wanted) throw new FailoverdError('CLUSTER_NOT_LEADER', 'this instance lost the lead: its leader duties are stopped');
  }

  /** Queues one pass that brings every duty to what was last asked for. */
  private settle(): Promise<void> {
    this.changing = this.changing.then(() => this.apply());
    return this.changing;
  }

  private async apply(): Promise<void> {
    const lead = this.wanted;
    const pending = lead ? this.duties.filter((d) => !this.started.has(d)) : this.duties.filter((d) => this.started.has(d)).reverse();
    if (pending.length === 0) return;
    const t0 = this.opts.clock.now();
    for (const duty of pending) {
      try {
        if (lead) {
          this.started.add(duty);
          await duty.start();
        } else {
          await duty.stop();
          this.started.delete(duty);
        }
      } catch (err) {
        this.started.delete(duty);
        this.log.error({ err, duty: duty.name }, lead ? 'a leader duty failed to start' : 'a leader duty failed to stop cleanly');
      }
    }
    const names = pending.map((d) => d.name);
    const ms = this.opts.clock.now() - t0;
    if (lead) this.log.info({ duties: names, ms }, 'leader duties started');
    else this.log.info({ duties: names, ms }, 'leader duties stopped');
  }
}
