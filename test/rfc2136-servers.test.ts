/**
 * The RFC 2136 sink end to end against three real authoritative servers,
 * table-driven: Knot (knotd), BIND (named) and PowerDNS (pdns_server with
 * sqlite3), each started once by the test on a loopback port with the
 * server-side config docs/configuration.md shows. A daemon with HTTP
 * backends on 127.0.0.1/127.0.0.2 publishes www and api.example.test to it;
 * answers are read from the server with dig:
 *  - a killed primary → the server answers the secondary;
 *  - a manual failback hold keeps the secondary, the failback reaches it;
 *  - a drain and undrain reach it;
 *  - a record edited by hand with nsupdate is not overwritten, and the
 *    failed prerequisite (NXRRSET) and the refusal show in /v1/status,
 *    the metrics, `failoverd status` and the status page;
 *  - the server stopped and started again → converged; records owned by
 *    others (no marker, another owner's marker) never touched;
 *  - a wrong secret shows BADSIG in /v1/status and the metrics of a daemon
 *    started with it, an unknown key name BADKEY in the status of a sink in
 *    this process (PowerDNS answers both REFUSED, unsigned: that and a hint
 *    show).
 * Then Knot in mode primary with an NSD secondary: NOTIFY carries the change
 * (NSD logs Knot's notify of the serial with the new address); and the CLI
 * (failoverd rfc2136 plan|apply) as a process against Knot.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { describe, it, type TestContext } from 'node:test';
import { pino } from 'pino';
import { TsigSecret } from '../src/config/transfer.ts';
import { Rfc2136Sink } from '../src/rfc2136/sink.ts';
import { promisify } from 'node:util';
import { AdminDaemon, metric, parsePrometheus, TestDir, until } from './helpers/admin-daemon.ts';
import { runCli } from './helpers/cli.ts';
import { httpBackendsOnOnePort } from './helpers/backends.ts';
import { dig } from './helpers/dig.ts';
import { startNsdSecondary } from './helpers/nsd-secondary.ts';
import { freePort } from './helpers/ports.ts';
import { needTool } from './helpers/tools.ts';
import { startUpdateServer, UPDATE_SERVER_TOOLS, type UpdateServer, type UpdateServerKind } from './helpers/update-servers.ts';
import { systemClock } from '../src/clock.ts';

const run = promisify(execFile);

const UPDATE_SECRET = Buffer.from('failoverd-rfc2136-test-update-k!').toString('base64');
const READ_SECRET = Buffer.from('failoverd-rfc2136-test-read-key!').toString('base64');
const WRONG_SECRET = Buffer.from('not-the-secret-the-server-knows!').toString('base64');
const UPDATE_KEY = { name: 'failoverd-update', algorithm: 'hmac-sha256', secret: UPDATE_SECRET };
const READ_KEY = { name: 'failoverd-read', algorithm: 'hmac-sha256', secret: READ_SECRET };

/** The zone on the server: `other` belongs to nobody failoverd knows, `shared` to another failoverd owner. */
const ZONE_TEXT = `$ORIGIN example.test.
$TTL 300
@ SOA ns1.example.test. hostmaster.example.test. 1 3600 600 1209600 300
@ NS ns1
ns1 A 127.0.0.53
other A 192.0.2.50
shared A 192.0.2.60
_failoverd.shared TXT "heritage=failoverd,owner=someone-else,type=A,sum=0123456789abcdef"
`;

/**
 * A killed backend is refused at once (fall: 3 probes 100 ms apart, within 2.2 s of the kill); a live one gets
 * 1.9 s to answer, and only 3 in a row make it DOWN, so three daemons and three servers at once on a busy machine
 * do not flap (a flap would undo the failback hold). With 900 ms and fall 2 the secondary went DOWN under load
 * (`stress-ng --cpu 2` beside), its probe answered in 907 ms.
 */
const CHECK = 'interval: 2s, fastInterval: 100ms, timeout: 1900ms, rise: 2, fall: 3, watch: false';

function daemonConfig(backendPort: number, servers: number[], o: { secret?: string; updateKey?: string; mode?: 'primary' | 'all' } = {}): string {
  return `dns: { listen: ["127.0.0.1:0"] }
admin: { listen: "127.0.0.1:0" }
zones: zones
log: { level: info }
checks:
  web: { type: http, port: ${backendPort}, ${CHECK} }
records:
  - name: www.example.test
    type: A
    ttl: 30
    failback: manual
    # A moment when every probe times out on a busy machine leaves the last published answer on the server (not the primary).
    whenAllDown: servfail
    targets: [{ address: 127.0.0.1, check: web }, { address: 127.0.0.2, check: web }]
  - name: api.example.test
    type: A
    ttl: 30
    targets: [{ address: 127.0.0.1, check: web }, { address: 127.0.0.2, check: web }]
  - name: shared.example.test
    type: A
    targets: [{ address: 127.0.0.1, check: web }, { address: 127.0.0.2, check: web }]
rfc2136:
  ownerId: failoverd-test
  timeout: 500ms
  reconcile: 2s
  keys:
    ${o.updateKey ?? 'failoverd-update'}: { algorithm: hmac-sha256, secretFile: update.key }
    failoverd-read: { secret: "${READ_SECRET}" }
  zones:
    - zone: example.test
      mode: ${o.mode ?? 'primary'}
      servers: [${servers.map((p) => `"127.0.0.1:${p}"`).join(', ')}]
      updateKey: ${o.updateKey ?? 'failoverd-update'}
      readKey: failoverd-read
`;
}

async function startDaemon(t: TestContext, yaml: string, secret = UPDATE_SECRET): Promise<AdminDaemon> {
  const dir = new TestDir();
  let daemon: AdminDaemon | undefined;
  // One hook: the daemon stops before its folder goes. Hooks run in the order registered and one that throws skips
  // the rest: removed first, the folder could meet a state write (ENOTEMPTY) and leave the daemon running.
  t.after(async () => {
    try {
      await daemon?.stop();
    } finally {
      dir.remove();
    }
  });
  dir.write(yaml);
  // The update secret from a file, as in production (BIND's key clause syntax).
  writeFileSync(`${dir.dir}/update.key`, `key "failoverd-update" {\n  algorithm hmac-sha256;\n  secret "${secret}";\n};\n`);
  daemon = await AdminDaemon.start(dir, {}, 45_000);
  return daemon;
}

/** What the server answers for name/type (dig against it). */
async function served(s: UpdateServer, name: string, type = 'A'): Promise<string[]> {
  const r = await dig(s.port, name, type);
  return r.answer.map((l) => l.split(' ').slice(4).join(' ')).sort();
}

async function servedBecomes(s: UpdateServer, name: string, want: string[], timeoutMs = 20_000): Promise<number> {
  const start = Date.now();
  await until(`${s.kind} answers ${name} ${want.join(',')}`, async () => JSON.stringify(await served(s, name)) === JSON.stringify(want), timeoutMs);
  return Date.now() - start;
}

/** The RFC 2136 target of /v1/status. */
async function target(d: AdminDaemon): Promise<any> {
  const st = await d.api('GET', '/v1/status');
  assert.equal(st.status, 200);
  return st.body.rfc2136.targets[0];
}

async function nsupdate(s: UpdateServer, lines: string[]): Promise<void> {
  const child = execFile('nsupdate', ['-y', `hmac-sha256:${UPDATE_KEY.name}:${UPDATE_SECRET}`]);
  child.stdin!.end([`server 127.0.0.1 ${s.port}`, 'zone example.test.', ...lines, 'send', ''].join('\n'));
  const code = await new Promise((r) => child.once('exit', r));
  assert.equal(code, 0, 'nsupdate succeeded');
}

/** An RFC 2136 sink in this process (owner failoverd-inproc unless told), writing `record` to the server. */
function inProcessSink(port: number, keyName: string, secret: string, record: string, o: { ownerId?: string; minOwned?: number } = {}): Rfc2136Sink {
  const key = (name: string, s: string) => ({ name, algorithm: 'hmac-sha256' as const, secret: new TsigSecret(Buffer.from(s, 'base64')) });
  return new Rfc2136Sink({ clock: systemClock,
    config: {
      ownerId: o.ownerId ?? 'failoverd-inproc',
      zones: [{ zone: 'example.test', mode: 'primary', servers: [{ host: '127.0.0.1', port }], updateKey: key(keyName, secret), readKey: key(READ_KEY.name, READ_SECRET), records: [record], adopt: [] }],
      reconcile: 60_000,
      timeout: 1000,
      markerTtl: 300,
      dryRun: false,
      guard: { maxChangeRatio: 0.3, minOwned: o.minOwned ?? 10 },
    },
    logger: pino({ level: 'silent' }),
  });
}

const override = (d: AdminDaemon, id: string, state: 'DOWN' | null) =>
  state ? d.api('POST', `/v1/targets/${id}/override`, { body: { state, reason: 'test' } }) : d.api('DELETE', `/v1/targets/${id}/override`);

const KINDS: UpdateServerKind[] = ['knot', 'bind', 'pdns'];

/**
 * What each server answers an UPDATE signed with a wrong secret and with a
 * key it does not know. Knot and BIND name the TSIG error (NOTAUTH with
 * BADSIG/BADKEY, RFC 8945 §5.2); PowerDNS 4.7 answers REFUSED, unsigned,
 * and logs the reason itself.
 */
const WRONG_KEY_RCODES: Record<UpdateServerKind, { secret: string; name: string }> = {
  knot: { secret: 'BADSIG', name: 'BADKEY' },
  bind: { secret: 'BADSIG', name: 'BADKEY' },
  pdns: { secret: 'REFUSED', name: 'REFUSED' },
};

// The three servers at once (each test waits mostly on probes and answers): one third of the time.
describe('RFC 2136 UPDATE to Knot, BIND and PowerDNS', { concurrency: true }, () => {
for (const kind of KINDS) {
  it(`${kind}: failover, failback hold, drain, a hand edit, a restart and wrong keys, read with dig from the server`, async (t) => {
    const tool = UPDATE_SERVER_TOOLS[kind];
    if (!needTool(t, tool.command, tool.pkg) || !needTool(t, 'dig', 'bind9-dnsutils') || !needTool(t, 'nsupdate', 'bind9-dnsutils')) return;
    if (kind === 'pdns' && (!needTool(t, 'pdnsutil', 'pdns-server') || !needTool(t, 'sqlite3', 'sqlite3'))) return;
    const server = await startUpdateServer(kind, { zone: 'example.test', zoneText: ZONE_TEXT, updateKey: UPDATE_KEY, readKey: READ_KEY });
    t.after(() => server.remove());
    const backends = await httpBackendsOnOnePort(['127.0.0.1', '127.0.0.2']);
    t.after(async () => {
      for (const b of backends) await b.kill();
    });
    const daemon = await startDaemon(t, daemonConfig(backends[0]!.port, [server.port]));

    await servedBecomes(server, 'www.example.test', ['127.0.0.1']);
    await servedBecomes(server, 'api.example.test', ['127.0.0.1']);
    assert.match((await served(server, '_failoverd.www.example.test', 'TXT'))[0]!, /^"heritage=failoverd,owner=failoverd-test,type=A,sum=[0-9a-f]{16}"$/);

    // A killed primary: the server answers the secondary. Back up: api fails back on its own, www is held
    // (failback: manual) until the operator's failback. A round in which the secondary's probe failed (a busy
    // machine) shows nothing of the hold: every target DOWN while the primary is away, and recovering from all
    // down answers the primary, as it should. Such a round is run again, up to 3.
    for (let round = 1; ; round++) {
      const since = daemon.proc.logs.length;
      await backends[0]!.kill();
      const ms = await servedBecomes(server, 'www.example.test', ['127.0.0.2']);
      t.diagnostic(`${kind}: killed primary → server answers the secondary within ${ms} ms (checks every 2 s here; the bench measures the speed)`);
      await servedBecomes(server, 'api.example.test', ['127.0.0.2']);
      await backends[0]!.revive();
      await servedBecomes(server, 'api.example.test', ['127.0.0.1']);
      const www = await served(server, 'www.example.test');
      const flap = daemon.proc.logs.slice(since).find((l) => l.msg === 'target health changed' && l.target === 'web@127.0.0.2' && l.to === 'DOWN');
      if (!flap || round === 3) {
        assert.deepEqual(www, ['127.0.0.2'], `the manual failback hold reaches the server${flap ? ` (the secondary's probe failed in each of ${round} rounds: ${String(flap.reason)})` : ''}`);
        break;
      }
      t.diagnostic(`${kind}: round ${round}: the secondary's probe failed (${String(flap.reason)}): the hold is checked in another round`);
      // Back on the primary for the next round: by the recovery, or by a failback if www is held.
      await until(`${kind}: www back on the primary`, async () => {
        if ((await served(server, 'www.example.test'))[0] === '127.0.0.1') return true;
        await daemon.api('POST', '/v1/records/www.example.test/failback');
        return false;
      }, 20_000);
    }
    // Refused (409) while the probes have not yet seen 127.0.0.1 rise again on a busy machine: asked again until it moves.
    await until(`${kind}: failback accepted`, async () => (await daemon.api('POST', '/v1/records/www.example.test/failback')).status === 200, 20_000);
    await servedBecomes(server, 'www.example.test', ['127.0.0.1']);

    // Drain and undrain (api fails back on its own; www, failback: manual, waits for the failback).
    assert.equal((await override(daemon, 'api.example.test/A/127.0.0.1', 'DOWN')).status, 200);
    await servedBecomes(server, 'api.example.test', ['127.0.0.2']);
    assert.equal((await override(daemon, 'api.example.test/A/127.0.0.1', null)).status, 200);
    await servedBecomes(server, 'api.example.test', ['127.0.0.1']);

    // A hand edit of api: the next UPDATE's prerequisite fails; the edit stays; status and metrics say so.
    await nsupdate(server, ['update delete api.example.test. A', 'update add api.example.test. 60 A 192.0.2.99']);
    assert.equal((await override(daemon, 'api.example.test/A/127.0.0.1', 'DOWN')).status, 200);
    const refused = await until(`${kind}: api refused as edited in /v1/status`, async () => {
      const tg = await target(daemon);
      return tg.refused.find((r: any) => r.name === 'api.example.test' && r.kind === 'edited') ? tg : undefined;
    }, 20_000);
    assert.equal(refused.inSync, false);
    const samples = parsePrometheus((await daemon.api('GET', '/metrics')).text);
    assert.equal(metric(samples, 'failoverd_rfc2136_refused_record_sets', { zone: 'example.test', server: `127.0.0.1:${server.port}`, kind: 'edited' }), 1);
    assert.equal(metric(samples, 'failoverd_rfc2136_in_sync', { zone: 'example.test', server: `127.0.0.1:${server.port}` }), 0);
    assert.deepEqual(await served(server, 'api.example.test'), ['192.0.2.99'], 'the hand edit is not overwritten');
    const status = await run(process.execPath, [new URL('../bin/failoverd.js', import.meta.url).pathname, 'status', '--admin', daemon.adminUrl]);
    assert.match(status.stdout, /RFC 2136 \(owner failoverd-test\)/);
    assert.match(status.stdout, /api\.example\.test A edited|NXRRSET/);
    // The status page: a row for this server, out of sync, the edited record set named.
    const page = (await daemon.api('GET', '/')).text;
    const row = page.slice(page.indexOf('<section class="rfc2136"'));
    assert.match(row, /RFC 2136 UPDATE <span class="badge b-degraded">OUT OF SYNC<\/span> <span class="muted">\(owner failoverd-test\)/);
    assert.match(row, new RegExp(`<th scope="row" data-label="server">127\\.0\\.0\\.1:${server.port}</th><td data-label="zone">example\\.test <span class="muted">\\(primary\\)</span></td><td data-label="state"><span class="badge [^"]+">OUT OF SYNC</span>`));
    assert.match(row, /api\.example\.test A <span class="reason">edited<\/span>/);

    // The server stopped: the read-back (every 2 s) fails and shows; a drain meanwhile lands once it is back.
    await server.stop();
    assert.equal((await override(daemon, 'www.example.test/A/127.0.0.1', 'DOWN')).status, 200);
    const down = await until(`${kind}: the stopped server shows in /v1/status`, async () => {
      const tg = await target(daemon);
      return tg.lastError ? tg : undefined;
    }, 20_000);
    assert.equal(down.lastError.code, 'RFC2136_UNREACHABLE', JSON.stringify(down.lastError));
    await server.start();
    await servedBecomes(server, 'www.example.test', ['127.0.0.2'], 20_000);
    await until(`${kind}: no error once converged`, async () => (await target(daemon)).lastError === null, 10_000);
    // Nothing owned by others touched.
    assert.deepEqual(await served(server, 'other.example.test'), ['192.0.2.50']);
    assert.deepEqual(await served(server, 'shared.example.test'), ['192.0.2.60']);
    assert.deepEqual(await served(server, '_failoverd.shared.example.test', 'TXT'), ['"heritage=failoverd,owner=someone-else,type=A,sum=0123456789abcdef"']);
    assert.deepEqual(await served(server, 'api.example.test'), ['192.0.2.99']);
    const tg = await target(daemon);
    assert.ok(tg.refused.some((r: any) => r.name === 'shared.example.test' && r.kind === 'foreign'), JSON.stringify(tg.refused));
    assert.ok(tg.refused.some((r: any) => r.name === 'api.example.test' && r.kind === 'edited'), JSON.stringify(tg.refused));
    await daemon.stop();
    // A daemon whose update.key holds a wrong secret, started now to run beside the in-process sink below (every
    // UPDATE it signs is refused, so it writes nothing); checked after it.
    const wrongStarting = startDaemon(t, daemonConfig(backends[0]!.port, [server.port]), WRONG_SECRET);
    wrongStarting.catch(() => undefined); // awaited below; a start that fails fails the test there

    // A hand edit between what failoverd wrote and its next UPDATE: the prerequisite fails with the server's
    // RCODE (NXRRSET), then the read-back names the record set edited; the edit stays. A sink in this process,
    // which reads back only when it fails, so the UPDATE meets the edit.
    {
      const sink = inProcessSink(server.port, UPDATE_KEY.name, UPDATE_SECRET, 'inproc.example.test');
      const inproc = (v: string) => [{ name: 'inproc.example.test', type: 'A' as const, ttl: 30, values: [v], targets: ['127.0.0.1', '127.0.0.2'] }];
      sink.update(inproc('127.0.0.1'));
      sink.start();
      t.after(() => sink.stop());
      await servedBecomes(server, 'inproc.example.test', ['127.0.0.1']);
      await nsupdate(server, ['update delete inproc.example.test. A', 'update add inproc.example.test. 60 A 192.0.2.98']);
      sink.update(inproc('127.0.0.2'));
      const failed = await until(`${kind}: the UPDATE over a hand edit fails`, () => sink.view().targets[0]!.lastError ?? undefined, 20_000);
      assert.equal(failed.rcode, 'NXRRSET', JSON.stringify(failed));
      assert.equal(failed.code, 'RFC2136_PREREQUISITE_FAILED');
      const edited = await until(`${kind}: then refused as edited`, () => sink.view().targets[0]!.refused.find((r) => r.kind === 'edited'), 20_000);
      assert.equal(edited.name, 'inproc.example.test');
      assert.deepEqual(await served(server, 'inproc.example.test'), ['192.0.2.98'], 'the hand edit is not overwritten');
      await sink.stop();
    }

    // The wrong secret: the server's answer (BADSIG; PowerDNS: REFUSED) in the daemon's /v1/status and metrics;
    // nothing written. It starts wanting www back on 127.0.0.1 (the drain was the first daemon's): an UPDATE at once.
    {
      const rcode = WRONG_KEY_RCODES[kind].secret;
      const wrong = await wrongStarting;
      const bad = await until(`${kind}: a wrong secret shows ${rcode} in /v1/status`, async () => (await target(wrong)).lastError ?? undefined, 20_000);
      assert.equal(bad.rcode, rcode, JSON.stringify(bad));
      assert.equal(bad.code, 'RFC2136_REFUSED');
      assert.equal((await target(wrong)).lastRcode, rcode);
      if (rcode === 'REFUSED') assert.match(bad.message, /not signed: the server may not know key/);
      const samples = parsePrometheus((await wrong.api('GET', '/metrics')).text);
      assert.ok((metric(samples, 'failoverd_rfc2136_updates_total', { zone: 'example.test', server: `127.0.0.1:${server.port}`, rcode }) ?? 0) >= 1, `an UPDATE counted ${rcode}`);
      await wrong.stop();
      assert.deepEqual(await served(server, 'www.example.test'), ['127.0.0.2'], 'nothing written with a wrong secret');
    }

    // A key the server does not know (BADKEY; PowerDNS: REFUSED), from a sink in this process (a third daemon costs
    // seconds): its status is what /v1/status shows, as above.
    {
      const rcode = WRONG_KEY_RCODES[kind].name;
      const sink = inProcessSink(server.port, 'failoverd-unknown', UPDATE_SECRET, 'wrongkey.example.test');
      sink.update([{ name: 'wrongkey.example.test', type: 'A', ttl: 30, values: ['127.0.0.1'], targets: ['127.0.0.1', '127.0.0.2'] }]);
      sink.start();
      const bad = await until(`${kind}: an unknown key name shows ${rcode}`, () => sink.view().targets[0]!.lastError ?? undefined, 20_000);
      await sink.stop();
      assert.equal(bad.rcode, rcode, JSON.stringify(bad));
      assert.equal(bad.code, 'RFC2136_REFUSED');
      assert.equal(sink.view().targets[0]!.lastRcode, rcode);
      if (rcode === 'REFUSED') assert.match(bad.message, /not signed: the server may not know key/);
      assert.deepEqual(await served(server, 'wrongkey.example.test'), [], 'nothing written with an unknown key');
    }
  });
}

/** A config for the CLI: the names given, each failing over between the two backends; the guard applies from 2 owned record sets. */
function cliConfig(backendPort: number, serverPort: number, names: string[]): string {
  return `zones: zones
checks:
  web: { type: http, port: ${backendPort}, ${CHECK} }
records:
${names.map((n) => `  - { name: ${n}.example.test, type: A, ttl: 30, targets: [{ address: 127.0.0.1, check: web }, { address: 127.0.0.2, check: web }] }\n`).join('')}rfc2136:
  ownerId: failoverd-cli
  guard: { minOwned: 2 }
  keys:
    failoverd-update: { secret: "${UPDATE_SECRET}" }
    failoverd-read: { secret: "${READ_SECRET}" }
  zones:
    - { zone: example.test, servers: ["127.0.0.1:${serverPort}"], updateKey: failoverd-update, readKey: failoverd-read }
`;
}

it('knot, through the CLI process: rfc2136 plan changes nothing, apply publishes; names that left the config are deleted, guarded (exit 1 until --force; failovers still go out meanwhile)', async (t) => {
  if (!needTool(t, 'knotd', 'knot') || !needTool(t, 'dig', 'bind9-dnsutils')) return;
  const server = await startUpdateServer('knot', { zone: 'example.test', zoneText: ZONE_TEXT, updateKey: UPDATE_KEY, readKey: READ_KEY });
  t.after(() => server.remove());
  const backends = await httpBackendsOnOnePort(['127.0.0.1', '127.0.0.2']);
  t.after(async () => {
    for (const b of backends) await b.kill();
  });
  const dir = new TestDir();
  t.after(() => dir.remove());
  const cli = async (args: string[], want: number) => {
    const r = await runCli(['rfc2136', ...args, '--config', dir.config], { timeoutMs: 60_000 });
    assert.equal(r.code, want, `failoverd rfc2136 ${args.join(' ')} exits ${want}\n${r.stdout}\n${r.stderr}`);
    return r.stdout;
  };
  const names = ['www', 'api', 'app', 'img'];
  dir.write(cliConfig(backends[0]!.port, server.port, names));

  const plan = JSON.parse(await cli(['plan', '--json'], 0));
  assert.equal(plan.length, 1);
  assert.equal(plan[0].server, `127.0.0.1:${server.port}`);
  assert.deepEqual(plan[0].plan.changes.map((c: any) => [c.name, c.action, c.to]).sort(), names.map((n) => [`${n}.example.test`, 'create', ['127.0.0.1']]).sort());
  assert.deepEqual(await served(server, 'www.example.test'), [], 'plan changed nothing');

  assert.match(await cli(['apply'], 0), /applied: the server answered NOERROR/);
  for (const n of names) assert.deepEqual(await served(server, `${n}.example.test`), ['127.0.0.1']);

  // api, app and img leave the config: 3 deletes of 4 owned record sets (75% > 30%): refused, exit 1, nothing deleted.
  dir.write(cliConfig(backends[0]!.port, server.port, ['www']));
  const blocked = await cli(['apply'], 1);
  assert.match(blocked, /DELETE api\.example\.test A - ttl 30 \(was 127\.0\.0\.1\): no longer in the config/);
  assert.match(blocked, /GUARD BLOCKED: the plan changes 3 of 4 owned record sets \(75% > 30%\); use --force/);
  assert.match(blocked, /FAILED PLAN_UNSAFE/);
  assert.deepEqual(await served(server, 'api.example.test'), ['127.0.0.1'], 'the guard sent nothing');

  // The daemon's sink meanwhile (same owner, same shrunk config): a failover of www still goes out by itself; the
  // deletions wait, and the guard's refusal shows (PLAN_UNSAFE).
  {
    const sink = inProcessSink(server.port, UPDATE_KEY.name, UPDATE_SECRET, 'www.example.test', { ownerId: 'failoverd-cli', minOwned: 2 });
    sink.update([{ name: 'www.example.test', type: 'A', ttl: 30, values: ['127.0.0.2'], targets: ['127.0.0.1', '127.0.0.2'] }]);
    sink.start();
    t.after(() => sink.stop());
    await servedBecomes(server, 'www.example.test', ['127.0.0.2']);
    const refused = await until('the guard refusal in the sink status', () => sink.view().targets[0]!.lastError ?? undefined, 20_000);
    assert.equal(refused.code, 'PLAN_UNSAFE', JSON.stringify(refused));
    assert.equal(sink.view().targets[0]!.inSync, false);
    await sink.stop();
    assert.deepEqual(await served(server, 'api.example.test'), ['127.0.0.1'], 'deletions held back');
  }

  const forced = await cli(['apply', '--force'], 0);
  assert.match(forced, /GUARD overridden/);
  assert.match(forced, /UPDATE www\.example\.test A 127\.0\.0\.1 ttl 30 \(was 127\.0\.0\.2\): answer changed/);
  for (const n of ['api', 'app', 'img']) {
    assert.deepEqual(await served(server, `${n}.example.test`), [], `${n} deleted`);
    assert.deepEqual(await served(server, `_failoverd.${n}.example.test`, 'TXT'), [], `${n}'s marker deleted`);
  }
  assert.deepEqual(await served(server, 'www.example.test'), ['127.0.0.1']);
  assert.deepEqual(await served(server, 'other.example.test'), ['192.0.2.50'], 'unmarked records untouched');
  assert.deepEqual(await served(server, 'shared.example.test'), ['192.0.2.60'], "another owner's records untouched");
});

it('knot, mode primary, with an NSD secondary: the secondary answers the new address after NOTIFY', async (t) => {
  if (!needTool(t, 'knotd', 'knot') || !needTool(t, 'nsd', 'nsd') || !needTool(t, 'dig', 'bind9-dnsutils')) return;
  const nsdPort = await freePort();
  const knot = await startUpdateServer('knot', { zone: 'example.test', zoneText: ZONE_TEXT, updateKey: UPDATE_KEY, readKey: READ_KEY, notify: { port: nsdPort } });
  t.after(() => knot.remove());
  const nsd = await startNsdSecondary({ port: nsdPort, zone: 'example.test', primaryPort: knot.port });
  t.after(() => nsd.stop());
  const backends = await httpBackendsOnOnePort(['127.0.0.1', '127.0.0.2']);
  t.after(async () => {
    for (const b of backends) await b.kill();
  });
  // The secondary is listed, but in mode primary only the first server is written to.
  const daemon = await startDaemon(t, daemonConfig(backends[0]!.port, [knot.port, nsdPort], { mode: 'primary' }));
  const secondaryAnswers = async (want: string) =>
    until(`nsd answers www ${want}`, async () => (await nsd.query('www.example.test')).answer.some((l) => l.endsWith(want)), 15_000);
  await secondaryAnswers('127.0.0.1');
  await backends[0]!.kill();
  await servedBecomes(knot, 'www.example.test', ['127.0.0.2']);
  const changedAt = Number((await dig(knot.port, 'example.test', 'SOA')).answer[0]!.split(/\s+/)[6]);
  await secondaryAnswers('127.0.0.2');
  // By NOTIFY (the zone's refresh is 3600 s): NSD logs Knot's notify of that serial (or a later one). Waited
  // for: the serial read above may be a later UPDATE's than the one NSD answers from, its NOTIFY still on the way.
  const notified = () => [...nsd.log().matchAll(/notify for example\.test\. from 127\.0\.0\.1 serial (\d+)/g)].map((m) => Number(m[1]));
  await until(`NSD logs a notify of serial ${changedAt} or later`, () => notified().some((n) => n >= changedAt), 10_000).catch((err: Error) => {
    throw new Error(`${err.message}: notified of ${notified().join(', ')}\n${nsd.log().slice(-2000)}`);
  });
  const st = await daemon.api('GET', '/v1/status');
  assert.equal(st.body.rfc2136.targets.length, 1, 'mode primary: one target, the primary');
  assert.equal(st.body.rfc2136.targets[0].server, `127.0.0.1:${knot.port}`);
});
});
