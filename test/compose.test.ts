/**
 * docker-compose.yml, checked without a Docker engine: it parses as compose
 * YAML with the services, ports, volumes and healthchecks intended; every
 * file it mounts or builds from is in the repo; the addresses in the deploy/
 * configs agree with the compose network; and the failoverd configs it mounts
 * validate as the container sees them (files laid out at their mount points).
 * The "cluster" profile (three etcd members, three failoverd instances in
 * cluster mode on the same backends) is checked the same way, and its etcd
 * member list, endpoints and instance names agree with each other.
 * Nothing here starts a container or sends a packet to the compose network.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { loadConfig } from '../src/config/load.ts';
import { hasTool } from './helpers/tools.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const run = promisify(execFile);

interface Service {
  profiles?: string[];
  hostname?: string;
  image?: string;
  build?: string | { context: string; dockerfile?: string };
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: string[];
  healthcheck?: { test: string[]; interval?: string; timeout?: string; retries?: number; start_period?: string };
  depends_on?: Record<string, { condition: string }>;
  networks?: Record<string, { ipv4_address: string }>;
}
interface Compose {
  services: Record<string, Service>;
  networks: Record<string, { ipam: { config: Array<{ subnet: string }> } }>;
  volumes: Record<string, unknown>;
}

const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as Compose;
const svc = (name: string): Service => {
  const s = compose.services[name];
  assert.ok(s, `service ${name}`);
  return s;
};
const ip = (name: string) => Object.values(svc(name).networks ?? {})[0]?.ipv4_address;
const mounts = (s: Service) =>
  (s.volumes ?? []).map((v) => {
    const [src, dst, mode] = v.split(':');
    return { src: src!, dst: dst!, mode, bind: src!.startsWith('.') || src!.startsWith('/') };
  });

const inProfile = (profile: string | undefined) =>
  Object.keys(compose.services)
    .filter((n) => (profile === undefined ? svc(n).profiles === undefined : svc(n).profiles?.includes(profile)))
    .sort();
const CLUSTER_MEMBERS = ['etcd-1', 'etcd-2', 'etcd-3'];
const CLUSTER_INSTANCES = ['failoverd-1', 'failoverd-2', 'failoverd-3'];

test('compose: the services, each with a healthcheck', () => {
  assert.deepEqual(inProfile(undefined), ['failoverd', 'moto', 'resolver', 'web1', 'web2']);
  assert.deepEqual(inProfile('cluster'), [...CLUSTER_MEMBERS, ...CLUSTER_INSTANCES]);
  assert.deepEqual(Object.keys(compose.services).length, 11, 'no service outside the default set and the cluster profile');
  for (const [name, s] of Object.entries(compose.services)) {
    assert.ok(s.healthcheck?.test?.length, `${name} has a healthcheck`);
    assert.match(s.healthcheck.test[0]!, /^CMD(-SHELL)?$/, `${name} healthcheck form`);
    assert.ok(s.image || s.build, `${name} has an image or a build`);
  }
  assert.match(svc('failoverd').healthcheck!.test.join(' '), /\/readyz/, 'failoverd is healthy when ready');
  assert.match(svc('web1').healthcheck!.test.join(' '), /\/healthz/);
  assert.match(svc('resolver').healthcheck!.test.join(' '), /dig @127\.0\.0\.1 example\.test SOA/);
  assert.match(svc('moto').healthcheck!.test.join(' '), /moto-api/);
  assert.equal(svc('resolver').depends_on?.failoverd?.condition, 'service_healthy');
});

test('compose: ports are published on the host loopback only', () => {
  const published = (s: string) => svc(s).ports ?? [];
  assert.deepEqual(published('failoverd'), ['127.0.0.1:5353:5353/udp', '127.0.0.1:5353:5353/tcp', '127.0.0.1:8053:8053/tcp']);
  assert.deepEqual(published('resolver'), ['127.0.0.1:5300:53/udp', '127.0.0.1:5300:53/tcp']);
  assert.deepEqual(published('moto'), ['127.0.0.1:5000:5000/tcp']);
  for (const [i, name] of CLUSTER_INSTANCES.entries()) {
    assert.deepEqual(published(name), [`127.0.0.1:536${i + 1}:5353/udp`, `127.0.0.1:536${i + 1}:5353/tcp`, `127.0.0.1:806${i + 1}:8053/tcp`]);
  }
  for (const name of CLUSTER_MEMBERS) assert.deepEqual(published(name), [], `${name} is reached on the compose network only`);
  for (const [name, s] of Object.entries(compose.services)) for (const p of s.ports ?? []) assert.match(p, /^127\.0\.0\.1:/, `${name} publishes ${p} on loopback`);
});

test('compose: volumes and the files they mount exist in the repo', () => {
  const f = mounts(svc('failoverd'));
  assert.deepEqual(
    f.map((m) => m.dst),
    ['/etc/failoverd/failoverd.yaml', '/etc/failoverd/failoverd-route53.yaml', '/etc/failoverd/zones', '/var/lib/failoverd'],
  );
  const state = f.find((m) => m.dst === '/var/lib/failoverd')!;
  assert.equal(state.bind, false, 'state is a named volume');
  assert.ok(state.src in compose.volumes, `volume ${state.src} is declared`);
  for (const [name, s] of Object.entries(compose.services)) {
    for (const m of mounts(s).filter((x) => !x.bind)) assert.ok(m.src in compose.volumes, `${name}: volume ${m.src} is declared`);
    for (const m of mounts(s).filter((x) => x.bind)) {
      assert.ok(existsSync(join(ROOT, m.src)), `${name} mounts ${m.src}, which is not in the repo`);
      assert.equal(m.mode, 'ro', `${name} mounts ${m.src} read-only`);
    }
    if (s.build) {
      const ctx = typeof s.build === 'string' ? s.build : s.build.context;
      const file = typeof s.build === 'string' ? 'Dockerfile' : (s.build.dockerfile ?? 'Dockerfile');
      assert.ok(statSync(join(ROOT, ctx)).isDirectory(), `${name} builds from ${ctx}`);
      assert.ok(existsSync(join(ROOT, ctx, file)), `${name}: ${ctx}/${file}`);
    }
  }
  // The image's CMD reads the config where compose mounts it.
  assert.match(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'), /"--config", "\/etc\/failoverd\/failoverd.yaml"/);
});

test('compose: addresses in deploy/ agree with the compose network', () => {
  const subnet = compose.networks.failnet!.ipam.config[0]!.subnet;
  assert.equal(subnet, '172.28.0.0/24');
  for (const s of Object.keys(compose.services)) assert.match(ip(s) ?? '', /^172\.28\.0\.\d+$/, `${s} has a fixed address`);
  assert.equal(new Set(Object.keys(compose.services).map(ip)).size, Object.keys(compose.services).length, 'addresses are distinct');

  const fo = parse(readFileSync(join(ROOT, 'deploy/failoverd.yaml'), 'utf8')) as {
    dns: { listen: string[] };
    admin: { listen: string };
    checks: Record<string, { port: number }>;
    records: Array<{ targets: Array<{ address: string }> }>;
  };
  assert.deepEqual(
    fo.records[0]!.targets.map((t) => t.address),
    [ip('web1'), ip('web2')],
    'targets are web1 (primary) and web2',
  );
  assert.equal(fo.checks.web!.port, 8080, 'the backends listen on 8080');
  assert.match(readFileSync(join(ROOT, 'deploy/backend.js'), 'utf8'), /process\.env\.PORT \|\| 8080/);
  assert.equal(fo.dns.listen[0], '0.0.0.0:5353');
  assert.match(svc('failoverd').healthcheck!.test.join(' '), new RegExp(`127\\.0\\.0\\.1:${fo.admin.listen.split(':')[1]}/readyz`), 'healthcheck uses the admin port');

  const unbound = readFileSync(join(ROOT, 'deploy/unbound/unbound.conf'), 'utf8');
  assert.match(unbound, new RegExp(`stub-addr: ${ip('failoverd')!.replace(/\./g, '\\.')}@5353`), 'Unbound asks failoverd');
  assert.match(unbound, /local-zone: "test\." nodefault/, 'Unbound lets .test through');

  const r53 = parse(readFileSync(join(ROOT, 'deploy/failoverd-route53.yaml'), 'utf8')) as { route53: { endpoint: string } };
  assert.equal(r53.route53.endpoint, `http://${ip('moto')}:5000`, 'the Route 53 sink talks to moto');
});

test('compose: the failoverd configs validate as the container sees them', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'failoverd-compose-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  for (const m of mounts(svc('failoverd')).filter((x) => x.bind)) {
    const dst = join(root, m.dst);
    mkdirSync(dirname(dst), { recursive: true });
    cpSync(join(ROOT, m.src), dst, { recursive: true });
  }
  const saved = process.env.FAILOVERD_ADMIN_TOKEN;
  process.env.FAILOVERD_ADMIN_TOKEN = 'compose-test-token'; // set by compose's environment
  try {
    for (const f of ['failoverd.yaml', 'failoverd-route53.yaml']) {
      const { config } = await loadConfig(join(root, 'etc/failoverd', f));
      assert.equal(config.records[0]!.name, 'www.example.test', f);
    }
    // A cluster instance's config, laid out as failoverd-1 sees it.
    const clusterRoot = join(root, 'cluster');
    for (const m of mounts(svc('failoverd-1')).filter((x) => x.bind)) {
      const dst = join(clusterRoot, m.dst);
      mkdirSync(dirname(dst), { recursive: true });
      cpSync(join(ROOT, m.src), dst, { recursive: true });
    }
    const { config } = await loadConfig(join(clusterRoot, 'etc/failoverd/failoverd.yaml'));
    assert.equal(config.records[0]!.name, 'www.example.test');
    assert.equal(config.cluster?.name, 'compose-demo');
    assert.equal(config.cluster?.quorum, 'majority');
  } finally {
    if (saved === undefined) delete process.env.FAILOVERD_ADMIN_TOKEN;
    else process.env.FAILOVERD_ADMIN_TOKEN = saved;
  }
});

test('compose: the cluster profile: etcd members agree on the cluster, instances reach them and the backends', () => {
  const flag = (name: string, f: string) => {
    const hit = (svc(name).command ?? []).find((a) => a.startsWith(`--${f}=`));
    return hit?.slice(f.length + 3);
  };
  const members = CLUSTER_MEMBERS.map((m) => ({ name: m, ip: ip(m)!, env: svc(m).environment ?? {} }));
  for (const m of members) {
    assert.equal(m.env.ETCD_NAME, m.name, `${m.name} names itself after its service`);
    assert.equal(m.env.ETCD_ADVERTISE_CLIENT_URLS, `http://${m.ip}:2379`, `${m.name} advertises its own address`);
    assert.equal(m.env.ETCD_INITIAL_ADVERTISE_PEER_URLS, `http://${m.ip}:2380`);
    assert.equal(flag(m.name, 'initial-cluster'), members.map((x) => `${x.name}=http://${x.ip}:2380`).join(','), `${m.name}: the initial cluster is the three members`);
    assert.equal(flag(m.name, 'initial-cluster-state'), 'new');
    assert.match(svc(m.name).healthcheck!.test.join(' '), /etcdctl .*endpoint health/);
  }

  const cfg = parse(readFileSync(join(ROOT, 'deploy/failoverd-cluster.yaml'), 'utf8')) as {
    cluster: { name: string; instance?: string; etcd: { endpoints: string[] } };
    records: Array<{ targets: Array<{ address: string }> }>;
  };
  assert.deepEqual(cfg.cluster.etcd.endpoints, members.map((m) => m.env.ETCD_ADVERTISE_CLIENT_URLS), 'the instances know every member');
  assert.equal(cfg.cluster.instance, undefined, 'instances are named by their hostname');
  assert.deepEqual(cfg.records[0]!.targets.map((t) => t.address), [ip('web1'), ip('web2')], 'the same backends as the default profile');
  assert.deepEqual(CLUSTER_INSTANCES.map((n) => svc(n).hostname), ['fo-1', 'fo-2', 'fo-3'], 'distinct hostnames: distinct instance names');
  for (const n of CLUSTER_INSTANCES) {
    assert.equal(mounts(svc(n)).find((m) => m.dst === '/etc/failoverd/failoverd.yaml')?.src, './deploy/failoverd-cluster.yaml', `${n} runs the cluster config`);
    for (const m of CLUSTER_MEMBERS) assert.equal(svc(n).depends_on?.[m]?.condition, 'service_healthy', `${n} starts once ${m} is healthy`);
    assert.ok(svc(n).environment?.FAILOVERD_ADMIN_TOKEN, `${n}: its admin API listens on the network, so it needs a token`);
  }
  assert.equal(new Set(CLUSTER_INSTANCES.map((n) => mounts(svc(n)).find((m) => m.dst === '/var/lib/failoverd')?.src)).size, 3, 'a state volume per instance');
});

test('deploy/unbound/unbound.conf passes unbound-checkconf', async (t) => {
  if (!hasTool('unbound-checkconf')) {
    t.skip('unbound-checkconf not installed (Debian package unbound)');
    return;
  }
  const { stdout } = await run('unbound-checkconf', [join(ROOT, 'deploy/unbound/unbound.conf')]);
  assert.match(stdout, /no errors/);
});
