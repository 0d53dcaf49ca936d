/**
 * Two ClusterNodes on the in-memory etcd with a scripted clock (unit): the
 * leader's heartbeat keeps both current; a drain made through one instance
 * while the other's watches are broken and the history compacted reaches
 * the other once its watches recover (re-list), with one warn line per
 * broken watch and the recoveries counted; without a leader the decisions
 * age and no instance says it is current.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { FakeClock } from '../src/clock.ts';
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

async function node(name: string, etcd: FakeEtcd, clock: FakeClock) {
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
    localViews: () => Object.fromEntries(probeKeys.map((k) => [k, { health: 'UP' as const, since: 0 }])),
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

test('cluster node: heartbeat keeps both current; a drain made while the other\'s watches were broken and compacted reaches it after the re-list; no leader: not current', async (t) => {
  const clock = new FakeClock();
  const etcd = new FakeEtcd(clock);
  const a = await node('fo-1', etcd, clock);
  const b = await node('fo-2', etcd, clock);
  t.after(async () => {
    await a.cn.stop().catch(() => undefined);
    await b.cn.stop().catch(() => undefined);
  });
  const started = Promise.all([a.cn.start(5000), b.cn.start(5000)]);
  a.cn.publishVantage();
  b.cn.publishVantage();
  await run(clock, 3000);
  assert.deepEqual(await started, [true, true]);
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
