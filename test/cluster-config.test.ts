/** The cluster: section: defaults (instance = hostname, majority, 3s, freeze), resolved file paths, and every bad value refused with file:line and path. */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadConfig } from '../src/config/load.ts';
import { formatProblem, ProblemsError, type Problem } from '../src/errors.ts';
import { EXAMPLE_ZONE_FILE } from './helpers/dns-fixture.ts';

const dir = mkdtempSync(join(tmpdir(), 'failoverd-cluster-config-'));
mkdirSync(join(dir, 'zones'));
copyFileSync(EXAMPLE_ZONE_FILE, join(dir, 'zones', 'example.test.zone'));
writeFileSync(join(dir, 'ca.pem'), 'not checked here\n');
writeFileSync(join(dir, 'etcd-password'), 'secret\n');
after(() => rmSync(dir, { recursive: true, force: true }));

const BASE = `zones: zones
checks:
  web: { type: tcp, port: 8080 }
records:
  - name: www.example.test
    type: A
    targets: [{ address: 127.0.0.1, check: web }, { address: 127.0.0.2, check: web }]
`;

function write(name: string, cluster: string): string {
  const p = join(dir, name);
  writeFileSync(p, BASE + cluster);
  return p;
}

async function problemsOf(cluster: string): Promise<Problem[]> {
  try {
    await loadConfig(write('bad.yaml', cluster));
  } catch (err) {
    assert.ok(err instanceof ProblemsError, String(err));
    return err.problems;
  }
  assert.fail('expected the config to be refused');
}

test('without cluster: no cluster config (one process, as always)', async () => {
  const { config } = await loadConfig(write('plain.yaml', ''));
  assert.equal(config.cluster, undefined);
});

test('cluster: defaults filled in, instance is the hostname, files resolved against the config folder', async () => {
  const { config } = await loadConfig(write('min.yaml', `cluster:\n  name: prod-edge\n  etcd: { endpoints: ["http://127.0.0.1:2379"] }\n`));
  assert.deepEqual(config.cluster, { name: 'prod-edge', instance: hostname(), etcd: { endpoints: ['http://127.0.0.1:2379'], maxTxnOps: 100, maxTxnBytes: 1024 * 1024 }, quorum: 'majority', leaseTtl: 3000, onLoss: 'freeze' });
  const full = await loadConfig(
    write(
      'full.yaml',
      `cluster:
  name: prod-edge
  instance: fo-1
  etcd:
    endpoints: ["https://127.0.0.1:2379", "https://127.0.0.2:2379"]
    tls: { ca: ca.pem }
    auth: { username: failoverd, passwordFile: etcd-password }
    maxTxnOps: 50
    maxTxnBytes: 262144
  quorum: 2
  leaseTtl: 5s
  onLoss: local
`,
    ),
  );
  assert.deepEqual(full.config.cluster, {
    name: 'prod-edge',
    instance: 'fo-1',
    etcd: { endpoints: ['https://127.0.0.1:2379', 'https://127.0.0.2:2379'], tls: { ca: join(dir, 'ca.pem') }, auth: { username: 'failoverd', passwordFile: join(dir, 'etcd-password') }, maxTxnOps: 50, maxTxnBytes: 262144 },
    quorum: 2,
    leaseTtl: 5000,
    onLoss: 'local',
  });
});

test('cluster: every bad value is a problem with its line and path', async () => {
  const problems = await problemsOf(`cluster:
  name: "prod edge"
  instance: "fo/1"
  etcd:
    endpoints: ["127.0.0.1:2379"]
  quorum: most
  leaseTtl: 1500ms
  onLoss: panic
  extra: 1
`);
  const byPath = new Map(problems.map((p) => [p.path, p]));
  const line = (path: string) => byPath.get(path)?.line;
  assert.equal(line('cluster.name'), 9);
  assert.equal(line('cluster.instance'), 10);
  assert.equal(line('cluster.etcd.endpoints[0]'), 12);
  assert.match(byPath.get('cluster.etcd.endpoints[0]')!.message, /http:\/\/ or https:\/\//);
  assert.equal(line('cluster.quorum'), 13);
  assert.equal(line('cluster.leaseTtl'), 14);
  assert.match(byPath.get('cluster.leaseTtl')!.message, /whole seconds/);
  assert.equal(line('cluster.onLoss'), 15);
  assert.equal(line('cluster.extra'), 16);
  for (const p of problems) assert.match(p.file!, /bad\.yaml$/);
});

test('cluster: bounds and combinations', async () => {
  const tooLong = await problemsOf(`cluster:\n  name: c\n  etcd: { endpoints: ["http://127.0.0.1:2379"] }\n  leaseTtl: 10m\n  quorum: 0\n`);
  assert.match(tooLong.find((p) => p.path === 'cluster.leaseTtl')!.message, /from 1s to 5m/);
  assert.ok(tooLong.some((p) => p.path === 'cluster.quorum'));
  const mixed = await problemsOf(`cluster:\n  name: c\n  etcd:\n    endpoints: ["http://127.0.0.1:2379", "https://127.0.0.2:2379"]\n    tls: { ca: ca.pem, cert: c.pem }\n`);
  assert.ok(mixed.some((p) => p.path === 'cluster.etcd.endpoints' && /mix of http/.test(p.message)), JSON.stringify(mixed));
  assert.ok(mixed.some((p) => p.path === 'cluster.etcd.tls' && /cert and key together/.test(p.message)), JSON.stringify(mixed));
  const missing = await problemsOf(`cluster:\n  name: c\n  etcd:\n    endpoints: ["https://127.0.0.1:2379"]\n    tls: { ca: nowhere.pem }\n    auth: { username: u, passwordFile: no-such-file }\n`);
  const ca = missing.find((p) => p.path === 'cluster.etcd.tls.ca')!;
  assert.match(ca.message, /cannot read nowhere\.pem: ENOENT/);
  assert.equal(ca.line, 12);
  assert.match(missing.find((p) => p.path === 'cluster.etcd.auth.passwordFile')!.message, /cannot read no-such-file/);
});

test('cluster: an etcd endpoint with user:password@ is refused, pointing to auth.passwordFile, and the password is in no problem text', async () => {
  const cases: Array<{ endpoint: string; secret: string }> = [
    { endpoint: 'http://root:s3cret-pw@127.0.0.1:2379', secret: 's3cret-pw' },
    { endpoint: 'https://failoverd:p%40ss-word@etcd-1.example.test:2379', secret: 'ss-word' },
    { endpoint: 'http://just-a-user@127.0.0.1:2379', secret: 'just-a-user' },
  ];
  for (const c of cases) {
    const problems = await problemsOf(`cluster:\n  name: c\n  etcd:\n    endpoints: ["${c.endpoint.split(':')[0]}://127.0.0.9:2379", "${c.endpoint}"]\n`);
    const p = problems.find((x) => x.path === 'cluster.etcd.endpoints[1]');
    assert.ok(p, `${c.endpoint}: refused at cluster.etcd.endpoints[1]: ${JSON.stringify(problems)}`);
    assert.equal(p.line, 11);
    assert.match(p.message, /user:password@/);
    assert.match(p.message, /cluster\.etcd\.auth\.passwordFile/);
    assert.equal(problems.length, 1, `only the endpoint with userinfo: ${JSON.stringify(problems)}`);
    for (const x of problems) assert.ok(!formatProblem(x).includes(c.secret), `no secret in: ${formatProblem(x)}`);
  }
});
