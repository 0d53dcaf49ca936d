/**
 * Commands that talk to a running daemon over its admin API: status,
 * explain, drain, undrain, failback, reload. `--admin URL` (or
 * FAILOVERD_ADMIN) picks the daemon; admin-client.ts speaks HTTP or HTTPS
 * and finds the token (a file, an environment variable, or --token). On an
 * API error: the API's message on stderr, exit 1 (exit 2 for a refused
 * config on reload).
 */
import { Command, Option } from 'commander';
import { EXIT_CONFIG } from './problems.ts';
import { systemClock } from '../clock.ts';
import { adminRequest, baseUrl, ClientSetupError, DEFAULT_ADMIN, type AdminClientOpts } from './admin-client.ts';


interface AdminOpts extends AdminClientOpts {
  json?: boolean;
}

class CliApiError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

async function call(opts: AdminOpts, method: string, path: string, body?: unknown): Promise<any> {
  const base = baseUrl(opts);
  let res: { status: number; text: string };
  try {
    res = await adminRequest(opts, method, path, body);
  } catch (err) {
    if (err instanceof ClientSetupError) throw new CliApiError(err.message, 1);
    const e = err as { code?: string; message?: string };
    const cause = e.code ?? e.message;
    const tlsHint = /CERT|SELF_SIGNED|UNABLE_TO|ERR_SSL|ERR_TLS|EPROTO/i.test(String(e.code ?? '')) ? ` (${e.message}; for a private CA give --cacert, for mutual TLS --cert and --key)` : ' (is failoverd running? set --admin URL or FAILOVERD_ADMIN)';
    throw new CliApiError(`cannot reach the admin API at ${base}: ${cause}${tlsHint}`, 1);
  }
  const text = res.text;
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    throw new CliApiError(`${method} ${path}: HTTP ${res.status}, not JSON: ${text.slice(0, 200)}`, 1);
  }
  if (res.status < 200 || res.status >= 300) {
    const e = json?.error ?? {};
    const details = Array.isArray(e.details) ? '\n' + e.details.map((d: any) => `  ${typeof d === 'string' ? d : (d.text ?? JSON.stringify(d))}`).join('\n') : '';
    throw new CliApiError(`${e.message ?? `HTTP ${res.status}`} (${e.code ?? res.status})${details}`, e.code === 'CONFIG_INVALID' ? EXIT_CONFIG : 1);
  }
  return json;
}

/**
 * Text from the API (a drain reason, say) made safe for a terminal: control
 * characters (C0 but newline, DEL, C1) become \xNN escapes, so an escape
 * sequence in a reason cannot rewrite the screen.
 */
export function printable(text: string, keepNewlines = true): string {
  return text.replace(keepNewlines ? /[\x00-\x09\x0b-\x1f\x7f-\x9f]/g : /[\x00-\x1f\x7f-\x9f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** A plain text table: columns padded to their widest cell, the last column free; control characters escaped. */
export function table(head: string[], cells: string[][]): string {
  const rows = cells.map((r) => r.map((c) => printable(c, false)));
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(head), ...rows.map(line)].join('\n') + '\n';
}

function ago(iso: string | undefined, now = systemClock.now()): string {
  if (!iso) return '-';
  const s = Math.round((now - Date.parse(iso)) / 1000);
  const abs = Math.abs(s);
  const text = abs < 120 ? `${abs}s` : abs < 7200 ? `${Math.round(abs / 60)}m` : abs < 172800 ? `${Math.round(abs / 3600)}h` : `${Math.round(abs / 86400)}d`;
  return s >= 0 ? `${text} ago` : `in ${text}`;
}

/** `failoverd status` as text, from GET /v1/status's body. */
export function formatStatus(s: any): string {
  const sets = table(
    ['RECORD SET', 'POLICY', 'ANSWER', 'SINCE', 'WHY'],
    s.recordSets.map((r: any) => [r.key, r.policy, r.answer + (r.degraded ? ' (degraded)' : ''), ago(r.since), (r.reason ?? '-') + (r.pending ? ` [waiting: ${r.pending}]` : '')]),
  );
  const targets = table(
    ['TARGET', 'REAL', 'EFFECTIVE', 'ANSWERED', 'OVERRIDE', 'LAST PROBE'],
    s.targets.map((t: any) => {
      const o = t.override;
      const ov = o ? `${o.state === 'DOWN' ? 'drain' : 'pin UP'} by ${o.source}: ${o.reason}${o.expiresAt ? ` (until ${o.expiresAt}, ${ago(o.expiresAt)})` : ''}` : '-';
      const last = t.history[0];
      return [t.id, t.real.health, t.effective.health, t.answered ? 'yes' : 'no', ov, last ? `${last.ok ? 'ok' : 'FAIL'} ${last.reason} ${last.latencyMs}ms ${ago(last.at)}` : '-'];
    }),
  );
  const windows = s.maintenance.length
    ? '\n' +
      formatWindowFailures(s.maintenance) +
      table(
        ['MAINTENANCE', 'CRON', 'DURATION', 'STATE', 'LAST RUN', 'TARGETS'],
        s.maintenance.map((m: any) => [m.name, m.cron, `${m.duration / 1000}s`, m.active ? `ACTIVE until ${m.until}` : `next ${m.next ?? '-'}`, m.lastRun ? `${m.lastRun.ok ? 'ok' : 'FAILED'} ${ago(m.lastRun.at)}` : '-', m.targets.join(', ')]),
      )
    : '';
  const zones = s.zones.map((z: any) => `${z.origin} serial ${z.serial}`).join(', ');
  return `failoverd ${s.version}, ${s.ready ? 'ready' : 'NOT READY'}, up since ${s.startedAt}; zones: ${zones || '-'}\n${formatStateRestore(s.state)}${formatReload(s.config)}${formatDuties(s.leaderDuties)}${formatDnsWorkers(s.dnsWorkers)}${formatSecondaries(s.secondaries)}${formatWebhooks(s.webhooks)}${formatCluster(s.cluster)}\n${sets}\n${targets}${windows}${formatRoute53(s.route53)}${formatRfc2136(s.rfc2136)}`;
}

/** A WARNING line when the state file was not restored at start. */
function formatStateRestore(st: any): string {
  const p = st?.restoreProblem;
  if (!p) return '';
  return `WARNING: the state file ${st.file} was NOT restored at start (${p.problem}${p.movedTo ? `; moved aside to ${p.movedTo}` : ''}): drains, pins, failback holds and serials from before this start are forgotten\n`;
}

/** A WARNING line when the last reload was refused (the daemon serves the config it loaded before). */
function formatReload(c: any): string {
  const r = c?.lastReload;
  if (!r || r.ok) return '';
  const first = r.problems.slice(0, 3).map((p: string) => `\n  ${p}`).join('');
  const more = r.problemCount > 3 ? `\n  ... ${r.problemCount - 3} more (failoverd reload prints them all)` : '';
  return `WARNING: config reload REFUSED at ${r.at} (${r.problemCount} problem(s)): still serving the config loaded at ${c.loadedAt}${first}${more}\n`;
}

/** A WARNING line per secondary and zone whose last NOTIFY was not acknowledged (GET /v1/status secondaries[]). */
export function formatSecondaries(secondaries: any[] | undefined): string {
  const WHAT: Record<string, string> = { refused: 'REFUSED', unanswered: 'NOT ANSWERED after every retry', 'tsig-failed': 'answered with a BAD TSIG', 'send-error': 'NOT SENT' };
  return (secondaries ?? [])
    .filter((s) => s.lastNotify && s.lastNotify.outcome !== 'acknowledged')
    .map((s) => {
      const n = s.lastNotify;
      const detail = [n.rcode, n.error].filter(Boolean).join(': ');
      return `WARNING: secondary ${s.secondary}: the NOTIFY for ${s.zone} serial ${n.serial} was ${WHAT[n.outcome] ?? n.outcome}${detail ? ` (${detail})` : ''} at ${n.at}, after ${n.attempts} attempt(s); it learns the change only at its next SOA refresh\n`;
    })
    .join('');
}

/** A WARNING line while a DNS worker is missing, or for 15 minutes after one exited (it is replaced). */
function formatDnsWorkers(w: any, now = systemClock.now()): string {
  if (!w?.lastExit) return '';
  if (w.running >= w.size && now - Date.parse(w.lastExit.at) > 15 * 60_000) return '';
  return `WARNING: DNS worker ${w.lastExit.pid} exited (${w.lastExit.signal ?? `code ${w.lastExit.code}`}) at ${w.lastExit.at}; ${w.exits} worker exit(s) since start, ${w.running} of ${w.size} workers running (each is replaced, at most one a second)\n`;
}

/** A WARNING line per webhook whose last event was given up on (no event delivered since). */
function formatWebhooks(webhooks: any[] | undefined): string {
  return (webhooks ?? [])
    .filter((w) => w.lastFailure && (!w.lastSentAt || Date.parse(w.lastSentAt) <= Date.parse(w.lastFailure.at)))
    .map((w) => `WARNING: webhook ${w.webhook} FAILING: gave up on a ${w.lastFailure.event} notification at ${w.lastFailure.at} after ${w.lastFailure.attempts} attempt(s): ${w.lastFailure.error} (${w.failed} failed, ${w.dropped} dropped, ${w.sent} sent since start)\n`)
    .join('');
}

/** A WARNING line per maintenance window whose last run failed. */
function formatWindowFailures(windows: any[]): string {
  return windows
    .filter((m) => m.lastRun && !m.lastRun.ok)
    .map((m) => `WARNING: maintenance window ${m.name} FAILED at ${m.lastRun.at} (${m.failedRuns} failed run(s) since start): ${m.lastRun.error?.message ?? '?'}\n`)
    .join('');
}

/** A WARNING line per leader duty that should run here and does not (its start failed). */
function formatDuties(v: any): string {
  if (!v?.leading) return '';
  return (v.duties ?? [])
    .filter((d: any) => d.state === 'failed')
    .map((d: any) => `WARNING: leader duty ${d.name} is NOT RUNNING: its start failed ${d.failedStarts} time(s) since ${d.since}, last: ${d.error?.message ?? '?'}; next try ${d.nextRetryAt ? ago(d.nextRetryAt) : 'at the next election'}\n`)
    .join('');
}

/** The cluster lines: who leads, this instance's link to etcd, and each target as the vantage points see it. */
function formatCluster(c: any): string {
  if (!c) return '';
  const link = c.connected ? 'connected to etcd' : 'CUT OFF FROM ETCD';
  const serving = c.serving === 'cluster' ? "serving the cluster's decisions" : c.serving === 'frozen' ? 'serving the LAST decisions seen (frozen)' : "serving its OWN local verdict";
  const last = c.lastDecision ? `; last decision by ${c.lastDecision.leader} ${ago(c.lastDecision.receivedAt)}` : '; no decision received yet';
  const points = c.vantagePoints.map((v: any) => v.instance).join(', ') || 'none';
  const broken = Object.entries(c.mirrors ?? {}).filter(([, state]) => state !== 'live').map(([name]) => name);
  const current = c.current === false ? `\nNOT CURRENT: decisions last confirmed ${c.confirmedAt ? ago(c.confirmedAt) : 'never'}${broken.length ? `; etcd watches recovering: ${broken.join(', ')}` : ''}` : '';
  const head = `\nCluster ${c.name}: instance ${c.instance}${c.isLeader ? ' (LEADER)' : ''}, leader ${c.leader ?? 'none'}; ${link}, ${serving}${last}${current}\nVantage points live (${c.vantagePoints.length}): ${points}; quorum ${c.quorum}\n`;
  const views = table(
    ['TARGET', 'CLUSTER', 'VANTAGE POINTS', 'VIEWS'],
    c.targets.map((t: any) => [t.id, t.health, t.why, Object.entries(t.views).map(([i, h]) => `${i}=${h}`).join(' ') || '-']),
  );
  const differ = c.recordsDiffer?.length ? `WARNING: other record sets than this instance's on ${c.recordsDiffer.join(', ')}: give every instance of a cluster the same records\n` : '';
  const writes = c.writeError ? `WARNING: etcd refuses this leader's decision writes (${c.writeError.cause}) since ${c.writeError.since}: every instance serves the last decisions written; ${c.writeError.message}\n` : '';
  // The decisions' refusal has its own line above.
  const refused = (c.etcdWriteErrors ?? [])
    .filter((e: any) => e.write !== 'decisions')
    .map((e: any) => `WARNING: etcd refuses this instance's ${e.write} writes (${e.cause}) since ${e.since}, last ${ago(e.lastAt)}: ${e.message}\n`)
    .join('');
  const alarms = (c.etcdAlarms?.raised ?? [])
    .map((a: string) => `WARNING: etcd alarm ${a} raised: ${a === 'NOSPACE' ? 'its quota is full, it refuses every write until an operator compacts, defragments and disarms it (etcdctl alarm disarm; docs/cluster.md)' : 'it refuses writes (etcdctl alarm list; docs/cluster.md)'}\n`)
    .join('');
  return `${head}${alarms}${writes}${refused}${differ}${views}`;
}

function formatRoute53(r: any): string {
  if (!r) return '';
  const state = r.inSync ? 'in sync' : `OUT OF SYNC (${r.pendingChanges} pending)`;
  const err = r.lastError ? `; last error ${r.lastError.code}: ${r.lastError.message} (${ago(r.lastError.at)})` : '';
  return `\nRoute 53 (${r.mode} mode): ${state}; last applied ${r.lastAppliedAt ? ago(r.lastAppliedAt) : 'never'}; health checks owned ${r.healthChecksOwned}${err}\n`;
}

function formatRfc2136(r: any): string {
  if (!r) return '';
  const rows = r.targets.map((t: any) => [
    t.zone,
    t.server,
    t.inSync ? 'in sync' : `OUT OF SYNC (${t.pendingChanges} pending)`,
    t.lastRcode ?? '-',
    t.lastError ? `${t.lastError.rcode}: ${t.lastError.message} (${ago(t.lastError.at)}, ${t.consecutiveFailures} in a row)` : t.refused.length ? t.refused.map((x: any) => `${x.name} ${x.type} ${x.kind}`).join('; ') : '-',
  ]);
  return `\nRFC 2136 (owner ${r.ownerId}${r.dryRun ? ', dry run' : ''}):\n${table(['ZONE', 'SERVER', 'STATE', 'LAST RCODE', 'PROBLEM'], rows)}\n`;
}

export function registerAdminCommands(program: Command): void {
  const withApi = (c: Command) =>
    c
      .addOption(new Option('--admin <url>', `admin API of the daemon (env FAILOVERD_ADMIN, default ${DEFAULT_ADMIN})`))
      .addOption(new Option('--token <token>', 'bearer token (env FAILOVERD_ADMIN_TOKEN; prefer --token-file: a command line shows in ps)'))
      .addOption(new Option('--token-file <file>', 'read the bearer token from this file (env FAILOVERD_ADMIN_TOKEN_FILE)'))
      .addOption(new Option('--cacert <file>', 'https: trust this CA (PEM) for the daemon\'s certificate'))
      .addOption(new Option('--cert <file>', 'https: client certificate (PEM), for admin.tls.clientCA'))
      .addOption(new Option('--key <file>', 'https: the client certificate\'s key (PEM)'))
      .option('--json', 'print the API\'s JSON answer');
  const run = (fn: (...args: any[]) => Promise<void>) => async (...args: any[]) => {
    try {
      await fn(...args);
    } catch (err) {
      if (!(err instanceof CliApiError)) throw err;
      process.stderr.write(`failoverd: ${err.message}\n`);
      process.exitCode = err.exitCode;
    }
  };
  const out = (opts: AdminOpts, json: unknown, text: string) => process.stdout.write(opts.json ? JSON.stringify(json, null, 2) + '\n' : printable(text));

  withApi(program.command('status').description('record sets, targets (real and effective health, overrides, last probe) and maintenance windows of a running daemon')).action(
    run(async (opts: AdminOpts) => {
      const s = await call(opts, 'GET', '/v1/status');
      out(opts, s, formatStatus(s));
    }),
  );

  withApi(
    program
      .command('explain')
      .argument('<name>', 'record set name')
      .argument('[type]', 'A, AAAA or CNAME')
      .option('--client <address>', 'policy topology: what a client at this address (or subnet, e.g. 10.1.2.0/24) is answered: the map entry matched, the sites skipped and why')
      .description('why NAME answers what it answers now'),
  ).action(
    run(async (name: string, type: string | undefined, opts: AdminOpts & { client?: string }) => {
      const q = new URLSearchParams({ name, ...(type ? { type } : {}), ...(opts.client ? { client: opts.client } : {}) });
      const r = await call(opts, 'GET', `/v1/explain?${q}`);
      out(opts, r, r.explanation + '\n');
    }),
  );

  withApi(
    program
      .command('drain')
      .argument('<target>', 'target id, e.g. www.example.test/A/192.0.2.1')
      .requiredOption('--reason <reason>', 'why (shown in status, logs, notifications)')
      .option('--for <duration>', 'expire after this long, e.g. 30m, 2h')
      .description('force a target DOWN (a drain) on top of its real health'),
  ).action(
    run(async (target: string, opts: AdminOpts & { reason: string; for?: string }) => {
      const r = await call(opts, 'POST', `/v1/targets/${encodeURIComponent(target)}/override`, { state: 'down', reason: opts.reason, ...(opts.for ? { expires: opts.for } : {}) });
      out(opts, r, `drained ${r.target}${r.override.expiresAt ? ` until ${r.override.expiresAt}` : ''} (real health ${r.real}); ${r.recordSet ? `${r.recordSet.key} answers ${r.recordSet.answer}: ${r.recordSet.reason}` : ''}\n`);
      if (r.warning) process.stderr.write(`failoverd: warning: ${r.warning}\n`);
    }),
  );

  withApi(program.command('undrain').argument('<target>', 'target id').description('remove the override of a target: back to its real health')).action(
    run(async (target: string, opts: AdminOpts) => {
      const r = await call(opts, 'DELETE', `/v1/targets/${encodeURIComponent(target)}/override`);
      out(opts, r, `removed the override of ${r.target} (was ${r.removed.state}: ${r.removed.reason}); effective health now ${r.effective}\n`);
    }),
  );

  withApi(program.command('failback').argument('<name>', 'record set name').option('--type <type>', 'A, AAAA or CNAME (default: every failover record set of the name)').description('move a record set back to its first UP target (for failback: manual)')).action(
    run(async (name: string, opts: AdminOpts & { type?: string }) => {
      const r = await call(opts, 'POST', `/v1/records/${encodeURIComponent(name)}/failback${opts.type ? `?type=${encodeURIComponent(opts.type)}` : ''}`);
      out(opts, r, r.results.map((x: any) => (x.changed ? `${x.recordSet}: ${x.from} → ${x.to} (${x.reason})` : x.requested ? `${x.recordSet}: requested (${x.reason})` : `${x.recordSet}: unchanged (${x.reason})`)).join('\n') + '\n');
    }),
  );

  withApi(program.command('reload').description('re-read the config and zone files of a running daemon; a bad config is refused and the old one keeps serving')).action(
    run(async (opts: AdminOpts) => {
      const r = await call(opts, 'POST', '/v1/reload');
      const lines = [`reloaded: ${r.probesKept.length} probes kept, ${r.probesAdded.length} added, ${r.probesChanged.length} changed, ${r.probesRemoved.length} removed; record sets +${r.recordSetsAdded.length} -${r.recordSetsRemoved.length}`, ...r.warnings.map((w: string) => `warning: ${w}`)];
      out(opts, r, lines.join('\n') + '\n');
    }),
  );
}
