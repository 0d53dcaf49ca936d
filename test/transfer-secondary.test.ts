/**
 * failoverd as the hidden primary of a real secondary: the daemon from the
 * CLI with a failover record set on killable HTTP backends, NSD on a loopback
 * port transferring example.test from it. A killed primary backend must
 * reach the secondary's answers by NOTIFY (the SOA refresh is an hour),
 * within 2 s. Then the same with TSIG required, and IXFR/AXFR edge cases
 * read with dig and raw packets.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, test, type TestContext } from 'node:test';
import { httpBackendsOnOnePort, type Backend } from './helpers/backends.ts';
import { DaemonProcess } from './helpers/cli.ts';
import { dig } from './helpers/dig.ts';
import { EXAMPLE_ZONE_FILE } from './helpers/dns-fixture.ts';
import { startNsdSecondary, type NsdSecondary } from './helpers/nsd-secondary.ts';
import { freePort } from './helpers/ports.ts';
import { buildQuery, flagsOf, rcodeOf, tcpExchange, udpExchange } from './helpers/raw-dns.ts';
import { needTool } from './helpers/tools.ts';

const run = promisify(execFile);
const SECRET = 'dHJhbnNmZXIta2V5LXNlY3JldC1mb3ItdGVzdHMtMzI=';
const WRONG = 'c29tZS1vdGhlci1zZWNyZXQtb2YtdGhlLXNhbWUtc2l6ZQ==';
const ZONE_RECORDS = 62; // AXFR of zones/example.test.zone + www: 60 records between two SOAs

const dir = mkdtempSync(join(tmpdir(), 'failoverd-xfr-'));
let backends: Backend[] = [];
let daemon: DaemonProcess | undefined;
let nsd: NsdSecondary | undefined;

before(async () => {
  backends = await httpBackendsOnOnePort(['127.0.0.21', '127.0.0.22']);
  mkdirSync(join(dir, 'zones'));
  copyFileSync(EXAMPLE_ZONE_FILE, join(dir, 'zones', 'example.test.zone'));
});

after(async () => {
  await nsd?.stop();
  await daemon?.stop();
  for (const b of backends) await b.kill();
  rmSync(dir, { recursive: true, force: true });
});

function tools(t: TestContext): boolean {
  return needTool(t, 'nsd') && needTool(t, 'dig', 'bind9-dnsutils');
}

/** Starts the daemon with these sections added; returns its DNS port. */
async function startDaemon(name: string, transferYaml: string): Promise<number> {
  const port = backends[0]!.port;
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    `dns: { listen: ["127.0.0.1:0"] }
zones: zones
admin: { listen: "127.0.0.1:0" }
state: { file: ${name}-state.json }
log: { level: debug }
startupTimeout: 5s
checks:
  web: { type: http, port: ${port}, path: /healthz, interval: 1s, fastInterval: 100ms, timeout: 500ms, rise: 2, fall: 2 }
records:
  - name: www.example.test
    type: A
    ttl: 30
    targets: [{ address: 127.0.0.21, check: web }, { address: 127.0.0.22, check: web }]
${transferYaml}`,
  );
  daemon = new DaemonProcess(['run', '--config', file]);
  const serving = await daemon.waitForLog((l) => l.msg === 'serving DNS', 10_000);
  return (serving.listen as Array<{ port: number }>)[0]!.port;
}

async function stopAll(): Promise<void> {
  await nsd?.stop();
  nsd = undefined;
  await daemon?.stop();
  daemon = undefined;
}

async function serialAt(port: number): Promise<number> {
  const r = await dig(port, 'example.test', 'SOA');
  return Number(r.answer[0]!.split(' ')[6]);
}

/** Polls the secondary every 20 ms until www answers `want`; returns when it did (ms since `since`). */
async function waitForSecondary(want: string, since: number, timeoutMs: number): Promise<number> {
  let last = '';
  while (Date.now() - since < timeoutMs) {
    try {
      const r = await nsd!.query('www.example.test', 'A');
      last = r.answer.map((a) => a.split(' ')[4]).join(',') || r.status;
      if (last === want) return Date.now() - since;
    } catch (err) {
      last = String(err);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`the secondary still answers ${last} after ${timeoutMs}ms, wanted ${want}\n${nsd!.log().slice(-3000)}`);
}

async function digXfr(port: number, args: string[]): Promise<string> {
  const { stdout } = await run('dig', ['@127.0.0.1', '-p', String(port), 'example.test', ...args, '+time=3', '+tries=1'], { timeout: 15_000 });
  return stdout;
}

const records = (out: string): string[] => out.split('\n').filter((l) => l && !l.startsWith(';')).map((l) => l.replace(/\s+/g, ' ').trim());

test('NSD transfers example.test; a killed primary reaches it by NOTIFY within 2 s', async (t) => {
  if (!tools(t)) return;
  const nsdPort = await freePort();
  const port = await startDaemon('plain', `secondaries:\n  - { address: "127.0.0.1:${nsdPort}", zones: [example.test] }\ntransfer:\n  allow: ["127.0.0.1/32"]\n`);
  nsd = await startNsdSecondary({ port: nsdPort, zone: 'example.test', primaryPort: port });
  await waitForSecondary('127.0.0.21', Date.now(), 10_000);
  const serial0 = await serialAt(port);
  assert.equal(await serialAt(nsdPort), serial0, 'the secondary holds the primary serial');
  const first = await daemon!.waitForLog((l) => l.msg === 'zone transfer' && l.zone === 'example.test');
  assert.equal(first.kind, 'full');
  assert.equal(first.records, ZONE_RECORDS);

  const killedAt = Date.now();
  await backends[0]!.kill();
  const took = await waitForSecondary('127.0.0.22', killedAt, 2000);
  const transition = await daemon!.waitForLog((l) => l.msg === 'transition' && l.recordSet === 'www.example.test/A' && l.to === '127.0.0.22');
  const serial1 = await serialAt(port);
  assert.equal(serial1, serial0 + 1);
  assert.equal(await serialAt(nsdPort), serial1);
  const ack = await daemon!.waitForLog((l) => l.msg === 'NOTIFY acknowledged' && l.serial === serial1, 2000);
  assert.equal(ack.zone, 'example.test');
  assert.equal(ack.secondary, `127.0.0.1:${nsdPort}`);
  // The admin API and the status page show NSD's answer.
  const admin = `http://127.0.0.1:${((await daemon!.waitForLog((l) => l.msg === 'admin API listening')).listen as { port: number }).port}`;
  const status = (await (await fetch(`${admin}/v1/status`)).json()) as { secondaries: Array<{ secondary: string; zone: string; lastNotify: { outcome: string; rcode: string; serial: number } | null }> };
  assert.deepEqual(
    status.secondaries.map((s) => ({ secondary: s.secondary, zone: s.zone, outcome: s.lastNotify?.outcome, rcode: s.lastNotify?.rcode, serial: s.lastNotify?.serial })),
    [{ secondary: `127.0.0.1:${nsdPort}`, zone: 'example.test', outcome: 'acknowledged', rcode: 'NOERROR', serial: serial1 }],
  );
  assert.match(await (await fetch(`${admin}/`)).text(), new RegExp(`127\\.0\\.0\\.1:${nsdPort}</th><td data-label="zone">example\\.test</td><td data-label="last answer"><span class="badge b-ok">ACKNOWLEDGED</span> NOERROR serial ${serial1}`));
  // NSD asked for the change as an IXFR from the serial it held: one diff.
  const xfr = await daemon!.waitForLog((l) => l.msg === 'zone transfer' && l.serial === serial1);
  assert.equal(xfr.qtype, 'IXFR');
  assert.equal(xfr.kind, 'incremental');
  assert.equal(xfr.clientSerial, serial0);
  assert.match(nsd!.log(), /notify/i, 'NSD logged the NOTIFY it got');
  const at = (l: Record<string, unknown>) => Date.parse(String(l.time)) - killedAt;
  t.diagnostic(`primary killed → failoverd switches after ~${at(transition)} ms, NOTIFY acknowledged at ~${at(ack)} ms, IXFR served at ~${at(xfr)} ms; NSD answers the secondary after ${took} ms`);

  // IXFR against failoverd: current, in the journal, too old.
  const current = records(await digXfr(port, [`IXFR=${serial1}`]));
  assert.deepEqual(current, [`example.test. 3600 IN SOA ns1.example.test. hostmaster.example.test. ${serial1} 3600 600 1209600 300`]);
  const soa = (s: number) => `example.test. 3600 IN SOA ns1.example.test. hostmaster.example.test. ${s} 3600 600 1209600 300`;
  const incremental = records(await digXfr(port, [`IXFR=${serial0}`]));
  assert.deepEqual(incremental, [soa(serial1), soa(serial0), 'www.example.test. 30 IN A 127.0.0.21', soa(serial1), 'www.example.test. 30 IN A 127.0.0.22', soa(serial1)]);
  const old = records(await digXfr(port, [`IXFR=${serial0 - 5}`]));
  assert.equal(old.length, ZONE_RECORDS);
  assert.equal(old[0], soa(serial1));
  assert.equal(old.at(-1), soa(serial1));
  assert.ok(old.includes('www.example.test. 30 IN A 127.0.0.22'));
  // Over UDP: the SOA alone when current; TC (and the SOA) otherwise.
  const udpCurrent = records(await digXfr(port, [`IXFR=${serial1}`, '+notcp']));
  assert.deepEqual(udpCurrent, [soa(serial1)]);
  const udpBehind = (await udpExchange(port, ixfrQuery(serial0)))!;
  assert.equal(rcodeOf(udpBehind), 0);
  assert.equal(flagsOf(udpBehind).tc, true);
  assert.equal(udpBehind.readUInt16BE(6), 1, 'one answer record: the current SOA');
  assert.equal(udpBehind.readUInt32BE(udpBehind.length - 20), serial1);
  // AXFR over UDP: NOTIMP, as NSD; AXFR of a name that is not a zone: NOTAUTH.
  assert.equal(rcodeOf((await udpExchange(port, buildQuery('example.test', 252)))!), 4);
  assert.equal(rcodeOf((await tcpExchange(port, [buildQuery('www.example.test', 252)], 1))[0]!), 9);
  // An incoming NOTIFY: failoverd is the primary: REFUSED.
  assert.equal(rcodeOf((await udpExchange(port, buildQuery('example.test', 6, { flags: 0x2000 })))!), 5);
  await backends[0]!.revive();
  await stopAll();
});

test('TSIG required: the secondary with the key transfers; no key or a wrong one is refused', async (t) => {
  if (!tools(t)) return;
  await stopAll();
  await backends[0]!.revive();
  const nsdPort = await freePort();
  const port = await startDaemon(
    'tsig',
    `secondaries:\n  - { address: "127.0.0.1:${nsdPort}", zones: [example.test], tsig: transfer-key }\ntsig:\n  transfer-key: { algorithm: hmac-sha256, secret: "${SECRET}" }\n`,
  );
  await waitFor(() => daemon!.logs.some((l) => l.target === 'web@127.0.0.21' && l.to === 'UP'), 5000);
  nsd = await startNsdSecondary({ port: nsdPort, zone: 'example.test', primaryPort: port, key: { name: 'transfer-key', algorithm: 'hmac-sha256', secret: SECRET } });
  await waitForSecondary('127.0.0.21', Date.now(), 10_000);
  const full = await daemon!.waitForLog((l) => l.msg === 'zone transfer' && l.key === 'transfer-key');
  assert.equal(full.client, '127.0.0.1');

  // A change reaches it by a signed NOTIFY, acknowledged with a valid signature.
  const killedAt = Date.now();
  await backends[0]!.kill();
  const took = await waitForSecondary('127.0.0.22', killedAt, 2000);
  const serial = await serialAt(port);
  await daemon!.waitForLog((l) => l.msg === 'NOTIFY acknowledged' && l.serial === serial, 2000);
  assert.ok(!daemon!.logs.some((l) => l.msg === 'NOTIFY answer failed TSIG verification'));
  t.diagnostic(`with TSIG: primary killed → NSD answers after ${took} ms`);

  // No key: not in transfer.allow (nobody by default): REFUSED.
  const [unsigned] = await tcpExchange(port, [buildQuery('example.test', 252)], 1);
  assert.equal(rcodeOf(unsigned!), 5);
  const noKey = await digXfr(port, ['AXFR']);
  assert.match(noKey, /Transfer failed/);
  assert.equal(records(noKey).length, 0);
  // The right key: the whole zone, every message signed (dig verifies them).
  const good = await digXfr(port, ['AXFR', '-y', `hmac-sha256:transfer-key:${SECRET}`]);
  assert.equal(records(good).filter((l) => !l.includes(' TSIG ')).length, ZONE_RECORDS);
  assert.doesNotMatch(good, /verify|failed/i);
  // A wrong secret: NOTAUTH/BADSIG; an unknown key: NOTAUTH/BADKEY; nothing of the zone either way.
  const badSig = await digXfr(port, ['AXFR', '-y', `hmac-sha256:transfer-key:${WRONG}`]);
  assert.match(badSig, /TSIG\s+hmac-sha256\. \d+ 300 0 \d+ BADSIG 0/);
  assert.match(badSig, /Transfer failed/);
  assert.ok(!records(badSig).some((l) => l.includes(' SOA ')));
  const badKey = await digXfr(port, ['AXFR', '-y', `hmac-sha256:other-key:${SECRET}`]);
  assert.match(badKey, /BADKEY/);
  assert.ok(!records(badKey).some((l) => l.includes(' SOA ')));
  // A signed ordinary query gets a signed answer (BIND and Knot sign their SOA checks).
  const soa = await digXfr(port, ['SOA', '-y', `hmac-sha256:transfer-key:${SECRET}`]);
  assert.match(soa, /status: NOERROR/);
  assert.match(soa, /TSIG PSEUDOSECTION:\ntransfer-key\.\s+0\s+ANY\s+TSIG\s+hmac-sha256\. \d+ 300 32 \S+ \d+ NOERROR 0/);
  // The secret is in no log line.
  const logText = JSON.stringify(daemon!.logs);
  assert.ok(!logText.includes(SECRET), 'secret in the logs');
  assert.ok(logText.includes('transfer-key'));
  await backends[0]!.revive();
  await stopAll();
});

/** An IXFR query for example.test from `serial`: the client's SOA in the authority section (RFC 1995 §3). */
function ixfrQuery(serial: number): Buffer {
  const q = buildQuery('example.test', 251);
  q.writeUInt16BE(1, 8);
  const soa = Buffer.alloc(2 + 2 + 2 + 4 + 2 + 2 + 2 + 20);
  let o = 0;
  o = soa.writeUInt16BE(0xc00c, o); // the question's name
  o = soa.writeUInt16BE(6, o);
  o = soa.writeUInt16BE(1, o);
  o = soa.writeUInt32BE(0, o);
  o = soa.writeUInt16BE(2 + 2 + 20, o);
  o = soa.writeUInt16BE(0xc00c, o);
  o = soa.writeUInt16BE(0xc00c, o);
  soa.writeUInt32BE(serial, o);
  return Buffer.concat([q, soa]);
}

async function waitFor(cond: () => boolean, timeoutMs: number): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > timeoutMs) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
