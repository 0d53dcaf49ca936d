/**
 * `failoverd demo` as a newcomer runs it: read what it prints, query the
 * printed DNS port, kill the primary through the printed control command,
 * see the transition line and the new answer, restore it, drain it through
 * it with the printed CLI commands (admin API), then Ctrl-C: exit 0 and every
 * port it used is free again.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { Resolver } from 'node:dns/promises';
import { createServer } from 'node:net';
import { test, type TestContext } from 'node:test';
import { BIN, runCli } from './helpers/cli.ts';
import { scaled } from './helpers/eventually.ts';
import { freePort } from './helpers/ports.ts';

class Output {
  text = '';
  private waiters: Array<{ re: RegExp; from: number; resolve: (m: RegExpExecArray) => void }> = [];
  push(d: string): void {
    this.text += d;
    this.waiters = this.waiters.filter((w) => {
      const m = w.re.exec(this.text.slice(w.from));
      if (m) w.resolve(m);
      return !m;
    });
  }
  /** The first match of re in what was printed after offset `from`. */
  wait(re: RegExp, timeoutMs = 15_000, from = 0): Promise<RegExpExecArray> {
    const m = re.exec(this.text.slice(from));
    if (m) return Promise.resolve(m);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`demo did not print ${re} within ${scaled(timeoutMs)} ms; it printed:\n${this.text}`)), scaled(timeoutMs));
      this.waiters.push({ re, from, resolve: (x) => (clearTimeout(t), resolve(x)) });
    });
  }
}

async function resolve4(port: number, name: string): Promise<string[]> {
  const r = new Resolver({ timeout: 1000, tries: 2 });
  r.setServers([`127.0.0.1:${port}`]);
  return (await r.resolve4(name)).sort();
}

async function tcpFree(host: string, port: number): Promise<boolean> {
  const s = createServer();
  return new Promise((resolve) => {
    s.once('error', () => resolve(false));
    s.listen(port, host, () => s.close(() => resolve(true)));
  });
}

async function udpFree(host: string, port: number): Promise<boolean> {
  const s = createSocket('udp4');
  return new Promise((resolve) => {
    s.once('error', () => resolve(false));
    s.bind(port, host, () => s.close(() => resolve(true)));
  });
}

/** Spawns `failoverd demo --no-keys ARGS` (killed after the test) and waits for its first answer line. */
async function startDemo(t: TestContext, args: string[]) {
  const child = spawn(process.execPath, [BIN, 'demo', '--no-keys', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const out = new Output();
  const err = { text: '' };
  child.stdout.setEncoding('utf8').on('data', (d: string) => out.push(d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err.text += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  t.after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  await out.wait(/answer\s+www\.example\.test\/A → 127\.0\.0\.1 /, 20_000).catch((e: Error) => {
    throw new Error(`${e.message}\nstderr:\n${err.text}`);
  });
  return {
    child,
    out,
    exited,
    get stderr() {
      return err.text;
    },
  };
}

test('failoverd demo: dig, kill the primary, see the failover, Ctrl-C frees every port', async (t) => {
  const demo = await startDemo(t, []);
  const { child, out, exited } = demo;
  const dnsPort = Number((await out.wait(/dig @127\.0\.0\.1 -p (\d+) www\.example\.test/))[1]);
  const kill = (await out.wait(/curl -X POST (http:\/\/127\.0\.0\.1:\d+\/primary\/kill)/))[1]!;
  const restore = (await out.wait(/curl -X POST (http:\/\/127\.0\.0\.1:\d+\/primary\/restore)/))[1]!;
  const backendPort = Number((await out.wait(/primary\s+http:\/\/127\.0\.0\.1:(\d+)\//))[1]);
  const controlPort = Number(new URL(kill).port);

  assert.deepEqual(await resolve4(dnsPort, 'www.example.test'), ['127.0.0.1']);

  // Kill the primary the way the demo says to.
  let mark = out.text.length;
  const res = await fetch(kill, { method: 'POST' });
  assert.equal(res.status, 200);
  assert.deepEqual(((await res.json()) as { backends: Array<{ role: string; up: boolean }> }).backends.map((b) => [b.role, b.up]), [
    ['primary', false],
    ['secondary', true],
  ]);
  await out.wait(/killed\s+primary backend 127\.0\.0\.1/, 5000, mark);
  await out.wait(/health\s+primary 127\.0\.0\.1 UP → DOWN/, 10_000, mark);
  await out.wait(/FAILOVER\s+www\.example\.test\/A: 127\.0\.0\.1 → 127\.0\.0\.2 /, 10_000, mark);
  assert.deepEqual(await resolve4(dnsPort, 'www.example.test'), ['127.0.0.2']);

  // Restore it: failback.
  mark = out.text.length;
  assert.equal((await fetch(restore, { method: 'POST' })).status, 200);
  await out.wait(/FAILBACK\s+www\.example\.test\/A: 127\.0\.0\.2 → 127\.0\.0\.1 /, 15_000, mark);
  assert.deepEqual(await resolve4(dnsPort, 'www.example.test'), ['127.0.0.1']);

  // Drain and undrain the primary with the printed CLI commands (over the admin API).
  const drain = /failoverd drain (\S+) --reason "demo" --admin (\S+)/.exec(out.text);
  const token = /export FAILOVERD_ADMIN_TOKEN=(\S+)/.exec(out.text);
  assert.ok(drain && token, `the demo prints the drain command and the admin token:\n${out.text}`);
  {
    const env = { FAILOVERD_ADMIN_TOKEN: token[1]! };
    mark = out.text.length;
    const r = await runCli(['drain', drain[1]!, '--reason', 'demo', '--admin', drain[2]!], { env });
    assert.equal(r.code, 0, r.stderr);
    await out.wait(/FAILOVER\s+www\.example\.test\/A: 127\.0\.0\.1 → 127\.0\.0\.2 /, 10_000, mark);
    assert.deepEqual(await resolve4(dnsPort, 'www.example.test'), ['127.0.0.2']);
    mark = out.text.length;
    const u = await runCli(['undrain', drain[1]!, '--admin', drain[2]!], { env });
    assert.equal(u.code, 0, u.stderr);
    await out.wait(/FAILBACK\s+www\.example\.test\/A: 127\.0\.0\.2 → 127\.0\.0\.1 /, 10_000, mark);
  }
  const adminPort = Number(new URL(drain[2]!).port);

  // Ctrl-C stops everything.
  child.kill('SIGINT');
  const code = await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r('timeout'), 8000))]);
  assert.equal(code, 0, `demo exit: ${String(code)}\nstderr:\n${demo.stderr}\n${out.text}`);
  assert.match(out.text, /stopped\s+everything the demo started is gone/);
  assert.equal(await udpFree('127.0.0.1', dnsPort), true, 'DNS UDP port free');
  assert.equal(await tcpFree('127.0.0.1', dnsPort), true, 'DNS TCP port free');
  assert.equal(await tcpFree('127.0.0.1', backendPort), true, 'primary backend port free');
  assert.equal(await tcpFree('127.0.0.2', backendPort), true, 'secondary backend port free');
  assert.equal(await tcpFree('127.0.0.1', controlPort), true, 'control port free');
  assert.equal(await tcpFree('127.0.0.1', adminPort), true, 'admin port free');
  const tmp = /config\s+(\S+failoverd\.yaml)/.exec(out.text)?.[1];
  if (tmp) assert.equal((await import('node:fs')).existsSync(tmp), false, 'temporary directory removed');
});

test('failoverd demo --dns-port --admin-port --backend-port: it listens where it is told and prints those ports; a bad port is refused naming the option', async (t) => {
  const [dns, admin, backend] = [await freePort(), await freePort(), await freePort()];
  const demo = await startDemo(t, ['--dns-port', String(dns), '--admin-port', String(admin), '--backend-port', String(backend)]);
  const { child, out, exited } = demo;
  assert.equal(Number((await out.wait(/dig @127\.0\.0\.1 -p (\d+) www\.example\.test/))[1]), dns, 'the printed DNS port');
  assert.equal(Number((await out.wait(/primary\s+http:\/\/127\.0\.0\.1:(\d+)\//))[1]), backend, 'the printed backend port');
  assert.equal(Number(new URL((await out.wait(/--admin (\S+)/))[1]!).port), admin, 'the printed admin address');
  assert.deepEqual(await resolve4(dns, 'www.example.test'), ['127.0.0.1']);
  assert.equal((await fetch(`http://127.0.0.1:${admin}/healthz`)).status, 200, 'the admin API on --admin-port');
  assert.equal((await fetch(`http://127.0.0.2:${backend}/healthz`)).status, 200, 'the secondary backend on --backend-port');
  child.kill('SIGINT');
  assert.equal(await exited, 0, demo.stderr);

  const bad = await runCli(['demo', '--no-keys', '--dns-port', '70000']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /--dns-port must be a port number from 1 to 65535, not "70000"/);
});
