/**
 * Reload (POST /v1/reload and SIGHUP): a broken config is refused with every
 * problem and the old one keeps serving; a good one is applied without
 * dropping the health (or the drains) of targets whose probes did not change;
 * transfer.allow, tsig keys and secondaries are applied (dig AXFR before and
 * after), a key that needs a restart is named in the reply and the log.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { constants, unlinkSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import { AdminDaemon, FAST, metric, parsePrometheus, TestDir, TOKEN, until } from './helpers/admin-daemon.ts';
import { httpBackendsOnOnePort, type Backend } from './helpers/backends.ts';
import { needTool } from './helpers/tools.ts';
import { formatStatus } from '../src/cli/admin-commands.ts';

const dir = new TestDir();
let backends: Backend[] = [];
let d: AdminDaemon;

const config = (records: string, extra = '') => `dns: { listen: ["127.0.0.1:0"] }
zones: zones
admin: { listen: "127.0.0.1:0", token: "${TOKEN}" }
checks:
  web: { type: http, port: ${backends[0]!.port}, ${FAST} }
  api: { type: http, port: ${backends[0]!.port}, path: /api, ${FAST} }
${extra}records:
${records}`;

const WWW = (ttl: number) => `  - name: www.example.test
    type: A
    ttl: ${ttl}
    targets: [{ address: 127.0.0.1, check: web }, { address: 127.0.0.2, check: web }]
`;

before(async () => {
  backends = await httpBackendsOnOnePort(['127.0.0.1', '127.0.0.2', '127.0.0.3']);
  dir.write(config(WWW(30)));
  d = await AdminDaemon.start(dir);
});

after(async () => {
  await d?.stop();
  for (const b of backends) await b.kill();
  dir.remove();
});

async function reloadMetrics() {
  const m = parsePrometheus((await d.api('GET', '/metrics')).text);
  return {
    ok: metric(m, 'failoverd_config_reloads_total', { outcome: 'success' }) ?? 0,
    failed: metric(m, 'failoverd_config_reloads_total', { outcome: 'failure' }) ?? 0,
    last: metric(m, 'failoverd_config_last_reload_successful'),
    at: metric(m, 'failoverd_config_last_reload_success_timestamp_seconds')!,
  };
}

test('a broken config is refused with every problem (API and SIGHUP), and the old one keeps serving', async () => {
  assert.equal((await d.api('GET', '/v1/status')).body.config.lastReload, undefined, 'no reload yet');
  assert.equal((await d.api('POST', `/v1/targets/${encodeURIComponent('www.example.test/A/127.0.0.2')}/override`, { body: { state: 'down', reason: 'kept across reloads' } })).status, 200);
  const before = (await d.api('GET', '/v1/status')).body;
  dir.write(
    config(
      WWW(30) +
        `  - name: api.example.test
    type: A
    targets: [{ address: 300.1.1.1, check: nope }]
    colour: blue
`,
    ),
  );
  const r = await d.api('POST', '/v1/reload');
  assert.equal(r.status, 422);
  assert.equal(r.body.error.code, 'CONFIG_INVALID');
  assert.match(r.body.error.message, /^config refused, still serving the previous one: 1 problem$/);
  // Schema problems come first (unknown key); fix it to see the cross-checks, all of them at once.
  assert.deepEqual(r.body.error.details.map((p: any) => [p.line, p.path, p.message]), [[15, 'records[1].colour', 'unknown key "colour"']]);
  dir.write(config(WWW(30) + `  - name: api.example.test\n    type: A\n    targets: [{ address: 300.1.1.1, check: nope }]\n`));
  const r2 = await d.api('POST', '/v1/reload');
  assert.equal(r2.status, 422);
  assert.deepEqual(r2.body.error.details.map((p: any) => [p.line, p.path, p.message]), [
    [14, 'records[1].targets[0].check', 'unknown check "nope" (defined: web, api)'],
    [14, 'records[1].targets[0].address', '"300.1.1.1" is not an IPv4 address for an A record'],
  ]);
  assert.match(r2.body.error.details[0].text, /failoverd\.yaml:14 records\[1\]\.targets\[0\]\.check: unknown check "nope"/);
  // Every problem is logged (1 + 2 lines), with its place.
  await until('3 problem log lines', () => d.proc.logs.filter((l) => String(l.msg).startsWith('config problem:')).length === 3);
  const line = d.proc.logs.find((l) => l.path === 'records[1].targets[0].check')!;
  assert.equal(line.level, 50);
  assert.equal(line.line, 14);

  // SIGHUP with the same broken file: refused, the process goes on.
  const refusedBefore = d.proc.logs.filter((l) => l.msg === 'reload refused: still serving the previous config').length;
  d.proc.child.kill('SIGHUP');
  await until('SIGHUP refused', () => d.proc.logs.filter((l) => l.msg === 'reload refused: still serving the previous config').length === refusedBefore + 1);
  assert.equal(d.proc.child.exitCode, null);

  assert.deepEqual(await d.answer('www.example.test'), ['127.0.0.1']);
  assert.deepEqual(await d.answer('api.example.test'), ['ENOTFOUND']);
  const after = (await d.api('GET', '/v1/status')).body;
  assert.equal(after.config.loadedAt, before.config.loadedAt);
  assert.deepEqual(after.overrides, before.overrides);
  const m = await reloadMetrics();
  assert.deepEqual([m.ok, m.failed, m.last], [0, 3, 0]);
  // The refusal is in the status (API, CLI, status page) until a good reload, not only in the log and metrics.
  const refused = after.config.lastReload;
  assert.equal(refused.ok, false);
  assert.equal(refused.problemCount, 2);
  assert.match(refused.problems[0], /failoverd\.yaml:14 records\[1\]\.targets\[0\]\.check: unknown check "nope"/);
  assert.ok(Date.parse(refused.at) > Date.parse(after.config.loadedAt));
  assert.match(formatStatus(after), new RegExp(`^WARNING: config reload REFUSED at ${refused.at.replace(/\./g, '\\.')} \\(2 problem\\(s\\)\\): still serving the config loaded at ${after.config.loadedAt.replace(/\./g, '\\.')}\n  .*unknown check "nope"`, 'm'));
  assert.match((await d.api('GET', '/')).text, /RELOAD REFUSED<\/span>.*2 problems, first: <span class="reason">.*unknown check &quot;nope&quot;/);
});

test('a good config is applied: unchanged probes keep their health and drains; new record sets answer', async () => {
  const before = (await d.api('GET', '/v1/status')).body;
  const t0 = Date.now();
  const serial0 = await d.serial();
  dir.write(config(WWW(60) + `  - name: api.example.test\n    type: A\n    targets: [{ address: 127.0.0.3, check: api }]\n`));
  const r = await d.api('POST', '/v1/reload');
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.reloaded, true);
  assert.deepEqual(r.body.probesKept.sort(), ['web@127.0.0.1', 'web@127.0.0.2']);
  assert.deepEqual(r.body.probesAdded, ['api@127.0.0.3']);
  assert.deepEqual([r.body.probesChanged, r.body.probesRemoved, r.body.recordSetsRemoved, r.body.overridesDropped], [[], [], [], []]);
  assert.deepEqual(r.body.recordSetsAdded, ['api.example.test/A']);
  assert.deepEqual(r.body.warnings, []);

  await d.waitForAnswer('api.example.test', ['127.0.0.3'], 3000);
  assert.equal((await d.resolver.resolve4('www.example.test', { ttl: true }))[0]!.ttl, 60, 'the new TTL is served');
  assert.ok((await d.serial()) > serial0);
  const after = (await d.api('GET', '/v1/status')).body;
  for (const id of ['www.example.test/A/127.0.0.1', 'www.example.test/A/127.0.0.2']) {
    const b = before.targets.find((t: any) => t.id === id);
    const a = after.targets.find((t: any) => t.id === id);
    assert.equal(a.real.health, 'UP');
    assert.equal(a.real.since, b.real.since, `${id}: health kept, not restarted`);
    assert.equal(a.effective.since, b.effective.since);
  }
  assert.deepEqual(after.overrides.map((o: any) => [o.target, o.reason]), [['www.example.test/A/127.0.0.2', 'kept across reloads']]);
  assert.ok(Date.parse(after.config.loadedAt) >= t0);
  // No kept probe went back to UNKNOWN: its only verdict is the one from start.
  const verdicts = d.proc.logs.filter((l) => l.msg === 'target health changed' && l.target === 'web@127.0.0.1');
  assert.deepEqual(verdicts.map((l) => [l.from, l.to]), [['UNKNOWN', 'UP']]);
  const m = await reloadMetrics();
  assert.deepEqual([m.ok, m.failed, m.last], [1, 3, 1]);
  assert.ok(m.at * 1000 >= t0 - 1000);
  assert.deepEqual(after.config.lastReload, { at: after.config.loadedAt, ok: true, problemCount: 0, problems: [] });
  assert.doesNotMatch(formatStatus(after), /WARNING: config reload/);
  assert.doesNotMatch((await d.api('GET', '/')).text, /RELOAD REFUSED/);
});

/** The probed targets ("<check>@<address>") that have probe series in /metrics, and the checks that have latency series. */
async function probeSeriesTargets(): Promise<string[]> {
  const m = parsePrometheus((await d.api('GET', '/metrics')).text);
  return [...new Set(m.filter((s) => s.name.startsWith('failoverd_probes_total')).map((s) => s.labels.target!))].sort();
}
async function latencySeriesChecks(): Promise<string[]> {
  const m = parsePrometheus((await d.api('GET', '/metrics')).text);
  return [...new Set(m.filter((s) => s.name.startsWith('failoverd_probe_duration_seconds')).map((s) => s.labels.check!))].sort();
}

test('SIGHUP applies a good config too; a removed target loses its drain (logged) and its probe series; listen changes need a restart', async () => {
  assert.deepEqual(await probeSeriesTargets(), ['api@127.0.0.3', 'web@127.0.0.1', 'web@127.0.0.2']);
  assert.deepEqual(await latencySeriesChecks(), ['api', 'web']);
  dir.write(config(`  - name: www.example.test\n    type: A\n    targets: [{ address: 127.0.0.1, check: web }]\n`).replace('admin: { listen: "127.0.0.1:0"', 'admin: { listen: "127.0.0.1:1"'));
  d.proc.child.kill('SIGHUP');
  const done = await d.proc.waitForLog((l) => l.msg === 'config reloaded' && Array.isArray(l.recordSetsRemoved) && (l.recordSetsRemoved as string[]).includes('api.example.test/A'), 5000);
  assert.deepEqual(done.overridesDropped, ['www.example.test/A/127.0.0.2']);
  assert.deepEqual(done.probesRemoved, ['web@127.0.0.2', 'api@127.0.0.3']);
  await d.proc.waitForLog((l) => l.msg === 'dropped the override of a target that is no longer configured' && l.target === 'www.example.test/A/127.0.0.2');
  await d.proc.waitForLog((l) => l.msg === 'admin.listen changed: needs a restart (the running value stays until then)' && l.key === 'admin.listen' && l.level === 40);
  await d.waitForAnswer('api.example.test', ['ENOTFOUND'], 2000);
  assert.deepEqual(await d.answer('www.example.test'), ['127.0.0.1']);
  const s = (await d.api('GET', '/v1/status')).body;
  assert.deepEqual(s.overrides, []);
  assert.deepEqual(s.targets.map((t: any) => t.id), ['www.example.test/A/127.0.0.1']);
  assert.deepEqual(await probeSeriesTargets(), ['web@127.0.0.1'], 'no probe series of removed targets');
  assert.deepEqual(await latencySeriesChecks(), ['web'], 'no latency series of a check no target uses any more');
  // The admin API still listens where it did.
  assert.equal((await d.api('GET', '/healthz')).status, 200);
});

test('a reload requested during a reload reads the file again after it: the second caller gets the edit', async () => {
  // The config file becomes a FIFO, so the daemon's read of it waits until the
  // test writes: the first reload is held in its read, with no sleep, while
  // the second request arrives; each read gets what the test writes then.
  const config1 = config(WWW(30));
  const edited = config(WWW(30) + `  - name: api.example.test\n    type: A\n    targets: [{ address: 127.0.0.3, check: api }]\n`);
  unlinkSync(dir.config);
  execFileSync('mkfifo', [dir.config]);
  try {
    const first = d.api('POST', '/v1/reload');
    const read1 = await openFifoForWriting(dir.config); // returns once the daemon opened the file: the first reload is reading it
    const second = d.api('POST', '/v1/reload');
    const third = d.api('POST', '/v1/reload');
    await d.proc.waitForLog((l) => l.msg === 'reload requested while a reload runs: the config is read again after it', 5000);
    await read1.writeFile(config1);
    await read1.close();
    const r1 = await first;
    assert.equal(r1.status, 200, JSON.stringify(r1.body));
    assert.deepEqual(r1.body.recordSetsAdded, []);
    // The file is edited after the first read: the second read sees the edit.
    const read2 = await openFifoForWriting(dir.config);
    await read2.writeFile(edited);
    await read2.close();
    const [r2, r3] = await Promise.all([second, third]);
    assert.equal(r2.status, 200, JSON.stringify(r2.body));
    assert.deepEqual(r2.body.recordSetsAdded, ['api.example.test/A']);
    assert.deepEqual(r3.body, r2.body, 'requests that arrived during the same reload share the read after it');
    await d.waitForAnswer('api.example.test', ['127.0.0.3'], 3000);
    assert.equal(d.proc.logs.filter((l) => l.msg === 'reload requested while a reload runs: the config is read again after it').length, 1);
  } finally {
    unlinkSync(dir.config);
    dir.write(edited);
  }
});

/**
 * Opens a FIFO for writing: resolves once a reader (the daemon) opened it.
 * After `ms` without one, the test opens it for reading itself, which
 * releases the pending open (it would hold the test process), and fails.
 */
async function openFifoForWriting(path: string, ms = 5000): Promise<FileHandle> {
  const pending = open(path, 'w');
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`nobody opened ${path} for reading within ${ms} ms`)), ms)));
  try {
    return await Promise.race([pending, timeout]);
  } catch (err) {
    const reader = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
    await (await pending).close();
    await reader.close();
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

const SECRET = Buffer.from('reload-test-secret-0123456789ab').toString('base64');

/** dig AXFR of example.test: the zone's records, or [] when the transfer failed (REFUSED). */
async function axfr(extra: string[] = []): Promise<string[]> {
  const { stdout } = await promisify(execFile)('dig', ['@127.0.0.1', '-p', String(d.dnsPort), 'example.test', 'AXFR', '+time=3', '+tries=1', ...extra], { timeout: 15_000 });
  if (/Transfer failed/.test(stdout)) return [];
  return stdout.split('\n').filter((l) => l && !l.startsWith(';') && !/\sTSIG\s/.test(l));
}

test('transfer.allow, tsig and secondaries are applied by a reload (dig AXFR before and after); a dns change is named as needing a restart', async (t) => {
  if (!needTool(t, 'dig')) return;
  const reload = async (extra: string) => {
    dir.write(config(WWW(30), extra));
    const r = await d.api('POST', '/v1/reload');
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body;
  };
  await reload('');
  assert.deepEqual(await axfr(), [], 'no transfer.allow: refused');

  // A secondary listening for NOTIFY, added with the allow list.
  const secondary = createSocket('udp4');
  t.after(() => secondary.close());
  const notified = new Promise<Buffer>((resolve) => secondary.on('message', (m) => ((m[2]! >> 3) & 0xf) === 4 && resolve(m)));
  await new Promise<void>((r) => secondary.bind(0, '127.0.0.1', r));
  const added = await reload(`transfer: { allow: ["127.0.0.1/32"] }\nsecondaries:\n  - { address: "127.0.0.1:${secondary.address().port}", zones: [example.test] }\n`);
  assert.deepEqual(added.needsRestart, []);
  const zone = await axfr();
  assert.ok(zone.some((l) => /^example\.test\.\s+\d+\s+IN\s+SOA\s/.test(l)) && zone.length > 2, zone.join('\n'));
  const notify = await Promise.race([notified, new Promise<undefined>((r) => void notified.finally(clearTimeout.bind(null, setTimeout(r, 5000))))]);
  assert.ok(notify, 'the secondary added by the reload got no NOTIFY within 5 s');

  // The allow list removed, a TSIG key added, and dns.listen changed: unsigned refused, signed served; dns.listen waits for a restart.
  const keyed = await reload(`tsig:\n  xfr-key: { secret: "${SECRET}" }\n`);
  assert.deepEqual(keyed.needsRestart, []);
  assert.deepEqual(await axfr(), [], 'allow removed: refused again');
  assert.ok((await axfr(['-y', `hmac-sha256:xfr-key:${SECRET}`])).length > 2, 'signed with the new key: served');

  dir.write(config(WWW(30)).replace('dns: { listen: ["127.0.0.1:0"] }', 'dns: { listen: ["127.0.0.1:0", "127.0.0.1:1"] }'));
  const since = d.proc.logs.length;
  const r = await d.api('POST', '/v1/reload');
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(r.body.needsRestart.map((x: { key: string }) => x.key), ['dns.listen']);
  assert.match(r.body.needsRestart[0].why, /opened once, at start/);
  assert.deepEqual(r.body.warnings, ['dns.listen changed: needs a restart (the running value stays until then)']);
  await d.proc.waitForLog((l) => l.level === 40 && l.key === 'dns.listen' && l.msg === r.body.warnings[0], 2000, since);
  assert.deepEqual(await axfr(['-y', `hmac-sha256:xfr-key:${SECRET}`]), [], 'every key removed: refused');
  assert.deepEqual(await d.answer('www.example.test'), ['127.0.0.1'], 'DNS still served where it was');
});
