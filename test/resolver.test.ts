/**
 * A real resolver in front of failoverd, on loopback: Unbound with
 * deploy/unbound/unbound.conf (the compose resolver's config; only the
 * listen address, port and stub address changed) forwards example.test to a
 * failoverd daemon. A client asking Unbound (recursion desired) sees the
 * primary, keeps seeing the cached answer until its TTL runs out after the
 * primary dies, and then sees the secondary, with degradedTtl.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Resolver } from 'node:dns/promises';
import { httpBackendsOnOnePort } from './helpers/backends.ts';
import { printedOnStderr } from './helpers/child-output.ts';
import { DaemonProcess } from './helpers/cli.ts';
import { freePort } from './helpers/ports.ts';
import { needTool } from './helpers/tools.ts';
import { scaled } from './helpers/eventually.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

async function ask(port: number): Promise<Array<{ address: string; ttl: number }>> {
  const r = new Resolver({ timeout: 2000, tries: 1 });
  r.setServers([`127.0.0.1:${port}`]);
  return r.resolve4('www.example.test', { ttl: true });
}

test('Unbound (deploy/unbound/unbound.conf) in front of failoverd: cached answer, then the failover after its TTL', { timeout: scaled(60_000) }, async (t) => {
  if (!needTool(t, 'unbound')) return;
  const dir = mkdtempSync(join(tmpdir(), 'failoverd-unbound-'));
  const [primary, secondary] = await httpBackendsOnOnePort(['127.0.0.1', '127.0.0.2']);
  t.after(async () => {
    await primary!.kill();
    await secondary!.kill();
  });

  cpSync(join(ROOT, 'zones'), join(dir, 'zones'), { recursive: true });
  const TTL = 3;
  writeFileSync(
    join(dir, 'failoverd.yaml'),
    `dns: { listen: ["127.0.0.1:0"] }
zones: zones
admin: { listen: "127.0.0.1:${await freePort()}" }
state: { file: state.json }
checks:
  web: { type: http, port: ${primary!.port}, path: /healthz, interval: 1s, fastInterval: 100ms, timeout: 500ms }
records:
  - name: www.example.test
    type: A
    ttl: ${TTL}
    degradedTtl: 1
    targets:
      - { address: 127.0.0.1, check: web }
      - { address: 127.0.0.2, check: web }
`,
  );
  const daemon = new DaemonProcess(['run', '--config', join(dir, 'failoverd.yaml')]);
  t.after(() => daemon.stop());
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const serving = await daemon.waitForLog((l) => l.msg === 'serving DNS', 15_000);
  const dnsPort = (serving.listen as Array<{ port: number }>)[0]!.port;

  const port = await freePort();
  const conf = readFileSync(join(ROOT, 'deploy/unbound/unbound.conf'), 'utf8')
    .replace(/^(\s*)interface: .*$/m, '$1interface: 127.0.0.1')
    .replace(/^(\s*)port: 53$/m, `$1port: ${port}\n$1pidfile: "${join(dir, 'unbound.pid')}"`)
    .replace(/^(\s*)stub-addr: .*$/m, `$1stub-addr: 127.0.0.1@${dnsPort}`);
  assert.match(conf, new RegExp(`stub-addr: 127\\.0\\.0\\.1@${dnsPort}`));
  writeFileSync(join(dir, 'unbound.conf'), conf);
  const unbound = spawn('unbound', ['-d', '-c', join(dir, 'unbound.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let uerr = '';
  unbound.stderr.on('data', (d) => (uerr += d));
  t.after(async () => {
    if (unbound.exitCode !== null) return;
    const gone = new Promise((r) => unbound.once('exit', r));
    unbound.kill('SIGTERM');
    await gone;
  });

  // Unbound says when it serves (verbosity 1: "start of service"); wait on that, not on a retried query.
  const started = await printedOnStderr(unbound, () => uerr, 'start of service', 10_000);
  assert.equal(started, 'printed', `Unbound did not start: ${uerr}`);
  // (A query lost on a loaded machine is asked again: each failed try has waited its 2 s timeout.)
  let first: Array<{ address: string; ttl: number }> | undefined;
  let firstError: unknown;
  for (let i = 0; i < 3 && !first; i++) first = await ask(port).catch((err) => void (firstError = err));
  assert.ok(first, `Unbound answered nothing (${(firstError as Error | undefined)?.message}): ${uerr}`);
  assert.deepEqual(first.map((a) => a.address), ['127.0.0.1']);
  assert.ok(first[0]!.ttl <= TTL);

  await primary!.kill();
  await daemon.waitForLog((l) => l.msg === 'transition' && l.to === '127.0.0.2', 10_000);
  const failedOverAt = Date.now();
  // Right after the failover Unbound may still serve the cached primary, for up to its TTL (plus up to
  // 1 s: Unbound keeps time in whole seconds).
  let seen: string[] = [];
  // (A query lost on a loaded machine is asked again; the bound has a few seconds of slack for that.)
  // No event tells when Unbound's cached answer expires: ask every 200 ms until the secondary shows, within the bound.
  for (let i = 0; i < 1000; i++) {
    const a = await ask(port).catch(() => undefined);
    if (a) seen = a.map((x) => x.address);
    if (a && seen[0] === '127.0.0.2') {
      assert.ok(a[0]!.ttl <= 1, `degradedTtl: ${a[0]!.ttl}`);
      break;
    }
    assert.ok(Date.now() - failedOverAt < (TTL + 4) * 1000, `Unbound still answers ${seen.join(',')} ${Date.now() - failedOverAt} ms after the failover`);
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.equal(seen[0], '127.0.0.2', 'the secondary, within the bound');
  t.diagnostic(`Unbound answered the secondary ${Date.now() - failedOverAt} ms after failoverd's transition (TTL ${TTL} s)`);
});
