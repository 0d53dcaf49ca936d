/**
 * Two ClusterNodes on the in-memory etcd with a scripted clock (unit): the
 * leader's heartbeat keeps both current; a drain made through one instance
 * while the other's watches are broken and the history compacted reaches
 * the other once its watches recover (re-list), with one warn line per
 * broken watch and the recoveries counted; without a leader the decisions
 * age and no instance says it is current. etcd's NOSPACE alarm: every
 * refused write (vantage report, heartbeat, campaign, drain, failback) is
 * in status and counted by kind and cause, logged at error once per kind
 * and cause however often it is retried, the alarm is read; an operator's
 * drain and failback answer CLUSTER_UNAVAILABLE saying to retry; all of it
 * clears once the alarm is disarmed.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test, type TestContext } from 'node:test';
import { FakeClock } from './helpers/fake-clock.ts';
import { ClusterNode, HEARTBEAT_MS, staleAfterMs } from '../src/cluster/cluster-node.ts';
import { loadConfig } from '../src/config/load.ts';
import { Decider } from '../src/failover/decider.ts';
import { OverrideStore } from '../src/health/overrides.ts';
import { captureLog } from './helpers/log-capture.ts';
import { EXAMPLE_ZONE_FILE } from './helpers/dns-fixture.ts';
import { FakeEtcd } from './helpers/fake-etcd.ts';

const dir = mkdtempSync(join(tmpdir(), 'failoverd-cluster-node-'));
mkdirSync(join(dir, 'zones'));
copyFileSync(EXAMPLE_ZONE_FILE, join(dir, 'zones', 'example.test.zone'));
after(() => rmSync(dir, { recursive: true, force: true }));

const LEASE_TTL_MS = 3000;
const PRIMARY = 'www.example.test/A/127.0.0.1';

async function settle(): Promise<void> {
  for (let i = 0; i < 30; i++) await new Promise((r) => setImmediate(r));
}

async function run(clock: FakeClock, ms: number, step = 250): Promise<void> {
  for (let t = 0; t < ms; t += step) {
    clock.advance(step);
    await settle();
  }
}

/** `health`: this instance's own view of a probe key (default UP). */
async function node(name: string, etcd: FakeEtcd, clock: FakeClock, health = new Map<string, 'UP' | 'DOWN'>()) {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    `zones: zones
checks:
  web: { type: tcp, port: 8080 }
records:
  - name: www.example.test
    type: A
    targets: [{ address: 127.0.0.1, check: web }, { address: 127.0.0.2, check: web }]
cluster:
  name: unit
  instance: ${name}
  etcd: { endpoints: ["http://127.0.0.1:2379"] }
  leaseTtl: ${LEASE_TTL_MS / 1000}s
`,
  );
  const { config, zones } = await loadConfig(file);
  const log = captureLog('info');
  let cn: ClusterNode | undefined;
  const overrides = new OverrideStore(clock, (e) => cn?.onOverride(e));
  const probeKeys = config.records.flatMap((rs) => rs.targets.map((t) => t.probeKey));
  cn = new ClusterNode({
    config,
    zones,
    localViews: () => Object.fromEntries(probeKeys.map((k) => [k, { health: health.get(k) ?? ('UP' as const), since: 0 }])),
    overrides: () => overrides,
    gatherMs: 1000,
    makeDecider: (health, restore, onChange) => {
      const d = new Decider(config, { clock, logger: log.logger, health, restore });
      d.changeListeners.push(onChange);
      d.activate();
      return d;
    },
    clock,
    logger: log.logger,
    etcd,
  });
  return { cn, overrides, log };
}

/** Two nodes, fo-1 and fo-2 (each with its own view of the probe keys), started and publishing on one fake etcd; stopped after the test. */
async function startedPair(t: TestContext, clock: FakeClock, etcd: FakeEtcd, views = [new Map<string, 'UP' | 'DOWN'>(), new Map<string, 'UP' | 'DOWN'>()]) {
  const a = await node('fo-1', etcd, clock, views[0]);
  const b = await node('fo-2', etcd, clock, views[1]);
  t.after(async () => {
    await a.cn.stop().catch(() => undefined);
    await b.cn.stop().catch(() => undefined);
  });
  const started = Promise.all([a.cn.start(5000), b.cn.start(5000)]);
  a.cn.publishVantage();
  b.cn.publishVantage();
  await run(clock, 3000);
  assert.deepEqual(await started, [true, true]);
  return { a, b };
}

test('cluster node: heartbeat keeps both current; a drain made while the other\'s watches were broken and compacted reaches it after the re-list; no leader: not current', async (t) => {
  const clock = new FakeClock();
  const etcd = new FakeEtcd(clock);
  const { a, b } = await startedPair(t, clock, etcd);
  await run(clock, 2 * HEARTBEAT_MS);
  const leader = a.cn.isLeader ? a : b;
  const follower = leader === a ? b : a;
  assert.notEqual(a.cn.isLeader, b.cn.isLeader, 'one leader');
  for (const n of [a, b]) {
    const s = n.cn.status();
    assert.equal(s.current, true, JSON.stringify(s.mirrors));
    assert.deepEqual(Object.values(s.mirrors), Array(6).fill('live'));
    assert.equal(s.heartbeat?.leader, leader.cn.status().instance);
    assert.ok(clock.now() - s.confirmedAt! <= HEARTBEAT_MS, `confirmed ${clock.now() - s.confirmedAt!} ms ago`);
  }

  // The follower's watches break; meanwhile a drain goes in through the leader and history is compacted.
  etcd.breakWatches();
  leader.overrides.set(PRIMARY, { state: 'DOWN', reason: 'unit drain', createdAt: clock.now(), source: 'api' });
  await leader.cn.flushOperatorState();
  await settle();
  etcd.compact();
  await run(clock, 2000);
  assert.equal(follower.overrides.get(PRIMARY)?.reason, 'unit drain', 'the drain reached the follower after the re-list');
  assert.equal(follower.cn.served()?.decisions[0]?.answer.kind !== undefined, true);
  const s = follower.cn.status();
  assert.equal(s.current, true);
  assert.ok(s.watchRecoveries.overrides.compacted >= 1, JSON.stringify(s.watchRecoveries));
  const warns = follower.log.lines.filter((l) => l.level === 40 && String(l.msg).startsWith('etcd watch of overrides broken'));
  assert.ok(warns.length >= 1 && warns.length <= 2, `one warn line per cause: ${JSON.stringify(warns)}`);
  assert.ok(follower.log.lines.some((l) => l.msg === 'etcd watch of overrides recovered: following etcd again'));
  // The decisions the leader made from the drain are served by the follower.
  const served = follower.cn.served()!;
  assert.ok(served.decisions.every((d) => !JSON.stringify(d.answer).includes('"127.0.0.1"')), JSON.stringify(served.decisions.map((d) => d.answer)));

  // The leader stops: no heartbeat; the follower takes over after a lease TTL and is current again.
  await leader.cn.stop();
  await run(clock, LEASE_TTL_MS + 2 * HEARTBEAT_MS);
  assert.equal(follower.cn.isLeader, true);
  assert.equal(follower.cn.status().current, true);

  // etcd unreachable for the follower too: nothing confirms its decisions; after staleAfter it says so.
  etcd.down = true;
  await run(clock, staleAfterMs(LEASE_TTL_MS) + 1000, 1000);
  const late = follower.cn.status();
  assert.equal(late.current, false);
  assert.ok(clock.now() - late.confirmedAt! > staleAfterMs(LEASE_TTL_MS));
  etcd.down = false;
});

test('cluster node: under etcd\'s NOSPACE alarm every refused write is in status and counted, logged once per kind and cause; drains and failbacks answer CLUSTER_UNAVAILABLE; all clears after disarm', async (t) => {
  const clock = new FakeClock();
  const etcd = new FakeEtcd(clock);
  const views = [new Map<string, 'UP' | 'DOWN'>(), new Map<string, 'UP' | 'DOWN'>()];
  const { a, b } = await startedPair(t, clock, etcd, views);
  const [leader, follower] = a.cn.isLeader ? [a, b] : [b, a];
  for (const n of [a, b]) {
    const s = n.cn.status();
    assert.deepEqual(s.etcdWriteErrors, []);
    assert.deepEqual(s.etcdAlarms?.raised, [], 'the alarms are read from the start');
  }

  etcd.noSpace = true;
  // The primary goes DOWN for both: their reports are refused, so nothing is decided.
  for (const v of views) v.set('web@127.0.0.1', 'DOWN');
  a.cn.localHealthChanged();
  b.cn.localHealthChanged();
  await run(clock, 20_000, 500);
  const ls = leader.cn.status();
  const fs = follower.cn.status();
  assert.deepEqual(ls.etcdAlarms?.raised, ['NOSPACE']);
  assert.deepEqual(fs.etcdAlarms?.raised, ['NOSPACE']);
  assert.deepEqual(ls.etcdWriteErrors.map((e) => `${e.write}:${e.cause}`).sort(), ['heartbeat:no-space', 'vantage:no-space']);
  assert.deepEqual(fs.etcdWriteErrors.map((e) => `${e.write}:${e.cause}`).sort(), ['campaign:no-space', 'vantage:no-space']);
  const v = ls.etcdWriteErrors.find((e) => e.write === 'vantage')!;
  assert.match(v.message, /database space exceeded/);
  assert.ok(v.lastAt > v.since, 'retried meanwhile');
  assert.ok(ls.etcdWriteFailures.vantage['no-space'] >= 10, `retried about every second: ${ls.etcdWriteFailures.vantage['no-space']}`);
  assert.ok(ls.etcdWriteFailures.heartbeat['no-space'] >= 5, 'a heartbeat every 2 s');
  assert.equal(ls.writeError, null, 'nothing decided: no decision write was tried');
  for (const n of [leader, follower]) assert.match(JSON.stringify(n.cn.served()!.decisions[0]!.answer), /"127\.0\.0\.1"/, 'still the primary: its DOWN reports were refused');
  for (const n of [leader, follower]) {
    const errors = n.log.lines.filter((l) => l.level === 50 && typeof l.write === 'string');
    const kinds = errors.map((l) => `${String(l.write)}:${String(l.cause)}`);
    assert.deepEqual(kinds.slice().sort(), [...new Set(kinds)].sort(), `one error line per kind and cause: ${kinds.join(', ')}`);
    assert.equal(n.log.lines.filter((l) => l.level === 50 && l.alarm === 'NOSPACE').length, 1, 'the alarm logged once');
  }

  // An operator's drain and failback through the follower: refused with CLUSTER_UNAVAILABLE, saying NOSPACE and to retry.
  follower.overrides.set(PRIMARY, { state: 'DOWN', reason: 'unit drain', createdAt: clock.now(), source: 'api' });
  await assert.rejects(follower.cn.flushOperatorState(), (err: { code?: string; message: string }) => err.code === 'CLUSTER_UNAVAILABLE' && /NOSPACE/.test(err.message) && /Retry/.test(err.message));
  assert.equal(follower.overrides.get(PRIMARY), undefined, 'the drain is undone');
  await assert.rejects(follower.cn.failback('www.example.test/A'), (err: { code?: string; message: string }) => err.code === 'CLUSTER_UNAVAILABLE' && /failback command was not applied/.test(err.message) && /Retry/.test(err.message));
  assert.deepEqual(follower.cn.status().etcdWriteErrors.map((e) => e.write).sort(), ['campaign', 'failback', 'overrides', 'vantage']);

  // The operator disarms: the alarm read again within 2 s clears everything, the waiting reports go out and the leader decides.
  etcd.noSpace = false;
  await run(clock, 3000, 250);
  for (const n of [leader, follower]) {
    const s = n.cn.status();
    assert.deepEqual(s.etcdAlarms?.raised, []);
    assert.deepEqual(s.etcdWriteErrors, [], JSON.stringify(s.etcdWriteErrors));
    assert.ok(n.log.lines.some((l) => l.msg === 'vantage report writes to etcd succeed again' && l.cause === 'no-space'));
    assert.ok(n.log.lines.some((l) => l.msg === "etcd's NOSPACE alarm is no longer raised"));
  }
  for (const n of [leader, follower]) assert.doesNotMatch(JSON.stringify(n.cn.served()!.decisions[0]!.answer), /"127\.0\.0\.1"/, 'the primary DOWN is decided once the reports are written');
});
