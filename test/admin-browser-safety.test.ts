/**
 * The admin API against a web browser used as a weapon, on a daemon with no
 * token (allowed on loopback, the shipped config): a page of another site
 * (its own HTTP server on 127.0.0.2) tries a no-cors POST drain, a reload
 * and a CORS JSON drain in Chromium; a name rebound to 127.0.0.1 (Chromium's
 * host resolver rules) reads the status. All refused, nothing changed; the
 * status page itself still follows a drain made through the CLI, with no
 * console error under its CSP. Then raw HTTP: Origin, Sec-Fetch-Site, Host
 * and Content-Type, each refused and allowed as documented.
 */
import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import { test } from 'node:test';
import type { BrowserContext } from 'playwright-core';
import { AdminDaemon, TestDir, wwwConfig } from './helpers/admin-daemon.ts';
import { httpBackendsOnOnePort, type Backend } from './helpers/backends.ts';
import { launchChromium, needChromium } from './helpers/chromium.ts';
import { runCli } from './helpers/cli.ts';
import { scaled } from './helpers/eventually.ts';

const PRIMARY = 'www.example.test/A/127.0.0.1';
const DRAIN_PATH = `/v1/targets/${encodeURIComponent(PRIMARY)}/override`;

/** One raw HTTP/1.1 request with exactly these headers (fetch cannot set Host). */
function raw(url: string, method: string, headers: Record<string, string>, body?: string): Promise<{ status: number; body: any }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, method, path: u.pathname + u.search, headers: { ...headers, ...(body !== undefined ? { 'content-length': String(Buffer.byteLength(body)) } : {}) }, timeout: 5000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (text += c));
      res.on('end', () => {
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, body: json });
      });
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${url}: no answer in 5 s`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** The attacker's page: from its own origin, a no-cors text/plain drain, a reload, and a CORS JSON drain (which needs a preflight). */
function evilPage(admin: string): string {
  return `<!doctype html><title>cat pictures</title><script>
const admin = ${JSON.stringify(admin)};
const results = [];
const body = JSON.stringify({ state: 'down', reason: 'evil page' });
const tell = (what, p) => p.then((r) => results.push(what + ': sent (' + r.type + ')'), (e) => results.push(what + ': failed ' + e.message));
Promise.all([
  tell('no-cors drain', fetch(admin + ${JSON.stringify(DRAIN_PATH)}, { method: 'POST', mode: 'no-cors', headers: { 'Content-Type': 'text/plain' }, body })),
  tell('no-cors reload', fetch(admin + '/v1/reload', { method: 'POST', mode: 'no-cors' })),
  tell('cors json drain', fetch(admin + ${JSON.stringify(DRAIN_PATH)}, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body })),
]).then(() => { window.done = results; });
</script>`;
}

test('a page of another site cannot drain or reload through Chromium, a rebound name reads nothing; the status page still follows a CLI drain', { timeout: scaled(60_000) }, async (t) => {
  if (!needChromium(t)) return;
  const backends: Backend[] = await httpBackendsOnOnePort(['127.0.0.1', '127.0.0.2']);
  const dir = new TestDir();
  dir.write(wwwConfig(backends[0]!.port));
  let d: AdminDaemon | undefined;
  let browser: BrowserContext | undefined;
  let evil: Server | undefined;
  t.after(async () => {
    await browser?.close();
    evil?.close();
    await d?.stop();
    for (const b of backends) await b.kill();
    dir.remove();
  });
  d = await AdminDaemon.start(dir);
  await d.waitForAnswer('www.example.test', ['127.0.0.1']);
  const adminPort = new URL(d.adminUrl).port;
  evil = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(evilPage(d!.adminUrl)));
  await new Promise<void>((r) => evil!.listen(0, '127.0.0.2', r));
  const evilUrl = `http://127.0.0.2:${(evil.address() as { port: number }).port}/`;

  browser = await launchChromium(dir.dir, ['--host-resolver-rules=MAP rebind.evil.example 127.0.0.1']);
  const page = browser.pages()[0] ?? (await browser.newPage());
  const since = d.proc.logs.length;
  await page.goto(evilUrl);
  const results = (await page.waitForFunction(() => (window as unknown as { done?: string[] }).done, undefined, { timeout: 10_000 }).then((h) => h.jsonValue())) as string[];
  t.diagnostic(`the evil page saw: ${results.join('; ')}`);
  // The CORS request never left the preflight (405, no Access-Control-Allow-Origin): the browser failed it.
  assert.ok(results.includes('cors json drain: failed Failed to fetch'), results.join('; '));
  // The no-cors ones reached the daemon and were refused there, before any handler ran.
  const refused = (path: string) => d!.proc.waitForLog((l) => l.msg === 'admin change' && l.method === 'POST' && l.path === path, 5000, since);
  assert.equal((await refused(DRAIN_PATH)).status, 403);
  assert.equal((await refused('/v1/reload')).status, 403);
  const status = (await d.api('GET', '/v1/status')).body;
  assert.deepEqual(status.overrides, [], 'an override was set');
  assert.equal(status.config.loadedAt, status.startedAt, 'the config was reloaded');
  assert.equal(d.proc.logs.slice(since).filter((l) => l.msg === 'config reloaded').length, 0);
  assert.deepEqual(await d.answer('www.example.test'), ['127.0.0.1']);

  // DNS rebinding: the attacker's name now points at 127.0.0.1; the browser sends it as Host.
  const rebound = await page.goto(`http://rebind.evil.example:${adminPort}/v1/status`);
  assert.equal(rebound?.status(), 421);
  assert.doesNotMatch(await page.content(), /recordSets/);

  // The status page itself: no console error under its CSP, and a drain through the CLI shows.
  const consoleErrors: string[] = [];
  page.on('console', (m) => m.type() === 'error' && consoleErrors.push(m.text()));
  page.on('pageerror', (e) => consoleErrors.push(e.message));
  const res = await page.goto(`${d.adminUrl}/`);
  assert.equal(res?.status(), 200);
  assert.match(res!.headers()['content-security-policy'] ?? '', /default-src 'none'/);
  await page.locator('#conn').filter({ hasText: 'Live' }).waitFor({ timeout: 5000 });
  const drain = await runCli(['drain', PRIMARY, '--reason', 'kernel update', '--admin', d.adminUrl]);
  assert.equal(drain.code, 0, drain.stderr);
  await page.locator(`tr[data-target="${PRIMARY}"] td.override`).filter({ hasText: 'DRAINED' }).waitFor({ timeout: 5000 });
  await d.waitForAnswer('www.example.test', ['127.0.0.2']);
  assert.deepEqual(consoleErrors, []);
});

test('raw HTTP: Origin, Sec-Fetch-Site, Host and Content-Type are checked as documented', { timeout: scaled(30_000) }, async (t) => {
  const backends: Backend[] = await httpBackendsOnOnePort(['127.0.0.1', '127.0.0.2']);
  const dir = new TestDir();
  dir.write(wwwConfig(backends[0]!.port).replace('admin: { listen: "127.0.0.1:0" }', 'admin: { listen: "127.0.0.1:0", allowedHosts: [failoverd.example.com], allowedOrigins: ["https://grafana.example.com"] }'));
  let d: AdminDaemon | undefined;
  t.after(async () => {
    await d?.stop();
    for (const b of backends) await b.kill();
    dir.remove();
  });
  d = await AdminDaemon.start(dir);
  const a = d.adminUrl;
  const own = new URL(a).host;
  const json = { 'content-type': 'application/json' };
  const drainBody = JSON.stringify({ state: 'down', reason: 'raw test' });
  const overrides = async () => (await d!.api('GET', '/v1/status')).body.overrides.length;

  // Content-Type: a change needs application/json; text/plain, forms and none are 415.
  for (const type of [undefined, 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
    const r = await raw(a + DRAIN_PATH, 'POST', { host: own, ...(type ? { 'content-type': type } : {}) }, drainBody);
    assert.equal(r.status, 415, `content-type ${type}`);
    assert.equal(r.body.error.code, 'UNSUPPORTED_MEDIA_TYPE');
  }
  assert.equal((await raw(a + '/v1/reload', 'POST', { host: own })).status, 415);
  assert.equal(await overrides(), 0);

  // Origin and Sec-Fetch-Site: foreign ones are 403, for changes and reads.
  const foreign: Array<Record<string, string>> = [{ origin: 'http://evil.example' }, { origin: 'null' }, { origin: `http://127.0.0.2:${new URL(a).port}` }, { 'sec-fetch-site': 'cross-site' }, { 'sec-fetch-site': 'same-site' }];
  for (const h of foreign) {
    const change = await raw(a + DRAIN_PATH, 'POST', { host: own, ...json, ...h }, drainBody);
    assert.equal(change.status, 403, JSON.stringify(h));
    assert.equal(change.body.error.code, 'FOREIGN_ORIGIN');
    assert.equal((await raw(a + '/v1/reload', 'POST', { host: own, ...json, ...h })).status, 403, JSON.stringify(h));
    assert.equal((await raw(a + '/v1/status', 'GET', { host: own, ...h })).status, 403, JSON.stringify(h));
  }
  assert.equal(await overrides(), 0);
  // A link followed to the status page from another site is a read that works.
  assert.equal((await raw(a + '/', 'GET', { host: own, 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'navigate' })).status, 200);
  // The page's own origin, a configured origin, and same-origin requests pass.
  assert.equal((await raw(a + '/v1/status', 'GET', { host: own, origin: `http://${own}`, 'sec-fetch-site': 'same-origin' })).status, 200);
  assert.equal((await raw(a + DRAIN_PATH, 'POST', { host: own, ...json, origin: 'https://grafana.example.com', 'sec-fetch-site': 'cross-site' }, drainBody)).status, 200);
  assert.equal(await overrides(), 1);
  assert.equal((await raw(a + DRAIN_PATH, 'DELETE', { host: own, ...json, origin: `http://${own}` })).status, 200);
  assert.equal(await overrides(), 0);

  // Host: the listen address, localhost and configured names; anything else is 421 (reads too).
  for (const host of ['rebind.evil.example', `rebind.evil.example:${new URL(a).port}`, '127.0.0.2', 'failoverd.example.com.evil.example', 'x@127.0.0.1']) {
    const r = await raw(a + '/v1/status', 'GET', { host });
    assert.equal(r.status, 421, host);
    assert.equal(r.body.error.code, 'MISDIRECTED_REQUEST');
    assert.equal((await raw(a + DRAIN_PATH, 'POST', { host, ...json }, drainBody)).status, 421, host);
  }
  for (const host of [own, '127.0.0.1', 'localhost', `localhost:${new URL(a).port}`, 'failoverd.example.com', 'FAILOVERD.example.com.']) {
    assert.equal((await raw(a + '/v1/status', 'GET', { host })).status, 200, host);
  }
  assert.equal(await overrides(), 0);
});
