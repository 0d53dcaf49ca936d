/**
 * etcd's routine life under a cluster of three failoverd processes (issue 21,
 * first "done when"): three real etcd members on loopback, started with the
 * settings docs/cluster.md documents, and a small backend quota. After each
 * of these, a drain (through a rotating instance) and a dead primary (its
 * real HTTP backend killed) must reach EVERY instance's DNS within 3 s:
 *   1. compaction, then a restart of every member (watches resume below the
 *      compacted revision);
 *   2. compaction, then a restart of one member;
 *   3. etcd replaced by an empty cluster (data wiped, new cluster ID,
 *      revision back to 1) on the same client ports;
 *   4. every member frozen (SIGSTOP) for 10 s;
 *   5. NOSPACE: etcd's quota reached (its alarm refuses every write): the
 *      primary dies meanwhile and nothing is decided; the leader's
 *      /v1/status and /metrics show the alarm and the writes etcd refuses
 *      (its heartbeat, the vantage reports), a failback sent to a follower
 *      answers 503 CLUSTER_UNAVAILABLE saying to retry; then an operator's
 *      recovery (delete, compaction, defrag, `etcdctl alarm disarm`), after
 *      which the leader shows neither any more.
 * Between cases the drain is lifted and the primary revived, and every
 * instance must be back on the first answers.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { metric, parsePrometheus, TOKEN, until, type AdminDaemon } from './helpers/admin-daemon.ts';
import { runCli } from './helpers/cli.ts';
import { startLoopbackCluster, type LoopbackSetup } from './helpers/cluster-daemons.ts';
import { waitWritable } from './helpers/etcd.ts';
import { alarms, compact, fillUntilNoSpace, recoverFromNoSpace } from './helpers/etcd-ops.ts';
import { needTool } from './helpers/tools.ts';
import { scaled } from './helpers/eventually.ts';

const WWW = 'www.example.test';
const API = 'api.example.test';
const [P, S, A1, A2] = ['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4'];
const DRAIN = `/v1/targets/${encodeURIComponent(`${API}/A/${A1}`)}/override`;
/** How long a drain or a dead primary may take to reach every instance once etcd is back. */
const REACH_MS = 3000;
/** etcd's backend quota here: small, so NOSPACE comes after about 60 writes of 256 KiB. */
const QUOTA = 16 * 1024 * 1024;
const FREEZE_MS = 10_000;

/** Every instance's answers for www and api, as "www|api". */
async function answers(s: LoopbackSetup): Promise<string[]> {
  return Promise.all(s.cluster.live().map(async (d) => `${(await d.answer(WWW)).join(',')}|${(await d.answer(API)).join(',')}`));
}

/** Waits until every instance answers `www|api`; resolves with the ms it took. */
async function allAnswer(s: LoopbackSetup, want: string, timeoutMs: number, what: string): Promise<number> {
  const t0 = Date.now();
  await until(`${what}: every instance answering ${want}`, async () => (await answers(s)).every((a) => a === want), timeoutMs);
  return Date.now() - t0;
}

async function clusterStatus(d: AdminDaemon): Promise<any> {
  return (await d.api('GET', '/v1/status')).body?.cluster;
}

/** Waits (bounded) until every instance says it is connected and serves the cluster's decisions. */
async function allConnected(s: LoopbackSetup, timeoutMs: number): Promise<number> {
  const t0 = Date.now();
  await until('every instance connected, serving the cluster\'s decisions', async () => (await Promise.all(s.cluster.live().map(clusterStatus))).every((c) => c?.connected && c.serving === 'cluster'), timeoutMs);
  return Date.now() - t0;
}

/**
 * What `d` shows of NOSPACE now (docs/cluster.md): in /v1/status, the writes
 * etcd refuses with cause no-space (cluster.etcdWriteErrors) and the alarm
 * (cluster.etcdAlarms); in /metrics, failoverd_cluster_etcd_alarm{alarm="NOSPACE"}
 * and failoverd_cluster_etcd_write_failures_total{cause="no-space"} summed
 * over the kinds of write (a counter: it stays after the alarm).
 */
async function showsNoSpace(d: AdminDaemon): Promise<{ refused: string[]; alarm: boolean; alarmMetric: number | undefined; failures: number }> {
  const c = await clusterStatus(d);
  const samples = parsePrometheus((await d.api('GET', '/metrics')).text);
  return {
    refused: ((c?.etcdWriteErrors ?? []) as Array<{ write: string; cause: string }>).filter((e) => e.cause === 'no-space').map((e) => e.write).sort(),
    alarm: Boolean(c?.etcdAlarms?.raised?.includes('NOSPACE')),
    alarmMetric: metric(samples, 'failoverd_cluster_etcd_alarm', { alarm: 'NOSPACE' }),
    failures: samples.filter((x) => x.name === 'failoverd_cluster_etcd_write_failures_total' && x.labels.cause === 'no-space').reduce((n, x) => n + x.value, 0),
  };
}

test('routine etcd operations: after each, a drain and a dead primary reach every instance within 3 s', { timeout: scaled(110_000) }, async (t) => {
  if (!needTool(t, 'etcdctl', 'etcd-client')) return;
  const s = await startLoopbackCluster(t, {
    etcdSize: 3,
    etcd: { quotaBackendBytes: QUOTA },
    backends: [P, S, A1, A2],
    leaseTtl: '2s',
    moreRecords: `  - name: ${API}
    type: A
    ttl: 5
    targets: [{ address: ${A1}, check: web2 }, { address: ${A2}, check: web2 }]
`,
  });
  if (!s) return;
  const { etcd, primary, cluster } = s;
  const BASE = `${P}|${A1}`;
  const FAILED = `${S}|${A2}`;
  await allAnswer(s, BASE, 10_000, 'start');
  let round = 0;

  /** The fault has healed: drain api's first target through one instance and kill www's primary; both must reach every instance within REACH_MS. Then back to BASE. */
  const reachEveryInstance = async (fault: string, o: { primaryDead?: boolean } = {}): Promise<void> => {
    const via = round++ % 3;
    // Right after etcd is back an instance's etcd client may refuse calls for
    // up to a second more (its circuit breaker half-opens after 1 s): the API
    // then answers 503 CLUSTER_UNAVAILABLE, "not applied, retry", and the
    // operator retries. Any other answer is taken as it is.
    let refused = 0;
    const drained = await until(`${fault}: a drain through fo-${via + 1} that is not refused as etcd unreachable`, async () => {
      const r = await cluster.daemons[via]!.api('POST', DRAIN, { body: { state: 'down', reason: `after ${fault}` } });
      if (r.status === 503 && r.body?.error?.code === 'CLUSTER_UNAVAILABLE') return void refused++;
      return r;
    }, 5_000);
    if (refused) t.diagnostic(`${fault}: the drain through fo-${via + 1} was refused ${refused} time(s) with 503 CLUSTER_UNAVAILABLE (etcd client not yet taking calls), then taken`);
    const t0 = Date.now();
    assert.equal(drained.status, 200, `${fault}: the drain through fo-${via + 1} answered ${drained.status} ${drained.text}`);
    if (!o.primaryDead) await primary.kill();
    try {
      await until(`${fault}: the drain and the dead primary on every instance`, async () => (await answers(s)).every((a) => a === FAILED), REACH_MS);
    } catch (err) {
      const views = await answers(s);
      const st = await Promise.all(cluster.live().map(clusterStatus));
      throw new Error(`${fault}: not on every instance within ${REACH_MS} ms: answers (www|api) ${views.join(' ; ')}; status ${JSON.stringify(st.map((c) => ({ connected: c?.connected, serving: c?.serving, leader: c?.leader, lastDecision: c?.lastDecision })))}`, { cause: err });
    }
    t.diagnostic(`${fault}: drain (through fo-${via + 1}) and dead primary on all three ${Date.now() - t0} ms after the drain`);
    const undrained = await cluster.daemons[(via + 1) % 3]!.api('DELETE', DRAIN);
    assert.equal(undrained.status, 200, `${fault}: the undrain through fo-${((via + 1) % 3) + 1} answered ${undrained.status} ${undrained.text}`);
    await primary.revive();
    await allAnswer(s, BASE, 10_000, `${fault}: back to the first answers`);
  };

  /** After etcd healed: the instances say they are connected (bounded); how long that took is printed. */
  const healed = async (fault: string): Promise<void> => {
    t.diagnostic(`${fault}: every instance connected ${await allConnected(s, 20_000)} ms after etcd took writes again`);
  };

  /**
   * One case from the first answers: `fault` breaks etcd and heals it (it
   * resolves once etcd takes writes, with primaryDead when it killed the
   * primary itself); then the drain and the dead primary must reach every
   * instance. A failed case leaves a clean cluster to the next one: etcd
   * thawed and without alarm, drain lifted, primary back, every instance
   * restarted (its watches new).
   */
  const runCase = (name: string, fault: () => Promise<{ primaryDead?: boolean; afterwards?: () => Promise<void> } | void>) =>
    t.test(name, async () => {
      try {
        await allAnswer(s, BASE, 10_000, `${name}: the first answers before the fault`);
        await allConnected(s, 10_000);
        const o: { primaryDead?: boolean; afterwards?: () => Promise<void> } = (await fault()) ?? {};
        await healed(name);
        await reachEveryInstance(name, o);
        await o.afterwards?.();
      } catch (err) {
        const etcdState = etcd.describe();
        await reset();
        throw new Error(`${(err as Error).message}\netcd members:\n${etcdState}`, { cause: err });
      }
    });

  const reset = async (): Promise<void> => {
    etcd.resume();
    if ((await alarms(etcd.endpoints).catch(() => [])).length) await recoverFromNoSpace(etcd.endpoints).catch(() => undefined);
    await primary.revive();
    for (const d of cluster.live()) await d.api('DELETE', DRAIN).catch(() => undefined);
    for (let i = 0; i < 3; i++) {
      await cluster.kill(i, 'SIGTERM');
      await cluster.startOne(i);
    }
    await allAnswer(s, BASE, 15_000, 'reset after a failed case');
  };

  await runCase('compaction, then a restart of every member', async () => {
    await compact(etcd.endpoints);
    await etcd.restartAll();
  });

  await runCase('compaction, then a restart of one member', async () => {
    await compact(etcd.endpoints);
    await etcd.restartMember(0);
  });

  await runCase('etcd replaced by an empty cluster (data wiped) on the same ports', () => etcd.wipe());

  await runCase('every etcd member frozen (SIGSTOP) for 10 s', async () => {
    etcd.pause();
    // The fault lasts FREEZE_MS: every instance keeps answering meanwhile (frozen, not failing).
    const frozenUntil = Date.now() + FREEZE_MS;
    try {
      for (let i = 0; i < FREEZE_MS / 500 && Date.now() < frozenUntil; i++) {
        assert.ok((await answers(s)).every((a) => a === BASE), 'answers unchanged while etcd is frozen');
        await new Promise((r) => setTimeout(r, Math.max(0, Math.min(500, frozenUntil - Date.now()))));
      }
    } finally {
      etcd.resume();
    }
    await waitWritable(etcd.endpoints, 20_000);
  });

  await runCase('NOSPACE: nothing decided while etcd refuses writes; recovered after compaction, defrag and alarm disarm', async () => {
    await fillUntilNoSpace(etcd.endpoints, QUOTA);
    assert.ok((await alarms(etcd.endpoints)).some((a) => a.includes('NOSPACE')));
    // The primary dies: etcd refuses what would carry it to a decision.
    await primary.kill();
    const li = await cluster.leaderIndex(10_000);
    const leader = cluster.daemons[li]!;
    // The leader's heartbeat (every 2 s) and the vantage reports of the primary's death are refused; the alarm is read at once.
    const t0 = Date.now();
    const shown = await until('NOSPACE in the leader\'s /v1/status and /metrics: the alarm, its heartbeat and vantage report refused', async () => {
      const v = await showsNoSpace(leader);
      return v.alarm && v.alarmMetric === 1 && v.refused.includes('heartbeat') && v.refused.includes('vantage') && v.failures > 0 ? v : undefined;
    }, 8000);
    t.diagnostic(`NOSPACE: shown by the leader ${Date.now() - t0} ms after the primary died: refused ${shown.refused.join(', ')}, ${shown.failures} refusals counted`);
    const errors = leader.proc.logs.filter((l) => l.level === 50 && l.write === 'vantage' && l.cause === 'no-space');
    assert.equal(errors.length, 1, 'one error line for the refused vantage reports, not one per retry');
    // failoverd status says it too.
    const cli = await runCli(['status', '--admin', leader.adminUrl, '--token', TOKEN], { timeoutMs: 30_000 });
    assert.equal(cli.code, 0, cli.stderr);
    assert.match(cli.stdout, /^WARNING: etcd alarm NOSPACE raised: its quota is full/m);
    assert.match(cli.stdout, /^WARNING: etcd refuses this instance's heartbeat writes \(no-space\) since \S+, last .*database space exceeded/m);
    // A failback sent to a follower: etcd refuses the command; the operator is told to retry.
    const failback = await cluster.daemons[(li + 1) % 3]!.api('POST', `/v1/records/${WWW}/failback`);
    assert.equal(failback.status, 503, failback.text);
    assert.equal(failback.body?.error?.code, 'CLUSTER_UNAVAILABLE');
    assert.match(failback.body.error.message, /NOSPACE/);
    assert.match(failback.body.error.message, /[Rr]etry/);
    assert.ok((await answers(s)).every((a) => a === BASE), 'nothing decided while etcd refuses writes');
    await recoverFromNoSpace(etcd.endpoints);
    return {
      primaryDead: true,
      // The counter stays; the status and the alarm say it no longer lasts.
      afterwards: async () => {
        const after = await until('no NOSPACE in the leader\'s status and metrics', async () => {
          const v = await showsNoSpace(cluster.daemons[await cluster.leaderIndex(10_000)]!);
          return v.refused.length === 0 && !v.alarm && v.alarmMetric === 0 ? v : undefined;
        }, 10_000);
        assert.ok(after.failures > 0, 'the refusals stay counted');
      },
    };
  });

});
