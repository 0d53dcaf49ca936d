/**
 * Wires the stages together: the controller (probes → health → failover)
 * feeds the records snapshot of the embedded DNS server and, when
 * configured, the Route 53 sink; around them the admin API and metrics, the
 * state file, notifications and maintenance windows. The only place that
 * knows them all.
 */
import type { Clock, TimerHandle } from './clock.ts';
import { AdminServer } from './admin/server.ts';
import type { AdminDeps, ReloadOutcome } from './admin/deps.ts';
import { Metrics } from './admin/metrics.ts';
import { StatusHistory } from './admin/status-history.ts';
import { ClusterDecisions } from './cluster-source.ts';
import { LocalDecisions, type DecisionSource } from './decision-source.ts';
import { loadConfig, type LoadedConfig } from './config/load.ts';
import { planReload, restartWarning } from './config/reload-effects.ts';
import { adminAccessSummary, isLoopback } from './config/admin.ts';
import { Controller } from './controller.ts';
import { DnsServer, type DnsServerOptions } from './dns/server.ts';
import { errorText, formatProblem, ProblemsError, type Problem } from './errors.ts';
import { recordSetKey } from './failover/describe.ts';
import { LeaderDuties } from './leader-duties.ts';
import type { Logger } from './log.ts';
import { MaintenanceWindows, type PersistOverrides } from './maintenance/windows.ts';
import { overrideEvent, transitionEvent } from './notify/events.ts';
import { Notifier } from './notify/webhook.ts';
import type { Transition } from './failover/types.ts';
import { FAILOVERD_VERSION } from './probes/version.ts';
import { toDesiredRecordSets, toDynamicRRset, toUpdateRecordSet } from './published-answers.ts';
import { buildSnapshot, prepareZones, type Snapshot } from './records/snapshot.ts';
import { Rfc2136Sink } from './rfc2136/sink.ts';
import { Route53Sink } from './route53/sink.ts';
import { readStateFileSync, StateWriter, STATE_VERSION, type StateRestoreProblem, type StateWriteOutcome } from './state/store.ts';
import type { StateValue } from './state/state-text.ts';
import type { Config } from './config/types.ts';
import type { SavedHealth } from './health/target-health.ts';
import type { RecordSetState } from './failover/types.ts';
import { createTransfers, type Transfers } from './transfer/index.ts';

export interface DaemonOptions {
  logger: Logger;
  clock: Clock;
  /** Passed to the DNS server (tests pick weights deterministically). */
  dnsPick?: DnsServerOptions['pick'];
}

export class Daemon {
  readonly controller: Controller;
  readonly metrics: Metrics;
  private readonly history: StatusHistory;
  private readonly log: Logger;
  private readonly clock: Clock;
  private loaded: LoadedConfig;
  private readonly dns: DnsServer;
  private readonly route53: Route53Sink | undefined;
  private readonly rfc2136: Rfc2136Sink | undefined;
  private readonly transfers: Transfers;
  private readonly admin: AdminServer;
  private readonly state: StateWriter;
  private readonly notifier: Notifier;
  private readonly maintenance: MaintenanceWindows;
  /** The leader's work (Route 53, webhooks, maintenance): runs while this process leads; alone, from start to stop. */
  private readonly duties: LeaderDuties;
  /** The webhooks duty runs: events of the answers served are sent. */
  private notifying = false;
  /** The decisions served: this process's own, or (a cluster: section) the cluster's from etcd. */
  private readonly source: DecisionSource;
  /** Serials from the state file: the first snapshot starts above them. */
  private readonly floorSerials: Map<string, number>;
  private snapshot: Snapshot | undefined;
  /** Each probe key's entry in the last state written (kept while unchanged). */
  private savedHealth = new Map<string, SavedHealth>();
  /** The probe keys of the running config, each once, in config order (the state file's health section). */
  private probeKeysOf: { config: Config; keys: string[] } | undefined;
  /** A publish is queued for the end of this turn of the event loop (coalescing). */
  private publishQueued: TimerHandle | undefined;
  private serving = false;
  private stopping = false;
  /** The reload in progress, and the one that reads the file again after it (requests that arrived during it). */
  private reloading: Promise<ReloadOutcome> | undefined;
  private reloadQueued: Promise<ReloadOutcome> | undefined;
  private readonly startedAt: number;
  private configLoadedAt: number;
  /** Why the state file of the last run was not restored at this start (drains, holds and serials forgotten); none: undefined. */
  private stateRestoreProblem: StateRestoreProblem | undefined;
  /** The last reload since start: when, and the problems that refused it (status says a refused one until a good one). */
  private lastReload: { at: number; ok: boolean; problemCount: number; problems: string[] } | undefined;
  private adminBound: { host: string; port: number } | undefined;

  constructor(loaded: LoadedConfig, opts: DaemonOptions) {
    this.log = opts.logger;
    this.clock = opts.clock;
    this.loaded = loaded;
    this.startedAt = this.configLoadedAt = this.clock.now();
    const { config } = loaded;
    const saved = readStateFileSync(config.state.file, this.log.child({ component: 'state' }), (p) => (this.stateRestoreProblem = p));
    if (saved) this.log.info({ component: 'state', file: config.state.file, savedAt: saved.savedAt, overrides: Object.keys(saved.overrides).length, serials: saved.serials }, 'restored state');
    this.floorSerials = new Map(Object.entries(saved?.serials ?? {}));
    // In cluster mode this instance's own verdict is logged apart from the cluster's decisions.
    this.controller = new Controller(config, { logger: config.cluster ? this.log.child({ verdict: 'local' }) : this.log, clock: opts.clock, restore: saved });
    this.history = StatusHistory.attach(this.controller, this.clock);
    this.metrics = new Metrics({
      decisions: () => this.source.served().decisions,
      eachDecision: () => this.source.eachDecision(),
      ready: () => this.controller.isReady,
      snapshot: () => this.snapshot,
      maintenance: () => this.maintenance.status(),
      notifyQueue: () => this.notifier.queued,
      // Only where the sink runs (alone, or the leader): a follower's idle sink is not "out of sync".
      // Only where the sink should run (alone, or the leader; a start that failed included): a follower's idle sink is not "out of sync".
      route53: () => (this.duties.isWanted('route53') ? this.route53?.metricsView() : undefined),
      rfc2136: () => (this.duties.isWanted('rfc2136') ? this.rfc2136?.metricsView() : undefined),
      leaderDuties: () => this.duties.view(),
      dnsTcp: () => this.dns.tcpStats(),
      dnsWorkers: () => this.dns.workerPool?.health(),
      secondaries: () => this.transfers?.notifyStatus() ?? [],
      stateRestoreFailed: () => this.stateRestoreProblem !== undefined,
      cluster: () => this.source.clusterStatus(),
      now: () => this.clock.now(),
      probeKeys: () => this.controller.config.records.flatMap((rs) => rs.targets.map((t) => t.probeKey)),
    });
    this.duties = new LeaderDuties({ logger: this.log.child({ component: 'leader' }), clock: this.clock, proof: () => this.source.proveLeader(), holds: () => this.source.holdsLead() });
    this.dns = new DnsServer({ listen: config.dns.listen, workers: config.dns.workers, tcp: config.dns.tcp, ecs: config.dns.ecs, clock: this.clock, logger: this.log.child({ component: 'dns' }), pick: opts.dnsPick, onReply: (rcode, transport) => this.metrics.dnsReply(rcode, transport) });
    this.route53 = config.route53
      ? new Route53Sink({ config: config.route53, logger: this.log.child({ component: 'route53' }), clock: opts.clock, waitForStart: true, gate: () => this.duties.assertLeader(), holdsLead: () => this.duties.leadsNow() })
      : undefined;
    this.rfc2136 = config.rfc2136 ? new Rfc2136Sink({ config: config.rfc2136, logger: this.log, clock: opts.clock, gate: () => this.duties.assertLeader() }) : undefined;
    this.transfers = createTransfers(config, { logger: this.log.child({ component: 'transfer' }), dns: this.dns, clock: this.clock });
    this.notifier = new Notifier({ webhooks: config.notify, logger: this.log.child({ component: 'notify' }), clock: opts.clock, onOutcome: (o) => this.metrics.notifications.inc({ outcome: o }) });
    this.maintenance = new MaintenanceWindows(() => this.controller, this.log.child({ component: 'maintenance' }), this.clock, () => this.persistOverrides());
    this.state = new StateWriter({ file: config.state.file, logger: this.log.child({ component: 'state' }), build: () => this.buildState(), clock: opts.clock, onWrite: (ok, ms) => this.metrics.stateWrite(ok, ms) });
    const route53 = this.route53;
    if (route53) this.duties.add({ name: 'route53', start: () => route53.start(), stop: () => route53.stop() });
    const rfc2136 = this.rfc2136;
    if (rfc2136) this.duties.add({ name: 'rfc2136', start: () => rfc2136.start(), stop: () => rfc2136.stop() });
    this.duties.add({ name: 'notify', start: () => void (this.notifying = true), stop: () => void (this.notifying = false) });
    // Before the first answer (alone: at start): a restored drain of a window no longer configured is released, never served.
    this.duties.add({ name: 'maintenance', start: () => this.maintenance.configure(this.loaded.config.maintenance), stop: () => this.maintenance.stop(), reload: () => this.maintenance.configure(this.loaded.config.maintenance) });
    // The one place that tells alone from cluster.
    this.source = config.cluster ? new ClusterDecisions({ loaded, controller: this.controller, config: () => this.loaded.config, clock: this.clock, logger: this.log }) : new LocalDecisions(this.controller);
    this.admin = new AdminServer({ listen: config.admin.listen, admin: () => this.loaded.config.admin, ...(config.admin.tls ? { tls: config.admin.tls } : {}), logger: this.log.child({ component: 'admin' }), deps: this.adminDeps() });

    this.source.onChange(() => this.queuePublish());
    this.source.onDecided((t) => this.announceTransition(t));
    this.controller.transitionListeners.push(() => this.state.markDirty());
    this.controller.probeListeners.push((key, r) => this.metrics.probe(key, r));
    this.controller.healthListeners.push(() => this.state.markDirty());
    this.controller.overrideListeners.push((e) => {
      if (this.notifying) this.notifier.send(overrideEvent(e, this.clock.now()));
      this.state.markDirty();
      if (e.action === 'expired' && e.override.source.startsWith('maintenance:')) {
        this.log.info({ component: 'maintenance', window: e.override.source.slice('maintenance:'.length), target: e.targetId }, 'maintenance window ended: target released');
      }
    });
  }

  /**
   * Opens the admin API (so /readyz can say 503), waits for the first probe
   * round (or startupTimeout), then opens the DNS listeners: no answer is
   * served before it is a verdict.
   */
  async start(): Promise<Array<{ host: string; port: number }>> {
    this.adminBound = await this.admin.start();
    this.log.info({ component: 'admin', listen: this.adminBound, ...adminAccessSummary(this.loaded.config.admin) }, 'admin API listening');
    if (!isLoopback(this.loaded.config.admin.listen.host) && !this.loaded.config.admin.tls) this.log.warn({ component: 'admin', listen: this.adminBound }, 'admin API beyond loopback without TLS (admin.allowPlaintext): tokens and changes cross the network in clear');
    // Alone, this process leads from start to stop (the duties run before the first answer); in a cluster, from its election to its loss.
    await this.source.runDuties(this.duties);
    await this.controller.start();
    await this.source.join();
    this.publish();
    const bound = await this.dns.start();
    this.serving = true;
    await this.state.flush();
    this.log.info({ listen: bound, zones: this.loaded.zones.map((z) => z.origin), serials: Object.fromEntries(this.snapshot!.zones.map((z) => [z.origin, z.serial])), recordSets: this.loaded.config.records.length, route53: this.route53 ? this.loaded.config.route53!.mode : 'off' }, 'serving DNS');
    return bound;
  }

  /**
   * Stops probes and schedules, writes the state file, then closes the DNS
   * listeners (answering until then), the admin API and the sinks.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.duties.close();
    await this.source.stop();
    await this.controller.stop();
    this.publishNowIfQueued(); // the state file keeps the serial that was served
    await this.state.close();
    await Promise.all([this.dns.stop(), this.admin.stop(), this.transfers?.stop(), this.notifier.stop(1000)]);
  }

  /** Where the admin API listens (after start). */
  adminAddress(): { host: string; port: number } | undefined {
    return this.adminBound;
  }

  /**
   * Re-reads the config file and its zones. Invalid: every problem logged
   * and returned, the running config stays. Valid: applied; probes whose
   * settings did not change keep their health. What each key does on a
   * reload is in config/reload-effects.ts: a changed key that needs a
   * restart keeps its running value and is named (warn line, reply).
   * One reload runs at a time; a request that arrives during one gets the
   * result of a read that begins after it ends (shared by every request that
   * arrived meanwhile), so an edit made during a reload is never lost.
   */
  reload(): Promise<ReloadOutcome> {
    if (!this.reloading) return this.startReload();
    // The running reload may have read the file before this request's edit:
    // one more read follows it, shared by every request that arrives meanwhile.
    if (!this.reloadQueued) {
      this.log.info({ component: 'reload' }, 'reload requested while a reload runs: the config is read again after it');
      const again = () => {
        this.reloadQueued = undefined;
        return this.startReload();
      };
      this.reloadQueued = this.reloading.then(again, again);
    }
    return this.reloadQueued;
  }

  private startReload(): Promise<ReloadOutcome> {
    const running = this.doReload().finally(() => {
      if (this.reloading === running) this.reloading = undefined;
    });
    this.reloading = running;
    return running;
  }

  private async doReload(): Promise<ReloadOutcome> {
    const log = this.log.child({ component: 'reload' });
    const file = this.loaded.config.file;
    let next: LoadedConfig;
    try {
      next = await loadConfig(file);
      // The static data of big zones is built in steps now, not in one block at the next publish.
      await prepareZones(next.zones);
    } catch (err) {
      const problems: Problem[] = err instanceof ProblemsError ? err.problems : [{ file, message: errorText(err) }];
      for (const p of problems) log.error({ file: p.file, line: p.line, path: p.path, problem: p.message }, `config problem: ${formatProblem(p)}`);
      log.error({ file, problems: problems.length }, 'reload refused: still serving the previous config');
      this.lastReload = { at: this.clock.now(), ok: false, problemCount: problems.length, problems: problems.slice(0, 20).map(formatProblem) };
      this.metrics.reload(false);
      return { ok: false, problems };
    }
    const { applied, needsRestart } = planReload(this.loaded.config, next.config);
    const warnings = needsRestart.map(restartWarning);
    this.loaded = { config: applied, zones: next.zones };
    this.configLoadedAt = this.clock.now();
    if (this.log.level !== applied.log.level) this.log.level = applied.log.level;
    const summary = this.controller.reload(applied);
    this.publishNowIfQueued();
    this.notifier.configure(applied.notify);
    this.transfers.configure(applied);
    void this.duties.reload();
    if (applied.admin.tls) this.admin.setTls(applied.admin.tls);
    this.source.reconfigure(applied, next.zones);
    this.metrics.forgetProbes(summary.probesRemoved);
    for (const id of summary.overridesDropped) log.warn({ target: id }, 'dropped the override of a target that is no longer configured');
    for (const r of needsRestart) log.warn({ key: r.key, why: r.why }, restartWarning(r));
    this.metrics.reload(true);
    this.lastReload = { at: this.configLoadedAt, ok: true, problemCount: 0, problems: [] };
    this.state.markDirty();
    log.info({ file, ...summary, probesKept: summary.probesKept.length, recordSets: applied.records.length, zones: next.zones.map((z) => z.origin) }, 'config reloaded');
    return { ok: true, summary, warnings, needsRestart };
  }

  /**
   * Answer changes of one moment become one snapshot and one serial step:
   * every change during this turn of the event loop (a mass failure brings
   * hundreds of probe results in one turn) is published together once the
   * turn's I/O is handled, before any later query is read.
   */
  private queuePublish(): void {
    if (this.publishQueued) return;
    this.publishQueued = this.clock.defer(() => {
      this.publishQueued = undefined;
      this.publish();
    });
  }

  private publishNowIfQueued(): void {
    if (!this.publishQueued) return;
    this.publishQueued.cancel();
    this.publishQueued = undefined;
    this.publish();
  }

  /**
   * Builds the snapshot of static data plus every answer served (with the
   * serials the source gives, if any), swaps it in, and tells Route 53.
   */
  private publish(): void {
    const { decisions, serials } = this.source.served();
    this.snapshot = buildSnapshot(this.loaded.zones, decisions.map(toDynamicRRset), this.snapshot, this.snapshot ? undefined : this.floorSerials, serials ? new Map(serials) : undefined);
    this.dns.setSnapshot(this.snapshot);
    this.transfers?.onSnapshot(this.snapshot);
    // Recorded always; sent only while the route53 and rfc2136 duties run (this process leads).
    this.route53?.update(toDesiredRecordSets(decisions, this.loaded.config.records));
    this.rfc2136?.update(decisions.map(toUpdateRecordSet));
    this.state.markDirty();
  }

  /** A transition of the answers served (this process's, or the cluster's decided by this instance as leader): counted and told. */
  private announceTransition(t: Transition): void {
    this.metrics.transition(t);
    if (this.notifying) this.notifier.send(transitionEvent(t));
  }

  /**
   * What the state file holds now. A probe key's entry is the same object
   * while it is unchanged, and a record set's is its machine's (immutable)
   * state: the writer serializes only the entries that changed.
   */
  private buildState(): StateValue {
    const c = this.controller;
    const health = new Map<string, SavedHealth>();
    if (this.probeKeysOf?.config !== c.config) this.probeKeysOf = { config: c.config, keys: [...new Set(c.config.records.flatMap((rs) => rs.targets.map((t) => t.probeKey)))] };
    for (const key of this.probeKeysOf.keys) {
      const tr = c.tracker(key);
      const check = c.checkHashOf(key);
      if (!tr || !check || tr.health === 'UNKNOWN') continue;
      let saved = this.savedHealth.get(key);
      if (saved?.health !== tr.health || saved.since !== tr.since || saved.check !== check) saved = { health: tr.health, since: tr.since, check };
      health.set(key, saved);
    }
    this.savedHealth = health;
    const serials: Record<string, number> = Object.fromEntries(this.floorSerials);
    for (const z of this.snapshot?.zones ?? []) serials[z.origin] = z.serial;
    const recordSets = new Map<string, RecordSetState>();
    for (const a of c.answers()) recordSets.set(recordSetKey(a.config), a.state);
    return {
      version: STATE_VERSION,
      savedAt: '',
      overrides: Object.fromEntries(c.overrides.all()),
      health,
      recordSets,
      serials,
    };
  }

  /** Publishes a queued answer change, writes the overrides to etcd (a cluster: rejects when it refuses them) and the state file. */
  private async persistNow(): Promise<StateWriteOutcome> {
    this.publishNowIfQueued();
    await this.source.flush();
    return this.state.flush();
  }

  /** persistNow() for a maintenance window's drain: what a failure means for it. */
  private async persistOverrides(): ReturnType<PersistOverrides> {
    this.publishNowIfQueued();
    try {
      await this.source.flush();
    } catch (err) {
      return { ok: false, err, consequence: 'is undone: etcd refused it' };
    }
    const saved = await this.state.flush();
    return saved.ok ? saved : { ok: false, err: saved.err, consequence: 'is not in the state file: a restart during the window would serve the targets again' };
  }

  private adminDeps(): AdminDeps {
    return {
      controller: () => this.controller,
      decisions: () => this.source.served().decisions,
      eachDecision: () => this.source.eachDecision(),
      probes: (key) => this.controller.tracker(key),
      snapshot: () => this.snapshot,
      readiness: () => {
        if (this.stopping) return { ready: false, reason: 'stopping' };
        if (!this.serving) return { ready: false, reason: 'starting: zones are loaded; waiting for the first probe round' };
        return { ready: true };
      },
      reload: () => this.reload(),
      maintenance: () => this.maintenance.status(),
      metrics: this.metrics,
      // An operator action's answer change is in the snapshot (and its serial on disk) before the API answers.
      persistNow: () => this.persistNow(),
      route53: () => this.route53?.view() ?? null,
      rfc2136: () => this.rfc2136?.view() ?? null,
      cluster: () => this.source.clusterStatus(),
      leaderDuties: () => this.duties.view(),
      targetUnknownToLeader: (id) => this.source.targetUnknownToLeader(id),
      transitions: (limit) => this.source.transitions(limit),
      failback: (key) => this.source.failback(key),
      secondaries: () => this.transfers?.notifyStatus() ?? [],
      webhooks: () => this.notifier.status(),
      dnsWorkers: () => this.dns.workerPool?.health(),
      history: this.history,
      clock: this.clock,
      now: () => this.clock.now(),
      info: () => ({ version: FAILOVERD_VERSION, startedAt: this.startedAt, configFile: this.loaded.config.file, configLoadedAt: this.configLoadedAt, ...(this.lastReload ? { lastReload: this.lastReload } : {}), stateFile: this.loaded.config.state.file, ...(this.stateRestoreProblem ? { stateRestoreProblem: this.stateRestoreProblem } : {}) }),
    };
  }
}
