/**
 * Many record sets failing at once (issue 15, finding 5): the answer
 * changes of one moment reach the snapshot together, as one snapshot and
 * one serial step, not one per record set. A real daemon in this process,
 * 300 primaries (bare TCP listeners on 127.0.0.1-150, two ports) that die
 * together, one shared secondary that stays up.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import dnsPacket from 'dns-packet';
import { loadConfig } from '../src/config/load.ts';
import { Daemon } from '../src/daemon.ts';
import { silentLogger } from '../src/log.ts';
import { tcpBackend, type Backend } from './helpers/backends.ts';
import { EXAMPLE_ZONE_FILE } from './helpers/dns-fixture.ts';
import { buildQuery, udpExchange } from './helpers/raw-dns.ts';
import { systemClock } from '../src/clock.ts';

const ADDRESSES = 150;
const CHECK = 'interval: 2s, fastInterval: 100ms, timeout: 500ms, rise: 1, fall: 1, watch: true';

async function waitFor(what: string, pred: () => boolean, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function serial(port: number): Promise<number> {
  for (let i = 0; i < 5; i++) {
    const reply = await udpExchange(port, buildQuery('example.test', 6), 2000);
    if (!reply) continue;
    const soa = dnsPacket.decode(reply).answers?.find((a) => a.type === 'SOA');
    if (soa) return (soa.data as dnsPacket.SoaData).serial!;
  }
  throw new Error('no SOA answer');
}

test('mass failover: hundreds of record sets failing together move the serial by a few steps, not one per set', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'failoverd-mass-'));
  const primaries: Backend[] = [];
  t.after(async () => {
    for (const b of primaries) await b.kill();
  });
  // Two ports, each free on every address used.
  const ports: number[] = [];
  while (ports.length < 2) {
    const first = await tcpBackend('127.0.0.1');
    const rest: Backend[] = [];
    try {
      for (let a = 2; a <= ADDRESSES; a++) rest.push(await tcpBackend(`127.0.0.${a}`, first.port));
      primaries.push(first, ...rest);
      ports.push(first.port);
    } catch {
      for (const b of [first, ...rest]) await b.kill();
    }
  }
  const secondary = await tcpBackend('127.0.0.250');
  t.after(() => secondary.kill());
  mkdirSync(join(dir, 'zones'));
  copyFileSync(EXAMPLE_ZONE_FILE, join(dir, 'zones', 'example.test.zone'));
  const lines = [
    'dns: { listen: ["127.0.0.1:0"] }',
    'admin: { listen: "127.0.0.1:0" }',
    'zones: zones',
    'startupTimeout: 10s',
    `state: { file: ${join(dir, 'state.json')} }`,
    'checks:',
    `  p0: { type: tcp, port: ${ports[0]}, ${CHECK} }`,
    `  p1: { type: tcp, port: ${ports[1]}, ${CHECK} }`,
    `  s: { type: tcp, port: ${secondary.port}, ${CHECK} }`,
    'records:',
  ];
  for (let p = 0; p < 2; p++) {
    for (let a = 1; a <= ADDRESSES; a++) lines.push(`  - { name: r${p}-${a}.example.test, type: A, targets: [{ address: 127.0.0.${a}, check: p${p} }, { address: 127.0.0.250, check: s }] }`);
  }
  writeFileSync(join(dir, 'failoverd.yaml'), lines.join('\n') + '\n');
  const daemon = new Daemon(await loadConfig(join(dir, 'failoverd.yaml')), { clock: systemClock, logger: silentLogger });
  const [dns] = await daemon.start();
  t.after(() => daemon.stop());
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const sets = 2 * ADDRESSES;
  const onSecondary = (): number => daemon.controller.answers().filter((a) => a.state.activeId?.includes('127.0.0.250')).length;
  assert.equal(onSecondary(), 0, 'every primary is up before');
  const before = await serial(dns!.port);
  // Every primary dies at once.
  await Promise.all(primaries.map((b) => b.kill()));
  await waitFor('every record set on its secondary', () => onSecondary() === sets, 20_000);
  await new Promise((resolve) => setImmediate(resolve));
  const after = await serial(dns!.port);
  const steps = after - before;
  t.diagnostic(`${sets} record sets failed over; the serial moved by ${steps}`);
  assert.ok(steps >= 1, 'the serial moved');
  assert.ok(steps <= sets / 10, `the serial moved by ${steps} for ${sets} record sets failing together`);
});
