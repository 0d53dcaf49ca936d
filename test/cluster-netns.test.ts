/**
 * failoverd instances as vantage points in their own network namespaces
 * (test/helpers/netns.ts): three instances, the backends (primary and
 * secondary) in another namespace, three etcd members in the hub namespace.
 * The test process asks every instance's DNS and admin API over the lab's
 * segment.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { AdminDaemon, FAST, TestDir, TOKEN, until } from './helpers/admin-daemon.ts';
import { startEtcd } from './helpers/etcd.ts';
import { createNetnsLab, inNamespace, needNetns, startBackend, type Namespace, type NetnsLab } from './helpers/netns.ts';
import { needTool } from './helpers/tools.ts';

const run = promisify(execFile);
const NAME = 'www.example.test';
const BACKEND_PORT = 8080;

function instanceConfig(lab: NetnsLab, ns: Namespace): string {
  return `dns: { listen: ["${ns.address}:5353"] }
zones: zones
admin: { listen: "${ns.address}:8053", token: "${TOKEN}" }
checks:
  web: { type: http, port: ${BACKEND_PORT}, ${FAST} }
records:
  - name: ${NAME}
    type: A
    targets: [{ address: ${lab.primary}, check: web }, { address: ${lab.secondary}, check: web }]
`;
}

/** What every instance answers for NAME, and its SOA serial. */
async function views(instances: AdminDaemon[]): Promise<Array<{ answer: string; serial: number }>> {
  return Promise.all(instances.map(async (d) => ({ answer: (await d.answer(NAME)).join(','), serial: await d.serial() })));
}

test('network namespaces: instances probe the backends across the lab, a blackhole route cuts one vantage point off', { timeout: 90_000 }, async (t) => {
  if (!needNetns(t) || !needTool(t, 'etcd', 'etcd-server')) return;
  const lab = await createNetnsLab({ instances: 3 });
  t.after(() => lab.remove());
  const primary = await startBackend(lab, lab.primary, BACKEND_PORT);
  const secondary = await startBackend(lab, lab.secondary, BACKEND_PORT);
  const etcd = await startEtcd(3, { host: lab.hub.address, wrap: inNamespace(lab.hub).wrap });
  t.after(() => etcd.stop());

  // etcd in the hub namespace is reachable from inside an instance's namespace.
  const { stdout } = await run('ip', ['netns', 'exec', lab.instances[0]!.name, process.execPath, '-e', `fetch(${JSON.stringify(`${etcd.endpoints[0]}/version`)}).then((r) => r.text()).then((v) => process.stdout.write(v))`], { timeout: 10_000 });
  assert.match(stdout, /"etcdserver":"3\./);

  const dirs = lab.instances.map(() => new TestDir());
  t.after(() => dirs.forEach((d) => d.remove()));
  const instances: AdminDaemon[] = [];
  t.after(async () => {
    for (const d of instances) await d.stop();
  });
  for (const [i, ns] of lab.instances.entries()) {
    dirs[i]!.write(instanceConfig(lab, ns));
    instances.push(await AdminDaemon.start(dirs[i]!, {}, 20_000, inNamespace(ns)));
  }

  // Every instance reaches both backends from its namespace: all answer the primary.
  for (const d of instances) await d.waitForAnswer(NAME, [lab.primary], 10_000);
  const status = await instances[0]!.api('GET', '/v1/status');
  assert.equal(status.status, 200);

  // A blackhole route in instance 1's namespace cuts it off from the primary only:
  // alone, it fails over; the two others still reach the primary.
  await lab.blackhole(lab.instances[0]!, lab.primary);
  await instances[0]!.waitForAnswer(NAME, [lab.secondary], 5000);
  assert.deepEqual((await views(instances.slice(1))).map((v) => v.answer), [lab.primary, lab.primary]);
  await lab.unblackhole(lab.instances[0]!, lab.primary);
  await instances[0]!.waitForAnswer(NAME, [lab.primary], 5000);

  // The primary's process killed in the backends' namespace: every instance answers the secondary.
  const killed = Date.now();
  await primary.kill();
  const took = await Promise.all(instances.map((d) => d.waitForAnswer(NAME, [lab.secondary], 5000).then(() => Date.now() - killed)));
  t.diagnostic(`killed primary -> secondary on each instance after ${took.join(', ')} ms`);
  await secondary.kill();
  await until('instances still answering', async () => (await views(instances)).every((v) => v.serial > 0));
});
