/**
 * The status page at GET / in a real browser (Debian's Chromium driven by
 * playwright-core) against a daemon with real backends: the primary
 * answering; the primary killed and the failover with its transition shown
 * without a reload; a drain through the CLI with its (hostile) reason shown
 * as text; the daemon hung (SIGSTOP), then stopped, and the page saying
 * so. No console errors, no request outside the admin listener, a
 * screenshot in the test's folder (and docs/status-page.png,
 * docs/status-page-phone.png with UPDATE_SCREENSHOT=1).
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { AdminDaemon, TestDir, TOKEN, wwwConfig } from './helpers/admin-daemon.ts';
import { httpBackendsOnOnePort } from './helpers/backends.ts';
import { launchChromium, needChromium } from './helpers/chromium.ts';
import { runCli } from './helpers/cli.ts';
import { scaled } from './helpers/eventually.ts';

const PRIMARY = 'www.example.test/A/127.0.0.1';
/** A drain reason that would be markup, a terminal bell and a quote if not escaped. */
const REASON = 'kernel <b>upgrade</b> & "ticket" \u0007 #42';
const SHOWN_REASON = 'kernel <b>upgrade</b> & "ticket" \\x07 #42';

const text = (page: Page, selector: string) => page.locator(selector).first().innerText();

test('status page: live failover, drain reason and a stopped daemon in Chromium', { timeout: scaled(90_000) }, async (t) => {
  if (!needChromium(t)) return;
  const backends = await httpBackendsOnOnePort(['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4']);
  const dir = new TestDir();
  dir.write(
    wwwConfig(backends[0]!.port, {
      token: TOKEN,
      moreRecords: `  - name: api.example.test
    type: A
    policy: multivalue
    targets: [{ address: 127.0.0.3, check: web }, { address: 127.0.0.4, check: web }]
`,
    }),
  );
  let d: AdminDaemon | undefined;
  let browser: BrowserContext | undefined;
  t.after(async () => {
    await browser?.close();
    await d?.stop();
    for (const b of backends) await b.kill();
    dir.remove();
  });
  d = await AdminDaemon.start(dir, {}, 10_000, { inDir: true });
  browser = await launchChromium(dir.dir);
  const page = browser.pages()[0] ?? (await browser.newPage());
  const consoleErrors: string[] = [];
  const requests: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => consoleErrors.push(`page error: ${e.message}`));
  page.on('request', (r) => requests.push(r.url()));
  page.on('response', (r) => {
    if (r.status() >= 400) consoleErrors.push(`HTTP ${r.status()} ${r.url()}`);
  });

  const res = await page.goto(`${d.adminUrl}/`);
  assert.equal(res?.status(), 200);
  assert.match(res!.headers()['content-security-policy'] ?? '', /default-src 'none'/);
  const rs = '[data-record-set="www.example.test/A"]';
  await page.locator(`${rs} .answer`).filter({ hasText: '127.0.0.1' }).waitFor({ timeout: 5000 });
  // OK once both targets are UP: on a busy machine the secondary's first probe can time out, and the live page catches up.
  await page.locator(`${rs} h2`).filter({ hasText: 'OK' }).waitFor({ timeout: 10_000 });
  assert.match(await text(page, `tr[data-target="${PRIMARY}"]`), /primary\s+127\.0\.0\.1\s+ANSWERING/i);
  await page.locator('#conn').filter({ hasText: 'Live' }).waitFor({ timeout: 5000 });
  await page.evaluate(() => ((window as unknown as { notReloaded: boolean }).notReloaded = true));

  // The primary dies: the page follows without a reload.
  await backends[0]!.kill();
  const killedAt = Date.now();
  const transition = d.proc.waitForLog((l) => l.msg === 'transition' && l.recordSet === 'www.example.test/A', 10_000).then(() => Date.now());
  await page.locator(`${rs} .answer`).filter({ hasText: '127.0.0.2' }).waitFor({ timeout: 10_000 });
  await page.locator('.timeline li').filter({ hasText: 'TRANSITION' }).filter({ hasText: '127.0.0.1 → 127.0.0.2' }).waitFor({ timeout: 10_000 });
  const shownAt = Date.now();
  const transitionAt = await transition;
  process.stdout.write(`# kill → page shows the failover: ${shownAt - killedAt} ms (daemon transition → page: ${shownAt - transitionAt} ms)\n`);
  assert.ok(shownAt - killedAt <= 2000, `the page showed the failover ${shownAt - killedAt} ms after the kill (over 2 s)`);
  assert.equal(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded), true, 'the page was reloaded');
  assert.match(await text(page, `${rs} h2`), /DEGRADED/);
  const primaryRow = page.locator(`tr[data-target="${PRIMARY}"]`);
  await primaryRow.locator('td[data-label="real"]').filter({ hasText: 'DOWN' }).waitFor({ timeout: 5000 });
  assert.match(await primaryRow.locator('td[data-label="last probes"]').innerText(), /FAIL refused/);
  assert.match(await primaryRow.locator('td[data-label="last hour"]').innerText(), /DOWN 1 min; \d+ probes, [1-9]\d* failed/);

  // A drain through the CLI: its reason shows, as text.
  const drain = await runCli(['drain', PRIMARY, '--reason', REASON, '--for', '30m', '--admin', d.adminUrl, '--token', TOKEN]);
  assert.equal(drain.code, 0, drain.stderr);
  const override = primaryRow.locator('td.override');
  await override.filter({ hasText: 'DRAINED' }).waitFor({ timeout: 5000 });
  assert.ok((await override.innerText()).includes(SHOWN_REASON), await override.innerText());
  assert.equal(await override.locator('b').count(), 0, 'the reason was rendered as markup');
  await page.locator('.timeline li').filter({ hasText: 'DRAIN SET' }).filter({ hasText: SHOWN_REASON }).waitFor({ timeout: 5000 });

  mkdirSync(join(dir.dir, 'screenshots'), { recursive: true });
  const shot = join(dir.dir, 'screenshots', 'status-page.png');
  await page.screenshot({ path: shot, fullPage: true });
  if (process.env.UPDATE_SCREENSHOT === '1') copyFileSync(shot, new URL('../docs/status-page.png', import.meta.url));

  // On a phone: nothing wider than the screen.
  await page.setViewportSize({ width: 390, height: 844 });
  const phoneShot = join(dir.dir, 'screenshots', 'status-page-phone.png');
  await page.screenshot({ path: phoneShot, fullPage: true });
  if (process.env.UPDATE_SCREENSHOT === '1') copyFileSync(phoneShot, new URL('../docs/status-page-phone.png', import.meta.url));
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the page is ${overflow} px wider than a 390 px phone screen`);
  assert.deepEqual(consoleErrors, [], 'console errors while the daemon ran');

  // A hung daemon (SIGSTOP: connections stay open, nothing comes): the page says so after 12 s of silence, and recovers.
  d.proc.child.kill('SIGSTOP');
  try {
    await page.locator('#conn').filter({ hasText: /DAEMON NOT ANSWERING.*no word for/ }).waitFor({ timeout: 20_000 });
    assert.match(await page.locator('body').getAttribute('class') ?? '', /stale/);
  } finally {
    d.proc.child.kill('SIGCONT');
  }
  await page.locator('#conn').filter({ hasText: 'Live' }).waitFor({ timeout: 10_000 });
  assert.doesNotMatch(await page.locator('body').getAttribute('class') ?? '', /stale/);

  // The daemon stops: the page says so.
  await d.stop();
  await page.locator('#conn').filter({ hasText: 'DAEMON NOT ANSWERING' }).waitFor({ timeout: 5000 });
  assert.match(await text(page, 'main'), /127\.0\.0\.2/, 'the last state stays on the page');

  const outside = requests.filter((u) => !u.startsWith(`${d!.adminUrl}/`));
  assert.deepEqual(outside, [], 'requests outside the admin listener');
  assert.ok(requests.some((u) => u.endsWith('/ui/events')), 'the page followed the event stream');
  // After the stop only the page's reconnects to the event stream may fail.
  process.stdout.write(`# console after the stop: ${JSON.stringify(consoleErrors)}\n`);
  assert.deepEqual(consoleErrors.filter((e) => !/ERR_CONNECTION_REFUSED/.test(e)), []);
});

test('status page over plain HTTP: off with admin.statusPage: false (404), on again after a reload; CSP; the event stream; JSON unchanged', { timeout: scaled(30_000) }, async (t) => {
  const backends = await httpBackendsOnOnePort(['127.0.0.1', '127.0.0.2']);
  const dir = new TestDir();
  const config = (statusPage: boolean) => wwwConfig(backends[0]!.port, { token: TOKEN }).replace('admin: { listen: "127.0.0.1:0"', `admin: { statusPage: ${statusPage}, listen: "127.0.0.1:0"`);
  dir.write(config(false));
  const d = await AdminDaemon.start(dir);
  t.after(async () => {
    await d.stop();
    for (const b of backends) await b.kill();
    dir.remove();
  });
  for (const path of ['/', '/ui/live', '/ui/events', '/ui/status-page.js', '/ui/status-page.css']) {
    const r = await d.api('GET', path, { token: null });
    assert.equal(r.status, 404, path);
    assert.match(r.body.error.message, /admin\.statusPage: false/);
  }
  const status = await d.api('GET', '/v1/status', { token: null });
  assert.equal(status.status, 200, 'the JSON API stays');
  assert.deepEqual(status.body.secondaries, [], 'no secondaries configured');
  assert.equal(status.body.route53, null);

  dir.write(config(true));
  assert.equal((await d.api('POST', '/v1/reload')).status, 200);
  const page = await d.api('GET', '/', { token: null });
  assert.equal(page.status, 200);
  assert.equal(page.headers.get('content-type'), 'text/html; charset=utf-8');
  const csp = page.headers.get('content-security-policy') ?? '';
  for (const directive of ["default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"]) assert.ok(csp.includes(directive), `${directive} in ${csp}`);
  assert.equal(page.headers.get('x-content-type-options'), 'nosniff');
  assert.deepEqual(page.text.match(/<script>|<style|\sstyle=|\son\w+=|\w+:\/\//g), null, 'no inline script or style, no handler attributes, no outside URL');
  assert.match(page.text, /<article class="rs" data-record-set="www\.example\.test\/A">/);
  const js = await d.api('GET', '/ui/status-page.js', { token: null });
  assert.equal(js.headers.get('content-type'), 'text/javascript; charset=utf-8');
  assert.match(js.text, /new EventSource\('\/ui\/events'\)/);

  // The event stream: a retry hint and the live part at once.
  const ac = new AbortController();
  const res = await fetch(`${d.adminUrl}/ui/events`, { signal: ac.signal });
  assert.equal(res.headers.get('content-type'), 'text/event-stream; charset=utf-8');
  const reader = res.body!.getReader();
  let got = '';
  const deadline = Date.now() + 5000;
  while (!got.includes('\n\nevent: update\n') || !got.includes('</section>\n\n')) {
    assert.ok(Date.now() < deadline, `no update event in 5 s: ${got.slice(0, 300)}`);
    const { value, done } = await reader.read();
    if (done) break;
    got += Buffer.from(value).toString('utf8');
  }
  ac.abort();
  assert.ok(got.startsWith('retry: 1000\n\n'), got.slice(0, 40));
  const update = got.split('\n\n')[1]!.split('\n');
  assert.equal(update[0], 'event: update');
  assert.ok(update.slice(1).every((l) => l.startsWith('data: ')), 'every line of the event is a data line');
  assert.match(update.join('\n'), /data-record-set="www\.example\.test\/A"/);
});
