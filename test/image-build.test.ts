/**
 * The container image's build steps, run as plain commands (no Docker engine
 * runs where the tests do): compile dist/ the way the build stage does, install
 * the production dependencies only (`npm ci --omit=dev`) in a fresh folder laid
 * out like the runtime stage (/app with dist/ and bin/, config and zones in
 * etc/failoverd, state in var/lib/failoverd), start the built code with plain
 * node, and check that it serves DNS, answers the Dockerfile's HEALTHCHECK
 * command, and stops on SIGTERM. What this does not run: `docker build` itself,
 * the node:24-slim base, the non-root user and the volume.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Resolver } from 'node:dns/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { httpBackend } from './helpers/backends.ts';
import { freePort } from './helpers/ports.ts';
import { scaled } from './helpers/eventually.ts';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DOCKERFILE = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');

test('Dockerfile: two node:24-slim stages, production install of a built dist/, non-root, HEALTHCHECK on /readyz, fixed paths', () => {
  const froms = [...DOCKERFILE.matchAll(/^FROM\s+(\S+)/gm)].map((m) => m[1]);
  assert.deepEqual(froms, ['node:24-slim', 'node:24-slim']);
  assert.match(DOCKERFILE, /^RUN npm run build$/m);
  assert.match(DOCKERFILE, /^RUN npm ci --omit=dev\b/m);
  assert.match(DOCKERFILE, /^COPY --from=build \/app\/dist dist$/m);
  assert.match(DOCKERFILE, /^USER node$/m);
  assert.match(DOCKERFILE, /^VOLUME \["\/var\/lib\/failoverd"\]$/m);
  assert.match(DOCKERFILE, /^HEALTHCHECK [\s\S]*\/readyz/m);
  assert.match(DOCKERFILE, /^CMD \["run", "--config", "\/etc\/failoverd\/failoverd.yaml"\]$/m);
  // Every COPY source (outside the build stage's output) exists in the repo.
  for (const m of DOCKERFILE.matchAll(/^COPY (?!--from)(.+) (\S+)$/gm)) {
    for (const src of m[1]!.split(/\s+/)) assert.ok(existsSync(join(ROOT, src)), `Dockerfile copies ${src}, which is not in the repo`);
  }
});

test('image build steps as plain commands: build dist/, npm ci --omit=dev, run it with node, HEALTHCHECK, SIGTERM', { timeout: scaled(240_000) }, async (t) => {
  const stage = mkdtempSync(join(tmpdir(), 'failoverd-image-'));
  t.after(() => rmSync(stage, { recursive: true, force: true }));
  const app = join(stage, 'app');
  const etc = join(stage, 'etc', 'failoverd');
  const state = join(stage, 'var', 'lib', 'failoverd');
  mkdirSync(app, { recursive: true });
  mkdirSync(etc, { recursive: true });
  mkdirSync(state, { recursive: true });

  // Build stage: `RUN npm run build` (here into the staged app/dist).
  await run(process.execPath, [join(ROOT, 'scripts', 'build.mjs'), join(app, 'dist')], { cwd: ROOT, timeout: 180_000 });
  assert.ok(existsSync(join(app, 'dist', 'cli', 'main.js')));

  // Runtime stage: package files, `npm ci --omit=dev`, dist/ and bin/.
  for (const f of ['package.json', 'package-lock.json']) cpSync(join(ROOT, f), join(app, f));
  cpSync(join(ROOT, 'bin'), join(app, 'bin'), { recursive: true });
  try {
    await run('npm', ['ci', '--omit=dev', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts'], { cwd: app, timeout: 180_000 });
  } catch (err) {
    const reason = `npm ci --omit=dev could not run: ${String((err as { stderr?: string }).stderr ?? err).split('\n').slice(0, 3).join(' ')}`;
    if (process.env.CI === 'true') throw new Error(reason);
    t.skip(reason);
    return;
  }
  assert.equal(existsSync(join(app, 'node_modules', 'typescript')), false, 'typescript (a dev dependency) is not installed');
  // @types/node comes in with etcd3's protobufjs (a runtime dependency); @types/dns-packet is dev-only.
  assert.equal(existsSync(join(app, 'node_modules', '@types', 'dns-packet')), false, '@types/dns-packet (dev) is not installed');
  assert.equal(existsSync(join(app, 'node_modules', 'playwright-core')), false, 'playwright-core (dev) is not installed');
  assert.equal(existsSync(join(app, 'node_modules', 'tsx')), false, 'tsx (dev: tests and benches only) is not installed');
  assert.equal(existsSync(join(app, 'node_modules', 'esbuild')), false, 'esbuild (dev: the build) is not installed');

  // Mounted config and zones at etc/failoverd, state on var/lib/failoverd.
  const backend = await httpBackend('127.0.0.1');
  t.after(() => backend.kill());
  const adminPort = await freePort();
  cpSync(join(ROOT, 'zones'), join(etc, 'zones'), { recursive: true });
  writeFileSync(
    join(etc, 'failoverd.yaml'),
    `dns: { listen: ["127.0.0.1:0"] }
zones: zones
admin: { listen: "127.0.0.1:${adminPort}" }
state: { file: ${JSON.stringify(join(state, 'state.json'))} }
checks:
  web: { type: http, port: ${backend.port}, path: /healthz, interval: 1s, fastInterval: 100ms, timeout: 500ms }
records:
  - name: www.example.test
    type: A
    targets: [{ address: 127.0.0.1, check: web }]
`,
  );

  // The image's ENTRYPOINT + CMD: node /app/bin/failoverd.js run --config /etc/failoverd/failoverd.yaml
  const env = { ...process.env, NODE_ENV: 'production' };
  const version = await run(process.execPath, [join(app, 'bin', 'failoverd.js'), '--version'], { cwd: app, env });
  assert.match(version.stdout, /^\d+\.\d+\.\d+/, 'bin runs dist/ in a tree without src/');

  const started = Date.now();
  const child = spawn(process.execPath, [join(app, 'bin', 'failoverd.js'), 'run', '--config', join(etc, 'failoverd.yaml')], { cwd: app, env, stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const serving = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "serving DNS" within 15 s\n${out}\n${err}`)), 15_000);
    child.stdout.on('data', (d) => {
      out += d;
      for (const line of out.split('\n')) {
        if (!line.includes('"serving DNS"')) continue;
        clearTimeout(timer);
        resolve(JSON.parse(line) as Record<string, unknown>);
      }
    });
    child.on('exit', (code) => reject(new Error(`exited ${code}\n${out}\n${err}`)));
  });
  t.diagnostic(`built dist/ with production dependencies: "serving DNS" ${Date.now() - started} ms after spawn`);
  const port = (serving.listen as Array<{ port: number }>)[0]!.port;
  const r = new Resolver({ timeout: 1000, tries: 2 });
  r.setServers([`127.0.0.1:${port}`]);
  assert.deepEqual(await r.resolve4('www.example.test'), ['127.0.0.1']);

  // The Dockerfile's HEALTHCHECK command, as written there.
  const hc = /HEALTHCHECK[\s\S]*?CMD \["node", "-e", "((?:[^"\\]|\\.)*)"\]/.exec(DOCKERFILE);
  assert.ok(hc, 'HEALTHCHECK CMD is ["node", "-e", "..."]');
  const script = JSON.parse(`"${hc[1]!}"`) as string;
  const check = await run(process.execPath, ['-e', script], { env: { ...process.env, FAILOVERD_ADMIN_PORT: String(adminPort) } }).then(
    () => 0,
    (e: { code?: number }) => e.code ?? 1,
  );
  assert.equal(check, 0, 'HEALTHCHECK passes once the daemon is ready');
  const notReady = await run(process.execPath, ['-e', script], { env: { ...process.env, FAILOVERD_ADMIN_PORT: String(await freePort()) } }).then(
    () => 0,
    (e: { code?: number }) => e.code ?? 1,
  );
  assert.equal(notReady, 1, 'HEALTHCHECK fails when nothing answers');

  // The status page's assets are in the built dist/ (they are not TypeScript).
  for (const path of ['/', '/ui/status-page.js', '/ui/status-page.css']) {
    const res = await fetch(`http://127.0.0.1:${adminPort}${path}`, { signal: AbortSignal.timeout(5000) });
    assert.equal(res.status, 200, `GET ${path} from dist/`);
    assert.ok((await res.text()).length > 100, `GET ${path} has a body`);
  }

  child.kill('SIGTERM');
  const code = await new Promise<number | null>((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.on('exit', (c) => resolve(c))));
  assert.equal(code, 0, err);
});
