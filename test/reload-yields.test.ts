/**
 * A reload that adds a big zone lets the DNS answers through while it works
 * (issue 15, finding 5): a real daemon in this process, a client that asks
 * again as soon as it gets each reply. While the reload reads the config and
 * parses and builds a zone of 100,000 records, the client's round trips keep
 * coming back, answered from the old snapshot (the new zone is not served
 * yet: REFUSED); once the reload is done, the new zone answers, whole. How
 * long anything takes is for `npm run bench -- dns-stall`; this counts
 * events.
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import dnsPacket from 'dns-packet';
import { loadConfig } from '../src/config/load.ts';
import { Daemon } from '../src/daemon.ts';
import { silentLogger } from '../src/log.ts';
import { EXAMPLE_ZONE_FILE } from './helpers/dns-fixture.ts';
import { freePort } from './helpers/ports.ts';
import { buildQuery, rcodeOf, udpExchange } from './helpers/raw-dns.ts';
import { RCODE } from '../src/dns/wire/constants.ts';
import { systemClock } from '../src/clock.ts';

const RECORDS = 100_000;
const SETS = 300;

function bigZone(): string {
  const lines = ['$ORIGIN big.test.', '$TTL 300', '@ SOA ns1 host 1 3600 600 86400 300', '@ NS ns1', 'ns1 A 127.0.0.1'];
  for (let i = 0; i < RECORDS; i++) lines.push(`h${i} A 10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
  return lines.join('\n') + '\n';
}

test('a reload adding a 100,000-record zone: queries are answered from the old snapshot all along, then from the new one', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'failoverd-reload-yields-'));
  mkdirSync(join(dir, 'zones'));
  copyFileSync(EXAMPLE_ZONE_FILE, join(dir, 'zones', 'example.test.zone'));
  // A config of a few hundred record sets (its YAML is parsed in steps too); their check's port has no listener.
  const closed = await freePort();
  // log.level silent: a reload sets the daemon's logger to the config's level.
  const lines = ['dns: { listen: ["127.0.0.1:0"] }', 'zones: zones', 'admin: { listen: "127.0.0.1:0" }', 'log: { level: silent }', 'startupTimeout: 2s', 'checks:', `  c: { type: tcp, port: ${closed}, interval: 60s, timeout: 500ms, rise: 1, fall: 1 }`, 'records:'];
  for (let i = 0; i < SETS; i++) lines.push(`  - { name: r${i}.example.test, type: A, ttl: 30, targets: [{ address: 127.0.0.${(i % 200) + 1}, check: c }] }`);
  writeFileSync(join(dir, 'failoverd.yaml'), lines.join('\n') + '\n');
  const daemon = new Daemon(await loadConfig(join(dir, 'failoverd.yaml')), { clock: systemClock, logger: silentLogger });
  const [{ port }] = await daemon.start();
  t.after(() => daemon.stop());
  t.after(() => rmSync(dir, { recursive: true, force: true }));

  const client = createSocket('udp4');
  t.after(() => client.close());
  await new Promise<void>((resolve) => client.bind(0, '127.0.0.1', resolve));
  const ask = (id: number) => client.send(buildQuery('h1.big.test', 1, { id }), port, '127.0.0.1');
  let reloaded = false;
  const during: number[] = [];
  client.on('message', (msg) => {
    if (reloaded) return;
    during.push(rcodeOf(msg));
    // The next question as soon as this answer is in (bounded: the reload ends the chain).
    if (during.length < 100_000) ask(during.length & 0xffff);
  });

  writeFileSync(join(dir, 'zones', 'big.test.zone'), bigZone());
  const reload = daemon.reload();
  ask(0);
  const outcome = await reload;
  reloaded = true;
  t.diagnostic(`${during.length} round trips during the reload`);
  assert.equal(outcome.ok, true);

  // Every round trip during the reload was answered from the old snapshot, where big.test is not served.
  assert.deepEqual(new Set(during), new Set([RCODE.REFUSED]));
  assert.ok(during.length >= 20, `only ${during.length} queries answered while the reload ran: it held the event loop`);
  const reply = await udpExchange(port, buildQuery('h1.big.test', 1), 2000);
  assert.ok(reply, 'no answer after the reload');
  assert.equal(rcodeOf(reply), RCODE.NOERROR);
  assert.deepEqual(
    dnsPacket.decode(reply).answers?.map((a) => (a.type === 'A' ? a.data : a.type)),
    ['10.0.0.1'],
  );
});
