/**
 * Secondaries support, part by part: TSIG sign/verify (BADKEY, BADSIG,
 * BADTIME on a FakeClock), the ACL, the IXFR journal's bounds, AXFR split
 * into 64 KiB messages from the snapshot of the query, the NOTIFY sender's
 * retries and coalescing against a UDP socket on loopback, and the config
 * sections (secrets never printed).
 */
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { mkdirSync, mkdtempSync, copyFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { after, test, type TestContext } from 'node:test';
import { FakeClock } from './helpers/fake-clock.ts';
import { loadConfig } from '../src/config/load.ts';
import { Packet, parseRequest, type DnsRequest } from '../src/dns/dns2.ts';
import { readMessage } from '../src/dns/wire/reader.ts';
import { DnsServer } from '../src/dns/server.ts';
import { ProblemsError } from '../src/errors.ts';
import { silentLogger } from '../src/log.ts';
import { buildSnapshot, type DynamicRRset, type Snapshot } from '../src/records/snapshot.ts';
import type { ZoneFile } from '../src/dns-model/records.ts';
import { AddressAcl } from '../src/transfer/acl.ts';
import { TsigSecret, type TsigKey } from '../src/config/transfer.ts';
import { planIxfr } from '../src/transfer/ixfr.ts';
import { Journal } from '../src/transfer/journal.ts';
import { recordKey, zoneRecords } from '../src/transfer/zone-records.ts';
import { NotifySender } from '../src/transfer/notify.ts';
import { TransferResponder } from '../src/transfer/responder.ts';
import { readTsig, signRequest, TSIG_ERROR, TsigKeyring, TsigSigner, verifyResponse } from '../src/dns/wire/tsig.ts';
import { parseZoneText } from '../src/zones/parse.ts';
import { EXAMPLE_ZONE_FILE, exampleZone } from './helpers/dns-fixture.ts';
import { captureLog, type CapturedLog } from './helpers/log-capture.ts';
import { buildQuery } from './helpers/raw-dns.ts';
import { systemClock } from '../src/clock.ts';
import { Metrics } from '../src/admin/metrics.ts';
import { secondaryView } from '../src/admin/views.ts';
import { formatSecondaries } from '../src/cli/admin-commands.ts';

const KEY: TsigKey = { name: 'transfer-key', algorithm: 'hmac-sha256', secret: new TsigSecret(Buffer.from('0123456789abcdef0123456789abcdef')) };
const OTHER: TsigKey = { name: 'transfer-key', algorithm: 'hmac-sha256', secret: new TsigSecret(Buffer.from('fedcba9876543210fedcba9876543210')) };
const T0 = 1_800_000_000_000;

function www(address: string): DynamicRRset[] {
  return [{ name: 'www.example.test', type: 'A', ttl: 30, kind: 'values', values: [address] }];
}

function parse(buf: Buffer): DnsRequest {
  return parseRequest(buf);
}

/** The messages a DnsServer with a responder answers to `query` over TCP. */
function serve(snapshot: Snapshot, query: Buffer, opts: { client?: string; journal?: Journal; keys?: TsigKey[]; allow?: string[]; clock?: FakeClock } = {}): Buffer[] {
  const server = new DnsServer({ clock: systemClock, listen: [], logger: silentLogger });
  const clock = opts.clock ?? new FakeClock(T0);
  server.setTransferHandler(
    new TransferResponder({ keyring: new TsigKeyring(opts.keys ?? [KEY], () => clock.now()), acl: new AddressAcl(opts.allow ?? ['127.0.0.0/8']), journal: opts.journal ?? new Journal(), logger: silentLogger, pick: () => 0, nowMs: () => clock.now() }),
  );
  server.setSnapshot(snapshot);
  return server.answer(parse(query), 'tcp', { address: opts.client ?? '127.0.0.1', port: 5353 });
}

/** Answer records of a message as "owner type" plus the SOA serial, read with dns2. */
function answers(buf: Buffer): Array<{ name: string; type: number; serial?: number }> {
  return (Packet.parse(buf) as unknown as { answers: Array<{ name: string; type: number; serial?: number }> }).answers.map((a) => ({ name: a.name, type: a.type, serial: a.serial }));
}

test('TSIG: a signed request verifies; a changed byte is BADSIG, an unknown key BADKEY, a skewed clock BADTIME', () => {
  const clock = new FakeClock(T0);
  const ring = new TsigKeyring([KEY], () => clock.now());
  const { signed } = signRequest(buildQuery('example.test', 252, { id: 77 }), KEY, T0);
  const verify = (buf: Buffer) => {
    const msg = readMessage(buf)!;
    const t = readTsig(msg);
    assert.equal(t.kind, 'tsig');
    return ring.verify(msg, (t as { tsig: Parameters<TsigKeyring['verify']>[1] }).tsig);
  };
  assert.equal(verify(signed).kind, 'ok');
  const tampered = Buffer.from(signed);
  tampered[13] = tampered[13]! ^ 0x20; // a letter of the question changes case
  assert.deepEqual([verify(tampered).kind, (verify(tampered) as { error: number }).error], ['error', TSIG_ERROR.BADSIG]);
  const wrongSecret = signRequest(buildQuery('example.test', 252), OTHER, T0).signed;
  assert.equal((verify(wrongSecret) as { error: number }).error, TSIG_ERROR.BADSIG);
  const unknown = signRequest(buildQuery('example.test', 252), { ...KEY, name: 'nobody' }, T0).signed;
  assert.equal((verify(unknown) as { error: number }).error, TSIG_ERROR.BADKEY);
  const otherAlg = signRequest(buildQuery('example.test', 252), { ...KEY, algorithm: 'hmac-sha512' }, T0).signed;
  assert.equal((verify(otherAlg) as { error: number }).error, TSIG_ERROR.BADKEY);
  clock.advance(299_000);
  assert.equal(verify(signed).kind, 'ok', 'inside the 300 s fudge');
  clock.advance(2_000);
  const late = verify(signed) as { kind: string; error: number; key?: TsigKey };
  assert.deepEqual([late.kind, late.error, late.key?.name], ['error', TSIG_ERROR.BADTIME, 'transfer-key']);
});

test('TSIG: a response signed with TsigSigner verifies against the request MAC; with another secret it does not', () => {
  const { mac } = signRequest(buildQuery('example.test', 6, { id: 9 }), KEY, T0);
  const reply = buildQuery('example.test', 6, { id: 9, flags: 0xa400 });
  assert.equal(verifyResponse(new TsigSigner(KEY, mac, { nowMs: T0 }).sign(reply), KEY, mac, T0), 'ok');
  assert.equal(verifyResponse(new TsigSigner(OTHER, mac, { nowMs: T0 }).sign(reply), KEY, mac, T0), 'BADSIG');
  assert.equal(verifyResponse(reply, KEY, mac, T0), 'unsigned');
  assert.equal(verifyResponse(new TsigSigner(KEY, mac, { nowMs: T0 }).sign(reply), KEY, mac, T0 + 3_600_000), 'BADTIME');
});

test('ACL: CIDR blocks, single addresses, IPv6 and IPv4-mapped clients; nobody when empty', () => {
  const acl = new AddressAcl(['10.1.0.0/16', '192.0.2.7', '2001:db8::/33', '172.16.0.0/12']);
  assert.equal(acl.allows('10.1.200.3'), true);
  assert.equal(acl.allows('10.2.0.1'), false);
  assert.equal(acl.allows('192.0.2.7'), true);
  assert.equal(acl.allows('192.0.2.8'), false);
  assert.equal(acl.allows('::ffff:10.1.0.1'), true);
  assert.equal(acl.allows('2001:db8:7fff::1'), true);
  assert.equal(acl.allows('2001:db8:8000::1'), false);
  assert.equal(acl.allows('172.31.255.255'), true);
  assert.equal(acl.allows('172.32.0.0'), false);
  assert.equal(acl.allows('not-an-ip'), false);
  assert.equal(new AddressAcl([]).allows('127.0.0.1'), false);
  assert.equal(new AddressAcl(['0.0.0.0/0']).allows('203.0.113.1'), true);
});

test('journal: diffs chain from any kept serial; bounded to the last N changes, then IXFR falls back to the whole zone', () => {
  const zones = [exampleZone()];
  const journal = new Journal(3);
  let snap = buildSnapshot(zones, www('127.0.0.1'));
  journal.record(snap);
  const serials = [snap.zones[0]!.serial];
  for (let i = 2; i <= 6; i++) {
    snap = buildSnapshot(zones, www(`127.0.0.${i}`), snap);
    const changed = journal.record(snap);
    assert.deepEqual([...changed.keys()], ['example.test']);
    serials.push(snap.zones[0]!.serial);
  }
  // An unchanged snapshot changes nothing.
  const same = buildSnapshot(zones, www('127.0.0.6'), snap);
  assert.equal(journal.record(same).size, 0);
  assert.deepEqual(journal.serials('example.test'), serials.slice(2, 5));
  const zone = snap.zones[0]!;
  const plan = planIxfr(zone, serials[3]!, journal);
  assert.equal(plan.kind, 'incremental');
  assert.deepEqual(
    plan.records.map((r) => (r.data.type === 'SOA' ? `SOA ${r.data.serial}` : `${r.owner} ${(r.data as { address: string }).address}`)),
    [`SOA ${serials[5]}`, `SOA ${serials[3]}`, 'www.example.test 127.0.0.4', `SOA ${serials[4]}`, 'www.example.test 127.0.0.5', `SOA ${serials[4]}`, 'www.example.test 127.0.0.5', `SOA ${serials[5]}`, 'www.example.test 127.0.0.6', `SOA ${serials[5]}`],
  );
  assert.equal(planIxfr(zone, serials[1]!, journal).kind, 'full', 'dropped from the journal');
  assert.equal(planIxfr(zone, serials[5]!, journal).kind, 'current');
  assert.equal(planIxfr(zone, (serials[5]! + 10) >>> 0, journal).kind, 'current', 'a client ahead of us gets the SOA alone');
});

test('journal: an answer change over the same static data diffs the changed names only, with the same entries as a diff of every record', () => {
  const lines = ['$ORIGIN big.test.', '$TTL 300', '@ SOA ns1 host 1 3600 600 86400 300', '@ NS ns1', 'ns1 A 127.0.0.1', 'app TXT "static"'];
  for (let i = 0; i < 2000; i++) lines.push(`h${i} A 10.0.${i >> 8}.${i & 255}`);
  const zones = [parseZoneText(lines.join('\n') + '\n', { file: 'big.zone' })];
  const rrset = (name: string, values: string[], kind: DynamicRRset['kind'] = 'values', type: DynamicRRset['type'] = 'A'): DynamicRRset => ({ name, type, ttl: 30, kind, values });
  // New names (one below empty non-terminals), answers over static names (app TXT, h7 A), a servfail, names that leave.
  const steps: DynamicRRset[][] = [
    [rrset('www.big.test', ['127.0.0.1']), rrset('a.b.c.big.test', ['127.0.0.2'])],
    [rrset('www.big.test', ['127.0.0.3', '127.0.0.4']), rrset('a.b.c.big.test', ['127.0.0.2']), rrset('app.big.test', ['127.0.0.5'])],
    [rrset('www.big.test', [], 'servfail'), rrset('app.big.test', ['127.0.0.5'])],
    [rrset('www.big.test', ['127.0.0.1']), rrset('h7.big.test', ['::6'], 'values', 'AAAA')],
  ];
  const layered = new Journal();
  const flat = new Journal();
  // The same views with their nodes in one plain Map: the journal cannot tell which names changed and compares every record.
  const flatten = (s: Snapshot): Snapshot => ({ ...s, zones: s.zones.map((z) => ({ ...z, nodes: new Map(z.nodes) })) });
  let snap = buildSnapshot(zones, steps[0]!);
  layered.record(snap);
  flat.record(flatten(snap));
  const serials = [snap.zones[0]!.serial];
  for (const step of steps.slice(1)) {
    snap = buildSnapshot(zones, step, snap);
    layered.record(snap);
    flat.record(flatten(snap));
    serials.push(snap.zones[0]!.serial);
  }
  const entries = layered.changes('big.test', serials[0]!, serials.at(-1)!);
  assert.equal(entries?.length, 3);
  assert.deepEqual(entries, flat.changes('big.test', serials[0]!, serials.at(-1)!));
  const owners = (rrs: Array<{ owner: string }>) => rrs.map((r) => r.owner);
  assert.deepEqual([owners(entries![0]!.deleted), owners(entries![0]!.added)], [['www.big.test'], ['app.big.test', 'www.big.test', 'www.big.test']]);
  assert.deepEqual([owners(entries![1]!.deleted), owners(entries![1]!.added)], [['a.b.c.big.test', 'www.big.test', 'www.big.test'], []]);
  assert.deepEqual([owners(entries![2]!.deleted), owners(entries![2]!.added)], [['app.big.test'], ['h7.big.test', 'www.big.test']]);
});

test('journal: a reloaded zone file is diffed on the names whose records differ, with the entries of a diff of every record', () => {
  const zone = (serial: number, edit: (lines: string[]) => void) => {
    const lines = ['$ORIGIN big.test.', '$TTL 300', `@ SOA ns1 host ${serial} 3600 600 86400 300`, '@ NS ns1', 'ns1 A 127.0.0.1', 'txt TXT "a" "b"', 'mx MX 10 mail', 'multi A 10.9.0.1', 'multi A 10.9.0.2'];
    for (let i = 0; i < 500; i++) lines.push(`h${i} A 10.0.${i >> 8}.${i & 255}`);
    edit(lines);
    return parseZoneText(lines.join('\n') + '\n', { file: 'big.zone' });
  };
  const before = buildSnapshot([zone(1, () => {})], []);
  // A changed address, a changed TTL, a deleted and an added name, a changed TXT, records of one set in another order, a new type at a name.
  const after = buildSnapshot(
    [
      zone(2, (l) => {
        l[l.indexOf('h3 A 10.0.0.3')] = 'h3 A 10.0.0.99';
        l[l.indexOf('h4 A 10.0.0.4')] = 'h4 60 A 10.0.0.4';
        l.splice(l.indexOf('h5 A 10.0.0.5'), 1);
        l.push('new A 10.1.1.1', 'h6 TXT "six"');
        l[l.indexOf('txt TXT "a" "b"')] = 'txt TXT "a" "c"';
        l.splice(l.indexOf('multi A 10.9.0.1'), 2, 'multi A 10.9.0.2', 'multi A 10.9.0.1');
      }),
    ],
    [],
    before,
  );
  const journal = new Journal();
  journal.record(before);
  journal.record(after);
  const [entry] = journal.changes('big.test', before.zones[0]!.serial, after.zones[0]!.serial)!;
  // The reference: every record of both views, keyed.
  const old = new Map(zoneRecords(before.zones[0]!).map((r) => [recordKey(r), r]));
  const now = new Map(zoneRecords(after.zones[0]!).map((r) => [recordKey(r), r]));
  assert.deepEqual(entry!.deleted, [...old].filter(([k]) => !now.has(k)).map(([, r]) => r));
  assert.deepEqual(entry!.added, [...now].filter(([k]) => !old.has(k)).map(([, r]) => r));
  const shown = (rrs: Array<{ owner: string; ttl: number }>) => rrs.map((r) => `${r.owner} ${r.ttl}`);
  assert.deepEqual(shown(entry!.deleted), ['h3.big.test 300', 'h4.big.test 300', 'h5.big.test 300', 'txt.big.test 300']);
  assert.deepEqual(shown(entry!.added), ['h3.big.test 300', 'h4.big.test 60', 'h6.big.test 300', 'new.big.test 300', 'txt.big.test 300']);
});

test('AXFR of a zone over 64 KiB: several messages within 65535 bytes, SOA first and last, the question only in the first, each signed', () => {
  const lines = ['$ORIGIN big.test.', '$TTL 300', '@ SOA ns hostmaster 7 3600 600 86400 300', '@ NS ns', 'ns A 192.0.2.1'];
  for (let i = 0; i < 1500; i++) lines.push(`t${i} TXT "${'x'.repeat(200)}"`);
  const zone: ZoneFile = parseZoneText(lines.join('\n') + '\n', { file: 'big.test.zone' });
  const snap = buildSnapshot([zone], []);
  const { signed } = signRequest(buildQuery('big.test', 252, { id: 4242 }), KEY, T0);
  const msgs = serve(snap, signed, { client: '198.51.100.1', allow: [] });
  assert.ok(msgs.length >= 5, `${msgs.length} messages`);
  let total = 0;
  msgs.forEach((m, i) => {
    assert.ok(m.length <= 65535, `message ${i}: ${m.length} bytes`);
    assert.equal(m.readUInt16BE(0), 4242);
    assert.equal(m.readUInt16BE(4), i === 0 ? 1 : 0, 'QDCOUNT');
    const t = readTsig(readMessage(m)!);
    assert.equal(t.kind, 'tsig', `message ${i} signed`);
    total += m.readUInt16BE(6);
  });
  assert.equal(total, 1500 + 4);
  const first = answers(msgs[0]!);
  const last = answers(msgs.at(-1)!);
  assert.deepEqual([first[0]!.type, first[0]!.serial], [6, 7]);
  assert.deepEqual([last.at(-1)!.type, last.at(-1)!.serial], [6, 7]);
});

test('a transfer reads only the snapshot it was asked against, even when the journal already holds a newer one', () => {
  const zones = [exampleZone()];
  const journal = new Journal();
  const old = buildSnapshot(zones, www('127.0.0.1'));
  journal.record(old);
  const next = buildSnapshot(zones, www('127.0.0.2'), old);
  journal.record(next);
  const msgs = serve(old, buildQuery('example.test', 252), { journal });
  const recs = msgs.flatMap(answers);
  assert.equal(recs[0]!.serial, old.zones[0]!.serial);
  assert.equal(recs.at(-1)!.serial, old.zones[0]!.serial);
  const wwwRec = (Packet.parse(msgs[0]!) as unknown as { answers: Array<{ name: string; address?: string }> }).answers.find((a) => a.name === 'www.example.test');
  assert.equal(wwwRec?.address, '127.0.0.1');
});

test('ACL and TSIG at the responder: REFUSED outside transfer.allow, allowed with a key, NOTAUTH/BADTIME signed with our time', () => {
  const snap = buildSnapshot([exampleZone()], www('127.0.0.1'));
  const rcode = (m: Buffer) => m[3]! & 0xf;
  assert.equal(rcode(serve(snap, buildQuery('example.test', 252), { client: '10.0.0.9', allow: ['127.0.0.1/32'] })[0]!), 5);
  assert.equal(rcode(serve(snap, buildQuery('example.test', 252), { client: '127.0.0.1', allow: ['127.0.0.1/32'] })[0]!), 0);
  assert.equal(rcode(serve(snap, signRequest(buildQuery('example.test', 252), KEY, T0).signed, { client: '10.0.0.9', allow: [] })[0]!), 0);
  const clock = new FakeClock(T0 + 600_000);
  const [late] = serve(snap, signRequest(buildQuery('example.test', 252), KEY, T0).signed, { client: '10.0.0.9', allow: [], clock });
  assert.equal(rcode(late!), 9);
  const t = readTsig(readMessage(late!)!);
  assert.equal(t.kind, 'tsig');
  if (t.kind !== 'tsig') return;
  assert.equal(t.tsig.error, TSIG_ERROR.BADTIME);
  assert.equal(t.tsig.timeSigned, T0 / 1000, "the client's time signed");
  assert.equal(t.tsig.other.readUIntBE(0, 6), (T0 + 600_000) / 1000, 'our time in other data');
  assert.equal(t.tsig.mac.length, 32, 'signed');
  const [bad] = serve(snap, signRequest(buildQuery('example.test', 252), OTHER, T0).signed, { client: '127.0.0.1' });
  const tb = readTsig(readMessage(bad!)!);
  assert.equal(rcode(bad!), 9);
  assert.deepEqual(tb.kind === 'tsig' ? [tb.tsig.error, tb.tsig.mac.length] : [], [TSIG_ERROR.BADSIG, 0], 'BADSIG is unsigned');
  assert.equal(answers(bad!).length, 0);
});

interface FakeSecondary {
  sock: Socket;
  port: number;
  got: Array<{ msg: Buffer; from: { port: number; address: string } }>;
  /** Resolves once `n` packets have arrived (rejects after `ms`). */
  arrived(n: number, ms?: number): Promise<void>;
}

/** What the sender's status says beyond the status page: failoverd_secondary_notify_acknowledged by secondary, and `failoverd status`'s WARNING lines (from /v1/status's view of it). */
async function notifyLoudness(sender: NotifySender): Promise<{ acknowledged: Record<string, number>; warnings: string }> {
  const metrics = new Metrics({ decisions: () => [], ready: () => true, snapshot: () => undefined, maintenance: () => [], notifyQueue: () => 0, now: () => 0, secondaries: () => sender.status() });
  const values = (await metrics.registry.getSingleMetric('failoverd_secondary_notify_acknowledged')!.get()).values;
  return { acknowledged: Object.fromEntries(values.map((v) => [`${v.labels.secondary} ${v.labels.zone}`, v.value])), warnings: formatSecondaries(sender.status().map(secondaryView)) };
}

/** A UDP socket standing in for a secondary: collects NOTIFYs, answers when told. */
async function fakeSecondary(): Promise<FakeSecondary> {
  const sock = createSocket('udp4');
  const got: FakeSecondary['got'] = [];
  sock.on('message', (msg, from) => got.push({ msg, from }));
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  const arrived = (n: number, ms = 2000): Promise<void> =>
    got.length >= n
      ? Promise.resolve()
      : new Promise((resolve, reject) => {
          const timer = setTimeout(() => {
            sock.off('message', onMessage);
            reject(new Error(`${got.length} of ${n} packets arrived within ${ms} ms`));
          }, ms);
          const onMessage = (): void => {
            if (got.length < n) return;
            clearTimeout(timer);
            sock.off('message', onMessage);
            resolve();
          };
          sock.on('message', onMessage);
        });
  return { sock, port: sock.address().port, got, arrived };
}

/** The sender's log; it logs each NOTIFY as it sends it, so on a FakeClock the count is exact at once. */
function sent(log: CapturedLog): number {
  return log.lines.filter((l) => l.msg === 'NOTIFY sent').length;
}

/** Exactly `n` NOTIFYs sent so far, and all of them arrived at the secondary. */
async function sentAndArrived(sec: FakeSecondary, log: CapturedLog, n: number, what?: string): Promise<void> {
  assert.equal(sent(log), n, what);
  await sec.arrived(n);
  assert.equal(sec.got.length, n, what);
}

/** A NotifySender on a FakeClock (at `start`) with its log captured, and a fake secondary; both closed when the test ends. */
async function notifyRig(t: TestContext, maxAttempts: number, start = T0): Promise<{ sec: FakeSecondary; clock: FakeClock; log: CapturedLog; lines: CapturedLog['lines']; sender: NotifySender }> {
  const sec = await fakeSecondary();
  const clock = new FakeClock(start);
  const log = captureLog();
  const sender = new NotifySender({ logger: log.logger, clock, timeoutMs: 1000, maxAttempts });
  t.after(async () => {
    await sender.stop();
    sec.sock.close();
  });
  return { sec, clock, log, lines: log.lines, sender };
}

function ack(msg: Buffer): Buffer {
  const a = Buffer.from(msg);
  a.writeUInt16BE(msg.readUInt16BE(2) | 0x8000, 2);
  return a;
}

test('NOTIFY: retried with doubling waits until the bound, then given up', async (t) => {
  const { sec, clock, log, lines, sender } = await notifyRig(t, 4);
  const snap = buildSnapshot([exampleZone()], www('127.0.0.1'));
  sender.notify({ host: '127.0.0.1', port: sec.port }, snap.zones[0]!);
  await sentAndArrived(sec, log, 1);
  const m = sec.got[0]!.msg;
  assert.equal((m.readUInt16BE(2) >> 11) & 0xf, 4, 'opcode NOTIFY');
  assert.equal(m.readUInt16BE(2) & 0x0400, 0x0400, 'AA');
  assert.equal(answers(m)[0]!.serial, snap.zones[0]!.serial, 'the new SOA in the answer section');
  const label = `127.0.0.1:${sec.port}`;
  assert.deepEqual(sender.status(), [{ secondary: label, zone: 'example.test', waiting: { serial: snap.zones[0]!.serial, attempt: 1, since: T0 } }]);
  assert.deepEqual(await notifyLoudness(sender), { acknowledged: {}, warnings: '' }, 'no verdict while the first waits');
  for (const [advance, expected] of [[999, 1], [1, 2], [2000, 3], [4000, 4], [8000, 4], [60_000, 4]] as const) {
    clock.advance(advance);
    assert.equal(sent(log), expected, `after +${advance} ms`);
  }
  await sentAndArrived(sec, log, 4);
  assert.ok(lines.some((l) => l.msg === 'NOTIFY not acknowledged; giving up until the next change' && l.attempts === 4));
  assert.deepEqual(sender.status(), [{ secondary: label, zone: 'example.test', last: { at: T0 + 15_000, serial: snap.zones[0]!.serial, attempts: 4, outcome: 'unanswered' } }], 'the status page shows the NOTIFY as unanswered');
  const loud = await notifyLoudness(sender);
  assert.deepEqual(loud.acknowledged, { [`${label} example.test`]: 0 });
  assert.equal(loud.warnings, `WARNING: secondary ${label}: the NOTIFY for example.test serial ${snap.zones[0]!.serial} was NOT ANSWERED after every retry at ${new Date(T0 + 15_000).toISOString()}, after 4 attempt(s); it learns the change only at its next SOA refresh\n`);
});

test('NOTIFY: a burst of changes while one waits coalesces into one more NOTIFY with the newest serial', async (t) => {
  const { sec, clock, log, sender } = await notifyRig(t, 3);
  const zones = [exampleZone()];
  let snap = buildSnapshot(zones, www('127.0.0.1'));
  const target = { host: '127.0.0.1', port: sec.port };
  sender.notify(target, snap.zones[0]!);
  const s1 = snap.zones[0]!.serial;
  for (let i = 2; i <= 5; i++) {
    snap = buildSnapshot(zones, www(`127.0.0.${i}`), snap);
    sender.notify(target, snap.zones[0]!);
  }
  await sentAndArrived(sec, log, 1, 'one NOTIFY in flight');
  sec.sock.send(ack(sec.got[0]!.msg), sec.got[0]!.from.port, '127.0.0.1');
  await log.waitFor('the first acknowledged', (l) => l.msg === 'NOTIFY acknowledged' && l.serial === s1);
  await sentAndArrived(sec, log, 2, 'the newest serial sent right after the answer');
  assert.equal(answers(sec.got[1]!.msg)[0]!.serial, snap.zones[0]!.serial);
  sec.sock.send(ack(sec.got[1]!.msg), sec.got[1]!.from.port, '127.0.0.1');
  await log.waitFor('the newest acknowledged', (l) => l.msg === 'NOTIFY acknowledged' && l.serial === snap.zones[0]!.serial);
  assert.deepEqual(sender.status()[0]!.last, { at: T0, serial: snap.zones[0]!.serial, attempts: 1, outcome: 'acknowledged', rcode: 'NOERROR', ms: 0 });
  assert.deepEqual(Object.values((await notifyLoudness(sender)).acknowledged), [1]);
  assert.equal((await notifyLoudness(sender)).warnings, '', 'acknowledged: no warning');
  clock.advance(60_000);
  assert.equal(sent(log), 2, 'nothing more once the newest serial is acknowledged');
});

test('NOTIFY with TSIG: signed; an answer with a bad signature does not count, a good one does', async (ctx) => {
  const { sec, clock, log, lines, sender } = await notifyRig(ctx, 3, Date.now());
  const snap = buildSnapshot([exampleZone()], www('127.0.0.1'));
  const ring = new TsigKeyring([KEY], () => clock.now());
  sender.notify({ host: '127.0.0.1', port: sec.port, key: KEY }, snap.zones[0]!);
  await sentAndArrived(sec, log, 1);
  const req = sec.got[0]!.msg;
  const msg = readMessage(req)!;
  const t = readTsig(msg);
  assert.equal(t.kind, 'tsig');
  if (t.kind !== 'tsig') return;
  assert.equal(ring.verify(msg, t.tsig).kind, 'ok');
  const unsignedAck = ack(req.subarray(0, t.tsig.start));
  unsignedAck.writeUInt16BE(0, 10);
  sec.sock.send(new TsigSigner(OTHER, t.tsig.mac, { nowMs: clock.now() }).sign(unsignedAck), sec.got[0]!.from.port, '127.0.0.1');
  await log.waitFor('BADSIG', (l) => l.msg === 'NOTIFY answer failed TSIG verification' && l.tsig === 'BADSIG');
  assert.ok(!lines.some((l) => l.msg === 'NOTIFY acknowledged'));
  assert.equal(sender.status()[0]!.last?.outcome, 'tsig-failed');
  assert.equal(sender.status()[0]!.last?.error, 'TSIG BADSIG');
  sec.sock.send(new TsigSigner(KEY, t.tsig.mac, { nowMs: clock.now() }).sign(unsignedAck), sec.got[0]!.from.port, '127.0.0.1');
  await log.waitFor('acknowledged', (l) => l.msg === 'NOTIFY acknowledged');
  assert.equal(sender.status()[0]!.last?.outcome, 'acknowledged');
});

test('NOTIFY refused by the secondary: its rcode is the last answer, not retried', async (t) => {
  const { sec, clock, log, sender } = await notifyRig(t, 3);
  const snap = buildSnapshot([exampleZone()], www('127.0.0.1'));
  sender.notify({ host: '127.0.0.1', port: sec.port }, snap.zones[0]!);
  await sentAndArrived(sec, log, 1);
  const refused = ack(sec.got[0]!.msg);
  refused.writeUInt16BE(refused.readUInt16BE(2) | 5, 2);
  clock.advance(250);
  sec.sock.send(refused, sec.got[0]!.from.port, '127.0.0.1');
  await log.waitFor('refused', (l) => l.msg === 'NOTIFY refused by the secondary; not retried');
  assert.deepEqual(sender.status(), [{ secondary: `127.0.0.1:${sec.port}`, zone: 'example.test', last: { at: T0 + 250, serial: snap.zones[0]!.serial, attempts: 1, outcome: 'refused', rcode: 'REFUSED', ms: 250 } }]);
  const loud = await notifyLoudness(sender);
  assert.deepEqual(Object.values(loud.acknowledged), [0]);
  assert.match(loud.warnings, /^WARNING: secondary 127\.0\.0\.1:\d+: the NOTIFY for example\.test serial \d+ was REFUSED \(REFUSED\) at \S+, after 1 attempt\(s\)/);
  clock.advance(60_000);
  assert.equal(sent(log), 1, 'not retried');
});

test('config: secondaries, transfer and tsig sections; secrets from a file, never printed; every problem listed', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'failoverd-xfrcfg-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'zones'));
  copyFileSync(EXAMPLE_ZONE_FILE, join(dir, 'zones', 'example.test.zone'));
  const secret = 'dHJhbnNmZXIta2V5LXNlY3JldC1mb3ItdGVzdHMtMzI=';
  writeFileSync(join(dir, 'key.conf'), `key "file-key" {\n\talgorithm hmac-sha256;\n\tsecret "${secret}";\n};\n`);
  writeFileSync(
    join(dir, 'good.yaml'),
    `secondaries:\n  - { address: "192.0.2.53", zones: [Example.Test.], tsig: file-key }\n  - { address: "[2001:db8::53]:5300", zones: [example.test] }\ntransfer:\n  allow: ["10.0.0.0/8", "::1"]\ntsig:\n  file-key: { secretFile: key.conf }\n  inline: { algorithm: hmac-sha512, secret: "${secret}" }\n`,
  );
  const { config } = await loadConfig(join(dir, 'good.yaml'));
  assert.deepEqual(config.secondaries, [
    { address: { host: '192.0.2.53', port: 53 }, zones: ['example.test'], tsig: 'file-key' },
    { address: { host: '2001:db8::53', port: 5300 }, zones: ['example.test'], tsig: undefined },
  ]);
  assert.deepEqual(config.transfer, { allow: ['10.0.0.0/8', '::1'], journal: 100 });
  assert.deepEqual(config.tsig!.map((k) => [k.name, k.algorithm, k.secret.bytes().toString('base64')]), [
    ['file-key', 'hmac-sha256', secret],
    ['inline', 'hmac-sha512', secret],
  ]);
  assert.ok(!JSON.stringify(config).includes(secret));
  assert.ok(!inspect(config, { depth: 10 }).includes(secret));
  assert.ok(!String(config.tsig![0]!.secret).includes(secret));

  writeFileSync(
    join(dir, 'bad.yaml'),
    `secondaries:\n  - { address: "192.0.2.53:99999", zones: [example.test] }\n  - { address: "192.0.2.54", zones: [other.test], tsig: nokey }\ntransfer:\n  allow: ["10.0.0.0/33", "example.com"]\ntsig:\n  short: { secret: "c2hvcnQ=" }\n  both: { secret: "${secret}", secretFile: key.conf }\n  missing: { secretFile: nowhere.key }\n`,
  );
  await assert.rejects(loadConfig(join(dir, 'bad.yaml')), (err: unknown) => {
    assert.ok(err instanceof ProblemsError);
    const got = err.problems.map((p) => `${p.path}: ${p.message}`);
    const want = ['secondaries[0].address', 'transfer.allow[0]', 'transfer.allow[1]', 'tsig.short.secret', 'tsig.both'];
    for (const w of want) assert.ok(got.some((g) => g.startsWith(w + ':')), `${w} in ${got.join('\n')}`);
    assert.ok(err.problems.every((p) => p.line !== undefined), 'every problem has a line');
    assert.ok(!err.message.includes(secret), 'the secret is not echoed in problems');
    return true;
  });
  writeFileSync(join(dir, 'refs.yaml'), `secondaries:\n  - { address: "192.0.2.54", zones: [other.test], tsig: nokey }\ntsig:\n  missing: { secretFile: nowhere.key }\n`);
  await assert.rejects(loadConfig(join(dir, 'refs.yaml')), (err: unknown) => {
    assert.ok(err instanceof ProblemsError);
    const got = err.problems.map((p) => `${p.path}: ${p.message}`).sort();
    assert.deepEqual(got, [
      'secondaries[0].tsig: unknown key "nokey" (defined in tsig: missing)',
      'secondaries[0].zones[0]: other.test is not a served zone (served: example.test)',
      'tsig.missing.secretFile: cannot read nowhere.key: ENOENT',
    ]);
    return true;
  });
});
