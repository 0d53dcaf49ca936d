/**
 * Prometheus metrics: one prom-client Registry per daemon, every name
 * prefixed failoverd_. Counters and histograms are fed by events; gauges
 * read the decisions (what is served) when scraped, so they can never drift
 * from them (nor keep series of targets a reload removed). The families with
 * a series per record set or target are written by exposition.ts in slices
 * (prom-client builds each in one long call). A counter whose label values
 * are known in advance exports 0 for each from the start.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ClusterStatus } from '../cluster/cluster-node.ts';
import type { LeaderDutiesView } from '../leader-duties.ts';
import type { RecordSetDecision } from '../failover/decision.ts';
import type { Transition } from '../failover/types.ts';
import type { ProbeResult } from '../probes/types.ts';
import type { Snapshot } from '../records/snapshot.ts';
import type { Rfc2136TargetMetrics } from '../rfc2136/sink.ts';
import type { Route53MetricsView } from '../route53/sink.ts';
import type { TcpStats } from '../dns/tcp-limits.ts';
import type { WorkerPoolHealth } from '../dns/worker-pool.ts';
import type { NotifyStatus } from '../transfer/notify.ts';
import { LOCAL_ERROR_CODE_LIST } from '../probes/reason.ts';
import type { NotifyOutcome } from '../notify/webhook.ts';
import { registerClusterMetrics } from './cluster-metrics.ts';
import { header, KeyedHistogram, labels, value, type Family } from './exposition.ts';
import { collectInSlices, SliceBudget } from './slices.ts';

const RCODE_NAMES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', 'YXDOMAIN', 'YXRRSET', 'NXRRSET', 'NOTAUTH', 'NOTZONE'];
const HEALTH_STATES = ['UP', 'DOWN', 'UNKNOWN'] as const;
const TRANSPORTS = ['udp', 'tcp'] as const;
const NOTIFY_OUTCOMES: readonly NotifyOutcome[] = ['sent', 'retried', 'failed', 'dropped'];
const PROBE_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
/** The check of a probe key ("<check>@<address>"; an address has no "@"). */
const checkOf = (probeKey: string): string => probeKey.slice(0, probeKey.lastIndexOf('@'));
/** Sample lines made between two looks at the slice's time budget. */
const LINES_PER_LOOK = 256;

export interface MetricsSources {
  /** The decision of every record set (what is served). */
  decisions: () => RecordSetDecision[];
  /** The same, each made when it is reached: a scrape takes them in slices (alone, 10,000 take ~70 ms of CPU). */
  eachDecision?: () => Iterable<RecordSetDecision>;
  /** True once the first answers are decided. */
  ready: () => boolean;
  snapshot: () => Snapshot | undefined;
  /** Each configured maintenance window: active now, its failed runs, its last run. */
  maintenance: () => Array<{ name: string; active: boolean; failedRuns: number; lastRun?: { ok: boolean } }>;
  notifyQueue: () => number;
  /** The daemon's Clock (epoch ms). */
  now: () => number;
  /** The Route 53 sink; undefined when not configured (no failoverd_route53_* series then). */
  route53?: () => Route53MetricsView | undefined;
  /** The RFC 2136 sink, one entry per zone and server; undefined when not configured (no failoverd_rfc2136_* series then). */
  rfc2136?: () => Rfc2136TargetMetrics[] | undefined;
  /** Cluster mode; undefined without a cluster: section (no failoverd_cluster_* series then). */
  cluster?: () => ClusterStatus | undefined;
  /** True when the state file of the last run could not be restored at this start. */
  stateRestoreFailed?: () => boolean;
  /** Each secondary's last answer to a NOTIFY, per zone (no failoverd_secondary_* series without secondaries). */
  secondaries?: () => NotifyStatus[];
  /** The embedded DNS server's UDP worker processes (dns.workers > 1; none: no failoverd_dns_worker* series). */
  dnsWorkers?: () => WorkerPoolHealth | undefined;
  /** The embedded DNS server's TCP connections: open now, and refused or closed by a bound. */
  dnsTcp?: () => TcpStats;
  /** The probed targets of the config ("<check>@<address>"): their probe series exist (at 0) before their first result. */
  probeKeys?: () => Iterable<string>;
  /** The leader duties: whether this process leads, each configured duty's state (no failoverd_leader_* series without it). */
  leaderDuties?: () => LeaderDutiesView;
}

export class Metrics {
  readonly registry = new Registry();
  /** probe key → results by outcome. */
  private readonly probes = new Map<string, { ok: number; fail: number }>();
  /** Probe latency by check (not by probed target: a histogram per target is ~15 series each, 150,000 at 10,000 targets). */
  private readonly probeSeconds = new KeyedHistogram(PROBE_BUCKETS);
  private readonly probeLocalErrors: Counter<'code'>;
  /** record set key → transitions. */
  private readonly transitionsTotal = new Map<string, number>();
  private readonly dnsQueries: Counter<'rcode' | 'transport'>;
  private readonly reloads: Counter<'outcome'>;
  private readonly reloadLastSuccess: Gauge;
  private readonly reloadLastOk: Gauge;
  private readonly stateWrites: Counter<'outcome'>;
  private readonly stateWriteSeconds: Histogram;
  readonly notifications: Counter<'outcome'>;

  private readonly now: () => number;

  /** `sliceMs`: the time budget of a slice of a scrape (slices.ts); 0 turns the event loop every LINES_PER_LOOK lines. */
  constructor(
    private readonly src: MetricsSources,
    private readonly opts: { sliceMs?: number } = {},
  ) {
    this.now = src.now;
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'failoverd_' });
    this.probeLocalErrors = new Counter({
      name: 'failoverd_probe_local_errors_total',
      help: 'Probes that failed on an error of this machine (EMFILE, ENFILE, EADDRNOTAVAIL, ENOBUFS), by code: no verdict on their target, not in failoverd_probes_total.',
      labelNames: ['code'],
      registers,
    });
    for (const code of LOCAL_ERROR_CODE_LIST) this.probeLocalErrors.inc({ code }, 0);
    const r53 = () => src.route53?.();
    new Counter({
      name: 'failoverd_route53_changes_total',
      help: 'Route 53 record changes submitted, by outcome (applied, rejected by Route 53, failed with the request).',
      labelNames: ['outcome'],
      registers,
      collect() {
        this.reset();
        const m = r53();
        if (m) for (const [outcome, n] of Object.entries(m.changes)) this.inc({ outcome }, n);
      },
    });
    new Counter({
      name: 'failoverd_route53_errors_total',
      help: 'Failed attempts to bring Route 53 in sync, by error code (AWS or failoverd code).',
      labelNames: ['code'],
      registers,
      collect() {
        this.reset();
        for (const [code, n] of r53()?.errors ?? []) this.inc({ code }, n);
      },
    });
    new Gauge({
      name: 'failoverd_route53_pending_changes',
      help: 'Record sets whose desired state is not (known to be) in Route 53 yet.',
      labelNames: ['mode'],
      registers,
      collect() {
        this.reset();
        const m = r53();
        if (m) this.set({ mode: m.view.mode }, m.view.pendingChanges);
      },
    });
    new Gauge({
      name: 'failoverd_route53_in_sync',
      help: '1 while everything failoverd wants is known to be in Route 53, else 0.',
      labelNames: ['mode'],
      registers,
      collect() {
        this.reset();
        const m = r53();
        if (m) this.set({ mode: m.view.mode }, m.view.inSync ? 1 : 0);
      },
    });
    new Gauge({
      name: 'failoverd_route53_seconds_since_in_sync',
      help: 'Seconds since Route 53 was last known in sync (0 while in sync; since start if never).',
      labelNames: ['mode'],
      registers,
      collect() {
        this.reset();
        const m = r53();
        if (m) this.set({ mode: m.view.mode }, m.secondsSinceInSync);
      },
    });
    const rfc = () => src.rfc2136?.() ?? [];
    const at = (m: Rfc2136TargetMetrics) => ({ zone: m.view.zone, server: m.view.server });
    new Counter({
      name: 'failoverd_rfc2136_updates_total',
      help: 'RFC 2136 UPDATE messages sent, per zone and server, by the answer\'s RCODE (NOERROR, REFUSED, NOTAUTH, BADSIG, BADKEY, BADTIME, YXRRSET, NXRRSET, NXDOMAIN, ...) or TIMEOUT / a socket error.',
      labelNames: ['zone', 'server', 'rcode'],
      registers,
      collect() {
        this.reset();
        for (const m of rfc()) for (const [rcode, n] of m.updates) this.inc({ ...at(m), rcode }, n);
      },
    });
    new Counter({
      name: 'failoverd_rfc2136_reads_total',
      help: 'Read-backs of a zone per server: soa (the serial had not moved), ixfr, axfr.',
      labelNames: ['zone', 'server', 'kind'],
      registers,
      collect() {
        this.reset();
        for (const m of rfc()) for (const [kind, n] of m.reads) this.inc({ ...at(m), kind }, n);
      },
    });
    new Gauge({
      name: 'failoverd_rfc2136_in_sync',
      help: '1 while everything failoverd wants is known to be on the server (zone, server), else 0.',
      labelNames: ['zone', 'server'],
      registers,
      collect() {
        this.reset();
        for (const m of rfc()) this.set(at(m), m.view.inSync ? 1 : 0);
      },
    });
    new Gauge({
      name: 'failoverd_rfc2136_seconds_since_in_sync',
      help: 'Seconds since the server was last known in sync (0 while in sync; since start if never).',
      labelNames: ['zone', 'server'],
      registers,
      collect() {
        this.reset();
        for (const m of rfc()) this.set(at(m), m.secondsSinceInSync);
      },
    });
    new Gauge({
      name: 'failoverd_rfc2136_refused_record_sets',
      help: 'Record sets failoverd does not write on the server, by why: edited (changed by hand since failoverd wrote it), unmarked (someone else\'s), foreign (another owner id\'s).',
      labelNames: ['zone', 'server', 'kind'],
      registers,
      collect() {
        this.reset();
        for (const m of rfc()) for (const kind of ['edited', 'unmarked', 'foreign'] as const) this.set({ ...at(m), kind }, m.view.refused.filter((r) => r.kind === kind).length);
      },
    });
    new Gauge({
      name: 'failoverd_rfc2136_consecutive_failures',
      help: 'Failed attempts in a row to bring the server in sync (each retried with backoff); the last one\'s RCODE is in /v1/status.',
      labelNames: ['zone', 'server'],
      registers,
      collect() {
        this.reset();
        for (const m of rfc()) this.set(at(m), m.view.consecutiveFailures);
      },
    });
    new Gauge({
      name: 'failoverd_dns_tcp_connections',
      help: 'TCP connections to the embedded DNS server open now.',
      registers,
      collect() {
        this.set(src.dnsTcp?.().open ?? 0);
      },
    });
    new Counter({
      name: 'failoverd_dns_tcp_closed_total',
      help: 'TCP connections to the embedded DNS server refused or closed by a bound: max-connections, max-per-client (refused at accept), message-timeout, idle-timeout.',
      labelNames: ['reason'],
      registers,
      collect() {
        this.reset();
        const s = src.dnsTcp?.();
        if (s) for (const [reason, n] of Object.entries(s.closed)) this.inc({ reason }, n);
      },
    });
    new Gauge({
      name: 'failoverd_secondary_notify_acknowledged',
      help: '1 when the secondary acknowledged the last NOTIFY for the zone, 0 when it was refused, unanswered after every retry, failed TSIG or could not be sent (until the next serial change notifies it again); no series before its first answer.',
      labelNames: ['secondary', 'zone'],
      registers,
      collect() {
        this.reset();
        for (const s of src.secondaries?.() ?? []) if (s.last) this.set({ secondary: s.secondary, zone: s.zone }, s.last.outcome === 'acknowledged' ? 1 : 0);
      },
    });
    new Counter({
      name: 'failoverd_dns_worker_exits_total',
      help: 'UDP worker processes of the embedded DNS server (dns.workers > 1) that exited without being asked to (a crash, a kill, out of memory); each is replaced, at most one a second. 0 without workers.',
      registers,
      collect() {
        this.reset();
        this.inc(src.dnsWorkers?.()?.exits ?? 0);
      },
    });
    this.dnsQueries = new Counter({ name: 'failoverd_dns_queries_total', help: 'DNS replies sent by the embedded server, by rcode and transport.', labelNames: ['rcode', 'transport'], registers });
    for (const rcode of RCODE_NAMES) for (const transport of TRANSPORTS) this.dnsQueries.inc({ rcode, transport }, 0);
    new Gauge({
      name: 'failoverd_zone_serial',
      help: 'SOA serial of each served zone.',
      labelNames: ['zone'],
      registers,
      collect() {
        this.reset();
        for (const z of src.snapshot()?.zones ?? []) this.set({ zone: z.origin || '.' }, z.serial);
      },
    });
    this.reloads = new Counter({ name: 'failoverd_config_reloads_total', help: 'Config reloads by outcome (success, failure).', labelNames: ['outcome'], registers });
    this.reloadLastOk = new Gauge({ name: 'failoverd_config_last_reload_successful', help: '1 when the last reload succeeded (or none was tried), 0 when it was refused.', registers });
    this.reloadLastSuccess = new Gauge({ name: 'failoverd_config_last_reload_success_timestamp_seconds', help: 'Unix time of the last successful config load (start or reload).', registers });
    for (const outcome of ['success', 'failure']) this.reloads.inc({ outcome }, 0);
    this.reloadLastOk.set(1);
    this.reloadLastSuccess.set(src.now() / 1000);
    new Gauge({
      name: 'failoverd_leader_duty_running',
      help: '1 while this leader duty (route53, rfc2136, notify, maintenance) runs, else 0; every configured duty from the start. 0 on a process that leads (failoverd_leader_duties_leading 1) means its start failed: it is tried again with backoff.',
      labelNames: ['duty'],
      registers,
      collect() {
        this.reset();
        for (const d of src.leaderDuties?.().duties ?? []) this.set({ duty: d.name }, d.state === 'running' ? 1 : 0);
      },
    });
    new Gauge({
      name: 'failoverd_leader_duties_leading',
      help: '1 while this process leads, so its leader duties should run (alone: from start to stop; a cluster: the leader), else 0.',
      registers,
      collect() {
        this.reset();
        const v = src.leaderDuties?.();
        if (v) this.set(v.leading ? 1 : 0);
      },
    });
    new Gauge({
      name: 'failoverd_maintenance_active',
      help: '1 while a maintenance window drains its targets.',
      labelNames: ['window'],
      registers,
      collect() {
        this.reset();
        for (const m of src.maintenance()) this.set({ window: m.name }, m.active ? 1 : 0);
      },
    });
    new Counter({
      name: 'failoverd_maintenance_run_failures_total',
      help: 'Runs of a maintenance window that failed (a target not drained, or its drain not made durable), since start; 0 for each configured window from the start.',
      labelNames: ['window'],
      registers,
      collect() {
        this.reset();
        for (const m of src.maintenance()) this.inc({ window: m.name }, m.failedRuns);
      },
    });
    new Gauge({
      name: 'failoverd_maintenance_last_run_successful',
      help: '0 when the last run of a maintenance window failed, until its next good run; 1 otherwise (also before its first run).',
      labelNames: ['window'],
      registers,
      collect() {
        this.reset();
        for (const m of src.maintenance()) this.set({ window: m.name }, m.lastRun?.ok === false ? 0 : 1);
      },
    });
    new Gauge({
      name: 'failoverd_state_restore_failed',
      help: '1 when the state file of the last run existed but could not be restored at this start (unreadable or corrupt: moved aside): the drains, holds and serials of before are forgotten; 0 otherwise (also for a first start without one). Stays until the next start.',
      registers,
      collect() {
        this.set(src.stateRestoreFailed?.() ? 1 : 0);
      },
    });
    this.stateWrites = new Counter({ name: 'failoverd_state_writes_total', help: 'State file writes by outcome (ok, error).', labelNames: ['outcome'], registers });
    this.stateWriteSeconds = new Histogram({ name: 'failoverd_state_write_duration_seconds', help: 'Time to write the state file (temp, fsync, rename).', buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1], registers });
    for (const outcome of ['ok', 'error']) this.stateWrites.inc({ outcome }, 0);
    this.notifications = new Counter({ name: 'failoverd_notifications_total', help: 'Webhook notifications by outcome (sent, retried, failed, dropped).', labelNames: ['outcome'], registers });
    for (const outcome of NOTIFY_OUTCOMES) this.notifications.inc({ outcome }, 0);
    new Gauge({
      name: 'failoverd_notify_queue_length',
      help: 'Notifications waiting to be sent, over every webhook.',
      registers,
      collect() {
        this.set(src.notifyQueue());
      },
    });
    new Gauge({
      name: 'failoverd_ready',
      help: '1 once zones are loaded and the first probe round is done.',
      registers,
      collect() {
        this.set(src.ready() ? 1 : 0);
      },
    });
    registerClusterMetrics(this.registry, () => src.cluster?.(), src.now);
  }

  probe(target: string, r: ProbeResult): void {
    if (r.local) {
      this.probeLocalErrors.inc({ code: r.local.code });
      return;
    }
    let n = this.probes.get(target);
    if (!n) this.probes.set(target, (n = { ok: 0, fail: 0 }));
    if (r.ok) n.ok++;
    else n.fail++;
    this.probeSeconds.observe(checkOf(target), r.latencyMs / 1000);
  }

  /** Drops the series of probe keys a reload removed: a gone target keeps no probe series, a check no target uses any more no latency series. */
  forgetProbes(keys: readonly string[]): void {
    for (const target of keys) this.probes.delete(target);
    const checks = new Set([...(this.src.probeKeys?.() ?? []), ...this.probes.keys()].map(checkOf));
    for (const check of [...this.probeSeconds.keys()]) if (!checks.has(check)) this.probeSeconds.remove(check);
  }

  transition(t: Transition): void {
    this.transitionsTotal.set(t.recordSet, (this.transitionsTotal.get(t.recordSet) ?? 0) + 1);
  }

  dnsReply(rcode: number, transport: string): void {
    this.dnsQueries.inc({ rcode: RCODE_NAMES[rcode] ?? String(rcode), transport });
  }

  reload(ok: boolean): void {
    this.reloads.inc({ outcome: ok ? 'success' : 'failure' });
    this.reloadLastOk.set(ok ? 1 : 0);
    if (ok) this.reloadLastSuccess.set(this.now() / 1000);
  }

  stateWrite(ok: boolean, ms: number): void {
    this.stateWrites.inc({ outcome: ok ? 'ok' : 'error' });
    if (ok) this.stateWriteSeconds.observe(ms / 1000);
  }

  /** Every metric's name (prom-client's and the sliced families'). */
  names(): string[] {
    return [...this.registry.getMetricsAsArray().map((m) => m.name), ...this.families([]).map((f) => f.name)];
  }

  async text(): Promise<string> {
    const parts: string[] = [];
    for await (const part of this.chunks()) parts.push(part);
    return parts.join('');
  }

  /**
   * The exposition in slices of a few milliseconds, the event loop turning
   * between them (slices.ts): prom-client's metrics one at a time (each is
   * small), then the families with a series per record set or target, a
   * slice of lines at a time. The decisions are read once per scrape, in
   * slices too.
   */
  async *chunks(): AsyncGenerator<string> {
    const budget = new SliceBudget(this.opts.sliceMs);
    let first = true;
    for (const m of this.registry.getMetricsAsArray()) {
      const text = await this.registry.getSingleMetricAsString(m.name);
      yield first ? text : '\n\n' + text;
      first = false;
      if (budget.spent()) await budget.turn();
    }
    const decisions = this.src.eachDecision ? await collectInSlices(this.src.eachDecision(), budget) : this.src.decisions();
    for (const f of this.families(decisions)) {
      let lines: string[] = [`${first ? '' : '\n\n'}${header(f)}`];
      first = false;
      for (const line of f.samples()) {
        lines.push(line);
        if (lines.length % LINES_PER_LOOK === 0 && budget.spent()) {
          yield lines.join('\n');
          lines = [''];
          await budget.turn();
        }
      }
      yield lines.join('\n');
    }
    yield '\n';
  }

  /** The families with a series per record set or target, read from one set of decisions. */
  private families(decisions: readonly RecordSetDecision[]): Family[] {
    const probes = this.probes;
    const histogram = this.probeSeconds;
    const transitions = this.transitionsTotal;
    const probeKeys = (): Set<string> => new Set([...(this.src.probeKeys?.() ?? []), ...probes.keys()]);
    return [
      {
        name: 'failoverd_probes_total',
        help: 'Probe results by probed target ("<check>@<address>") and outcome (ok, fail).',
        type: 'counter',
        *samples() {
          for (const target of probeKeys()) {
            const n = probes.get(target);
            for (const outcome of ['ok', 'fail'] as const) yield `failoverd_probes_total${labels({ target, outcome })} ${n?.[outcome] ?? 0}`;
          }
        },
      },
      {
        name: 'failoverd_probe_duration_seconds',
        help: 'Probe latency by check (the checks: section\'s name), over every target it probes.',
        type: 'histogram',
        *samples() {
          for (const check of new Set([...probeKeys()].map(checkOf))) yield* histogram.lines('failoverd_probe_duration_seconds', 'check', check);
        },
      },
      {
        name: 'failoverd_target_health',
        help: 'Health of each target id, one series per state set to 1: view="real" (probes after rise/fall) or "effective" (override on top).',
        type: 'gauge',
        *samples() {
          for (const d of decisions) {
            for (const t of d.targets) {
              const target = labels({ target: t.id, record_set: d.key }).slice(0, -1);
              for (const view of ['real', 'effective'] as const) {
                const h = view === 'real' ? t.realHealth : t.health;
                for (const s of HEALTH_STATES) yield `failoverd_target_health${target},view="${view}",state="${s}"} ${h === s ? 1 : 0}`;
              }
            }
          }
        },
      },
      {
        name: 'failoverd_target_override',
        help: 'Active operator override per target: 1 for its state (UP pin or DOWN drain).',
        type: 'gauge',
        *samples() {
          const seen = new Set<string>();
          for (const d of decisions) {
            for (const { id, override: o } of d.targets) {
              if (!o || seen.has(id)) continue;
              seen.add(id);
              yield `failoverd_target_override${labels({ target: id, state: o.state, source: o.source })} 1`;
            }
          }
        },
      },
      {
        name: 'failoverd_record_set_answer',
        help: 'Whether each target is in its record set\'s current answer (1) or not (0).',
        type: 'gauge',
        *samples() {
          for (const d of decisions) for (const t of d.targets) yield `failoverd_record_set_answer${labels({ record_set: d.key, target: t.id, address: t.address })} ${t.answered ? 1 : 0}`;
        },
      },
      {
        name: 'failoverd_record_set_state',
        help: 'Per record set: kind of answer (targets, nodata, servfail) set to 1, and degraded / all_down flags.',
        type: 'gauge',
        *samples() {
          for (const { key, state } of decisions) {
            const rs = labels({ record_set: key }).slice(0, -1);
            for (const k of ['targets', 'nodata', 'servfail']) yield `failoverd_record_set_state${rs},flag="${k}"} ${state.answer.kind === k ? 1 : 0}`;
            yield `failoverd_record_set_state${rs},flag="degraded"} ${state.degraded ? 1 : 0}`;
            yield `failoverd_record_set_state${rs},flag="all_down"} ${state.allDown ? 1 : 0}`;
          }
        },
      },
      {
        name: 'failoverd_record_set_answer_since_seconds',
        help: 'Unix time when each record set\'s answer last changed.',
        type: 'gauge',
        *samples() {
          for (const { key, state } of decisions) yield `failoverd_record_set_answer_since_seconds${labels({ record_set: key })} ${value(state.since / 1000)}`;
        },
      },
      {
        name: 'failoverd_transitions_total',
        help: 'Answer changes (transitions) per record set.',
        type: 'counter',
        *samples() {
          const keys = new Set([...decisions.map((d) => d.key), ...transitions.keys()]);
          for (const key of keys) yield `failoverd_transitions_total${labels({ record_set: key })} ${transitions.get(key) ?? 0}`;
        },
      },
    ];
  }
}
