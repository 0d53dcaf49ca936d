/**
 * The product, end to end: the daemon started from the CLI with a generated
 * config, real HTTP/HTTPS/TCP backends on 127.0.0.x that the test kills,
 * hangs and breaks, and the answers read through Node's dns.Resolver.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Resolver } from 'node:dns/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { httpBackendsOnOnePort, httpsBackend, tcpBackend, type Backend } from './helpers/backends.ts';
import { DaemonProcess } from './helpers/cli.ts';
import { EXAMPLE_ZONE_FILE } from './helpers/dns-fixture.ts';
import { selfSignedCert } from './helpers/tls.ts';

const dir = mkdtempSync(join(tmpdir(), 'failoverd-it-'));
let http: Backend[] = [];
const extra: Backend[] = [];
let daemon: DaemonProcess;
let resolver: Resolver;

const CHECK = 'interval: 1s, fastInterval: 100ms, timeout: 500ms, rise: 2, fall: 2';

before(async () => {
  // .1-.9: HTTP backends on one port.
  http = await httpBackendsOnOnePort(['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5', '127.0.0.6', '127.0.0.7', '127.0.0.8', '127.0.0.9']);
  const port = http[0]!.port;
  extra.push(await tcpBackend('127.0.0.10', port), await tcpBackend('127.0.0.11', port), await tcpBackend('127.0.0.13', port));
  mkdirSync(join(dir, 'zones'));
  copyFileSync(EXAMPLE_ZONE_FILE, join(dir, 'zones', 'example.test.zone'));
  writeFileSync(
    join(dir, 'failoverd.yaml'),
    `dns: { listen: ["127.0.0.1:0"] }
admin: { listen: "127.0.0.1:0" }
zones: zones
log: { level: info }
startupTimeout: 5s
checks:
  web:   { type: http, port: ${port}, path: /healthz, expect: { status: ["200-299"], body: ok }, ${CHECK} }
  plain: { type: tcp, port: ${port}, ${CHECK} }
  tlsStrict:  { type: https, port: ${port}, ${CHECK} }
  tlsRelaxed: { type: https, port: ${port}, tlsVerify: false, ${CHECK} }
records:
  - name: www.example.test
    type: A
    ttl: 30
    degradedTtl: 5
    targets: [{ address: 127.0.0.1, check: web }, { address: 127.0.0.2, check: web }]
  - name: hung.example.test
    type: A
    targets: [{ address: 127.0.0.3, check: web }, { address: 127.0.0.4, check: web }]
  - name: status.example.test
    type: A
    targets: [{ address: 127.0.0.5, check: web }, { address: 127.0.0.6, check: web }]
  - name: three.example.test
    type: A
    targets: [{ address: 127.0.0.7, check: web }, { address: 127.0.0.8, check: web }, { address: 127.0.0.9, check: web }]
  - name: tcp.example.test
    type: A
    targets: [{ address: 127.0.0.10, check: plain }, { address: 127.0.0.11, check: plain }]
  - name: strict.example.test
    type: A
    targets: [{ address: 127.0.0.12, check: tlsStrict }, { address: 127.0.0.13, check: plain }]
  - name: relaxed.example.test
    type: A
    targets: [{ address: 127.0.0.12, check: tlsRelaxed }, { address: 127.0.0.13, check: plain }]
`,
  );
});

after(async () => {
  await daemon?.stop();
  for (const b of [...http, ...extra]) await b.kill();
  rmSync(dir, { recursive: true, force: true });
});

async function answer(name: string): Promise<string[]> {
  try {
    return (await resolver.resolve4(name)).sort();
  } catch (err) {
    return [(err as { code: string }).code];
  }
}

type LogLine = Record<string, unknown>;

/**
 * The next log line that matches, after those logged when it is called (call
 * it before the action). The daemon publishes an answer change in the turn of
 * its 'transition' line, before it reads another query: a query sent after
 * the line arrived gets the new answer.
 */
function next(match: (l: LogLine) => boolean, timeoutMs = 8000): Promise<LogLine> {
  return daemon.waitForLog(match, timeoutMs, daemon.logs.length);
}

const transition = (name: string, to: string) => (l: LogLine) => l.msg === 'transition' && l.recordSet === `${name}/A` && l.to === to;
const health = (target: string, to: string) => (l: LogLine) => l.msg === 'target health changed' && l.target === target && l.to === to;

/** Waits for `name`'s transition to `to` (begun with next() before the action), then checks the DNS answer. */
async function answersAfter(name: string, to: string, transitioned: Promise<LogLine>): Promise<LogLine> {
  const t = await transitioned;
  assert.deepEqual(await answer(name), [to], `${name} after its transition to ${to}`);
  return t;
}

/** Milliseconds from `since` (Date.now()) to the time of a log line. */
function msAfter(since: number, l: LogLine): number {
  return Date.parse(String(l.time)) - since;
}

test('the daemon starts, waits for verdicts, and serves the primaries', async (t) => {
  const tls = selfSignedCert(t);
  if (tls) extra.push(await httpsBackend('127.0.0.12', tls, http[0]!.port));
  daemon = new DaemonProcess(['run', '--config', join(dir, 'failoverd.yaml')]);
  const serving = await daemon.waitForLog((l) => l.msg === 'serving DNS', 10_000);
  const port = (serving.listen as Array<{ port: number }>)[0]!.port;
  assert.ok(port > 0);
  resolver = new Resolver({ timeout: 1000, tries: 1 });
  resolver.setServers([`127.0.0.1:${port}`]);
  assert.deepEqual(await answer('www.example.test'), ['127.0.0.1']);
  assert.deepEqual(await answer('three.example.test'), ['127.0.0.7']);
  assert.deepEqual(await answer('tcp.example.test'), ['127.0.0.10']);
  const ttl = (await resolver.resolve4('www.example.test', { ttl: true }))[0]!.ttl;
  assert.equal(ttl, 30, 'full TTL while answering the first choice');
  // The health of every target was known before DNS opened: no UNKNOWN guess was served.
  const verdicts = daemon.logs.filter((l) => l.msg === 'target health changed' && l.from === 'UNKNOWN');
  assert.ok(verdicts.length >= 10, `verdicts before serving: ${verdicts.length}`);
  assert.ok(daemon.logs.indexOf(serving) > daemon.logs.indexOf(verdicts[verdicts.length - 1]!));
});

test('HTTPS: a self-signed backend fails with tlsVerify, passes without', async (t) => {
  if (!extra.some((b) => b.host === '127.0.0.12')) {
    t.skip('no HTTPS backend (openssl missing)');
    return;
  }
  // The verdicts that decide these answers (logged before DNS opened, or as they came after).
  const down = await daemon.waitForLog(health('tlsStrict@127.0.0.12', 'DOWN'));
  await daemon.waitForLog(health('tlsRelaxed@127.0.0.12', 'UP'));
  await daemon.waitForLog(health('plain@127.0.0.13', 'UP'));
  assert.deepEqual(await answer('strict.example.test'), ['127.0.0.13']);
  assert.deepEqual(await answer('relaxed.example.test'), ['127.0.0.12']);
  assert.equal(down.reason, 'TLS error DEPTH_ZERO_SELF_SIGNED_CERT');
  assert.ok(!daemon.logs.some(health('tlsStrict@127.0.0.12', 'UP')), 'never UP with tlsVerify');
});

test('killed primary: the answer becomes the secondary with degradedTtl; revived: it returns after rise', async () => {
  const primary = http[0]!;
  const failedOver = next(transition('www.example.test', '127.0.0.2'));
  const killedAt = Date.now();
  await primary.kill();
  const away = await answersAfter('www.example.test', '127.0.0.2', failedOver);
  assert.ok(msAfter(killedAt, away) < 3000, `failover took ${msAfter(killedAt, away)}ms`);
  const ttl = (await resolver.resolve4('www.example.test', { ttl: true }))[0]!.ttl;
  assert.equal(ttl, 5, 'degradedTtl while not answering the first choice');
  assert.equal(away.from, '127.0.0.1');
  assert.match(String(away.reason), /DOWN/);
  // A failover is a warn line (an operator keeping warn and above sees it); the return below is info.
  assert.equal(away.level, 40, 'the failover is logged at warn');
  const cameBack = next(transition('www.example.test', '127.0.0.1'));
  await primary.revive();
  const back = await answersAfter('www.example.test', '127.0.0.1', cameBack);
  assert.equal(back.from, '127.0.0.2');
  assert.equal(back.level, 30, 'the return to the primary is logged at info');
  // Back up only after `rise` (2) successes in a row.
  const up = daemon.logs.filter((l) => l.target === 'web@127.0.0.1' && l.to === 'UP');
  assert.ok(up.length >= 2, 'UP at start and UP again after the revival');
});

test('hung primary (accepts, never replies): failover after the timeouts', async () => {
  const primary = http[2]!;
  const failedOver = next(transition('hung.example.test', '127.0.0.4'));
  const down = next(health('web@127.0.0.3', 'DOWN'));
  const hungAt = Date.now();
  primary.mode = 'hang';
  const away = await answersAfter('hung.example.test', '127.0.0.4', failedOver);
  assert.ok(msAfter(hungAt, away) < 4000, `failover took ${msAfter(hungAt, away)}ms`);
  assert.match(String((await down).reason), /timeout after 500ms/);
  const cameBack = next(transition('hung.example.test', '127.0.0.3'));
  primary.mode = 'ok';
  await answersAfter('hung.example.test', '127.0.0.3', cameBack);
});

test('wrong status, then wrong body: the primary is DOWN for each, UP again when fixed', async () => {
  const primary = http[4]!;
  for (const [mode, reason] of [['status503', 'status 503'], ['wrongBody', 'body mismatch']] as const) {
    const failedOver = next(transition('status.example.test', '127.0.0.6'));
    const down = next(health('web@127.0.0.5', 'DOWN'));
    primary.mode = mode;
    await answersAfter('status.example.test', '127.0.0.6', failedOver);
    assert.equal((await down).reason, reason);
    const cameBack = next(transition('status.example.test', '127.0.0.5'));
    primary.mode = 'ok';
    await answersAfter('status.example.test', '127.0.0.5', cameBack);
  }
});

test('three targets fail over in order and come back to the first', async () => {
  const [first, second] = [http[6]!, http[7]!];
  const toSecond = next(transition('three.example.test', '127.0.0.8'));
  await first.kill();
  await answersAfter('three.example.test', '127.0.0.8', toSecond);
  const toThird = next(transition('three.example.test', '127.0.0.9'));
  await second.kill();
  await answersAfter('three.example.test', '127.0.0.9', toThird);
  const toFirst = next(transition('three.example.test', '127.0.0.7'));
  await first.revive();
  await answersAfter('three.example.test', '127.0.0.7', toFirst);
  await second.revive();
});

test('TCP probe: a closed listener fails over', async () => {
  const failedOver = next(transition('tcp.example.test', '127.0.0.11'));
  const down = next(health('plain@127.0.0.10', 'DOWN'));
  await extra[0]!.kill();
  await answersAfter('tcp.example.test', '127.0.0.11', failedOver);
  assert.match(String((await down).reason), /refused|reset/);
  const cameBack = next(transition('tcp.example.test', '127.0.0.10'));
  await extra[0]!.revive();
  await answersAfter('tcp.example.test', '127.0.0.10', cameBack);
});

test('SIGTERM closes the listeners and exits 0', async () => {
  const code = await daemon.stop('SIGTERM');
  assert.equal(code, 0);
  assert.ok(daemon.logs.some((l) => l.msg === 'stopped'));
});
