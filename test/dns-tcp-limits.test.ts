/**
 * Bounds on DNS over TCP (src/dns/tcp-limits.ts) with real sockets on
 * loopback: connections over dns.tcp.maxConnections and over a client's
 * dns.tcp.maxPerClient share are closed at once and counted, while other
 * clients' queries (dig +tcp, and raw framing) are answered; a client that
 * dribbles a message byte by byte is cut off at dns.tcp.messageTimeout
 * however often it sends; an idle connection closes at dns.tcp.idleTimeout.
 * And the config keys: defaults, bounds, and their errors with file:line.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { loadConfig } from '../src/config/load.ts';
import { ProblemsError } from '../src/errors.ts';
import { DnsServer } from '../src/dns/server.ts';
import type { TcpCloseReason, TcpLimits } from '../src/dns/tcp-limits.ts';
import { silentLogger } from '../src/log.ts';
import { buildSnapshot } from '../src/records/snapshot.ts';
import { dig } from './helpers/dig.ts';
import { EXAMPLE_ZONE_FILE, exampleZone } from './helpers/dns-fixture.ts';
import { buildQuery, rcodeOf } from './helpers/raw-dns.ts';
import { needTool } from './helpers/tools.ts';
import { systemClock } from '../src/clock.ts';

interface Running {
  server: DnsServer;
  port: number;
  /** Resolves when `n` connections have been refused or closed for `reason` (counted since the start). */
  closedFor(reason: TcpCloseReason, n: number): Promise<void>;
}

async function start(t: TestContext, tcp: Partial<TcpLimits>): Promise<Running> {
  const counts = new Map<TcpCloseReason, number>();
  const waiters: Array<{ reason: TcpCloseReason; n: number; resolve: () => void }> = [];
  const server = new DnsServer({ clock: systemClock,
    listen: [{ host: '127.0.0.1', port: 0 }],
    logger: silentLogger,
    tcp,
    onTcpClosed: (reason) => {
      counts.set(reason, (counts.get(reason) ?? 0) + 1);
      for (const w of [...waiters]) if (w.reason === reason && (counts.get(reason) ?? 0) >= w.n) w.resolve();
    },
  });
  server.setSnapshot(buildSnapshot([exampleZone()], []));
  const [bound] = await server.start();
  t.after(() => server.stop());
  return {
    server,
    port: bound!.port,
    closedFor: (reason, n) =>
      within(
        5000,
        `${n} connection(s) closed for ${reason}`,
        new Promise<void>((resolve) => {
          if ((counts.get(reason) ?? 0) >= n) return resolve();
          waiters.push({ reason, n, resolve });
        }),
      ),
  };
}

/** `p`, or a failure naming `what` after `ms`. */
async function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`not within ${ms} ms: ${what}`)), ms)));
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** A TCP connection from `localAddress`, open; `closed` resolves when it closes (from either side). */
async function open(t: TestContext, port: number, localAddress: string): Promise<{ sock: Socket; closed: Promise<number> }> {
  const sock = connect({ port, host: '127.0.0.1', localAddress });
  t.after(() => sock.destroy());
  sock.on('error', () => sock.destroy());
  const closed = once(sock, 'close').then(() => performance.now());
  await within(2000, `connect from ${localAddress}`, once(sock, 'connect'));
  return { sock, closed };
}

/** Sends one framed query on `sock`; resolves with the reply, or undefined if the connection closes first. */
function ask(sock: Socket, name: string, type = 1): Promise<Buffer | undefined> {
  return within(
    3000,
    `reply to ${name}`,
    new Promise<Buffer | undefined>((resolve) => {
      let buf = Buffer.alloc(0);
      const onData = (d: Buffer): void => {
        buf = Buffer.concat([buf, d]);
        if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          sock.off('data', onData);
          sock.off('close', onClose);
          resolve(buf.subarray(2, 2 + buf.readUInt16BE(0)));
        }
      };
      const onClose = (): void => {
        sock.off('data', onData);
        resolve(undefined);
      };
      sock.on('data', onData);
      sock.on('close', onClose);
      const q = buildQuery(name, type);
      const len = Buffer.alloc(2);
      len.writeUInt16BE(q.length);
      sock.write(Buffer.concat([len, q]));
    }),
  );
}

/** The server's open count, once it has seen every close (bounded wait for its 'close' events). */
async function openOnServer(server: DnsServer, expected: number): Promise<void> {
  for (let i = 0; i < 200 && server.tcpStats().open !== expected; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(server.tcpStats().open, expected, 'connections open on the server');
}

/** Which of `conns` the server closed: waits until `n` of them have closed (bounded). */
async function closedOf(conns: Array<{ closed: Promise<number> }>, n: number): Promise<number[]> {
  const done: number[] = [];
  await within(
    3000,
    `${n} connection(s) closed by the server`,
    new Promise<void>((resolve) => {
      conns.forEach((c, i) =>
        void c.closed.then(() => {
          done.push(i);
          if (done.length >= n) resolve();
        }),
      );
    }),
  );
  // Give the rest a moment to show a close they should not have.
  await new Promise((r) => setTimeout(r, 50));
  return done.sort();
}

test('over maxPerClient and over maxConnections: closed at once and counted; other clients still answered', async (t) => {
  if (!needTool(t, 'dig', 'bind9-dnsutils')) return;
  const { server, port, closedFor } = await start(t, { maxConnections: 8, maxPerClient: 5 });

  // 7 idle connections from 127.0.0.1: its share is 5; 2 are closed at once.
  const first = await Promise.all(Array.from({ length: 7 }, () => open(t, port, '127.0.0.1')));
  await closedFor('max-per-client', 2);
  const closedFirst = await closedOf(first, 2);
  assert.equal(closedFirst.length, 2);
  await openOnServer(server, 5);

  // Another client is answered over TCP while those 5 are held (dig +tcp, source 127.0.0.2).
  const answered = await dig(port, 'static.example.test', 'A', ['+tcp', '-b', '127.0.0.2']);
  assert.equal(answered.status, 'NOERROR');
  assert.deepEqual(answered.answer.map((l) => l.split(/\s+/).pop()), ['127.0.0.10']);
  await openOnServer(server, 5);

  // 4 more from 127.0.0.3: 3 fit under maxConnections (8), 1 is closed at once.
  const third = await Promise.all(Array.from({ length: 4 }, () => open(t, port, '127.0.0.3')));
  await closedFor('max-connections', 1);
  assert.equal((await closedOf(third, 1)).length, 1);
  await openOnServer(server, 8);

  // Full: a new client gets no answer, its connection is closed at once.
  const late = await open(t, port, '127.0.0.4');
  await closedFor('max-connections', 2);
  await within(2000, 'the refused connection closes', late.closed);

  // Every held connection is served.
  const held = [...first.filter((_, i) => !closedFirst.includes(i)), ...third.filter((c) => !c.sock.destroyed && c.sock.readyState === 'open')];
  assert.equal(held.length, 8);
  for (const c of held) {
    const reply = await ask(c.sock, 'static.example.test');
    assert.ok(reply, 'a held connection is answered');
    assert.equal(rcodeOf(reply), 0);
  }

  // One of 127.0.0.1's connections goes: its share has room again (dig +tcp from 127.0.0.1).
  held[0]!.sock.end();
  await within(2000, 'the client close', held[0]!.closed);
  await openOnServer(server, 7);
  assert.equal((await dig(port, 'static.example.test', 'A', ['+tcp', '-b', '127.0.0.1'])).status, 'NOERROR');

  const stats = server.tcpStats();
  assert.deepEqual(stats.closed, { 'max-connections': 2, 'max-per-client': 2, 'message-timeout': 0, 'idle-timeout': 0 });
  // 5 + 1 (dig) + 3 + 1 (dig).
  assert.equal(stats.accepted, 10);
});

test('a message dribbled a byte every 300 ms is cut off at messageTimeout; each message has its own clock', async (t) => {
  const { server, port, closedFor } = await start(t, { messageTimeout: 1000, idleTimeout: 10_000 });
  const q = buildQuery('static.example.test', 1);
  const framed = Buffer.concat([Buffer.from([0, q.length]), q]);

  // Three messages on one connection, each sent in two halves 300 ms apart: 1.8 s in all, each under 1 s.
  const steady = await open(t, port, '127.0.0.1');
  for (let i = 0; i < 3; i++) {
    const replied = new Promise<void>((resolve) => steady.sock.once('data', () => resolve()));
    steady.sock.write(framed.subarray(0, 9));
    await new Promise((r) => setTimeout(r, 300));
    steady.sock.write(framed.subarray(9));
    await within(2000, `reply ${i + 1} on the steady connection`, replied);
  }
  assert.equal(steady.sock.readyState, 'open');

  // A slow sender: one byte every 300 ms (it would take 300 ms × 35 bytes).
  const slow = await open(t, port, '127.0.0.2');
  const startedAt = performance.now();
  const sender = setInterval(() => {
    const i = Math.round((performance.now() - startedAt) / 300);
    if (!slow.sock.destroyed && i < framed.length) slow.sock.write(framed.subarray(i, i + 1));
  }, 300);
  t.after(() => clearInterval(sender));
  slow.sock.write(framed.subarray(0, 1));
  const closedAt = await within(3000, 'the slow sender is closed', slow.closed);
  clearInterval(sender);
  const took = closedAt - startedAt;
  assert.ok(took >= 900 && took < 2000, `closed after ${Math.round(took)} ms (messageTimeout 1 s)`);
  await closedFor('message-timeout', 1);
  assert.equal(server.tcpStats().closed['message-timeout'], 1);
  // The steady connection was never cut off.
  assert.equal(steady.sock.readyState, 'open');
});

test('an idle connection closes at idleTimeout, counted; one that just got its answer too', async (t) => {
  const { server, port, closedFor } = await start(t, { idleTimeout: 500, messageTimeout: 5000 });
  const silent = await open(t, port, '127.0.0.1');
  const opened = performance.now();
  const talker = await open(t, port, '127.0.0.1');
  const reply = await ask(talker.sock, 'static.example.test');
  assert.ok(reply);
  const answeredAt = performance.now();
  const silentAt = await within(3000, 'the silent connection closes', silent.closed);
  assert.ok(silentAt - opened >= 400, `idle close after ${Math.round(silentAt - opened)} ms`);
  // The server ends its side (RFC 7766): the client sees the end and closes.
  talker.sock.on('end', () => talker.sock.end());
  const talkerAt = await within(3000, 'the answered connection closes', talker.closed);
  assert.ok(talkerAt - answeredAt >= 400, `idle close ${Math.round(talkerAt - answeredAt)} ms after the answer`);
  await closedFor('idle-timeout', 2);
  await openOnServer(server, 0);
});

test('dns.tcp in the config: the defaults, and values out of bounds refused with file:line', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'failoverd-tcp-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'zones'));
  copyFileSync(EXAMPLE_ZONE_FILE, join(dir, 'zones', 'example.test.zone'));
  const write = (name: string, text: string): string => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };
  const plain = await loadConfig(write('plain.yaml', 'dns: { listen: ["127.0.0.1:0"] }\nzones: zones\n'));
  assert.deepEqual(plain.config.dns.tcp, { maxConnections: 256, maxPerClient: 32, messageTimeout: 5000, idleTimeout: 10_000 });
  const set = await loadConfig(write('set.yaml', 'dns:\n  listen: ["127.0.0.1:0"]\n  tcp: { maxConnections: 64, messageTimeout: 2s }\nzones: zones\n'));
  assert.deepEqual(set.config.dns.tcp, { maxConnections: 64, maxPerClient: 32, messageTimeout: 2000, idleTimeout: 10_000 });

  const bad = write('bad.yaml', 'dns:\n  tcp:\n    maxConnections: 0\n    maxPerClient: 1.5\n    messageTimeout: 10ms\n    idleTimeout: 2h\n    maxConections: 3\nzones: zones\n');
  const err = await loadConfig(bad).then(
    () => assert.fail('expected the config to be refused'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof ProblemsError);
  const byPath = new Map(err.problems.map((p) => [p.path, p]));
  assert.equal(byPath.get('dns.tcp.maxConnections')?.line, 3);
  assert.equal(byPath.get('dns.tcp.maxPerClient')?.line, 4);
  assert.match(byPath.get('dns.tcp.messageTimeout')?.message ?? '', /at least 100ms/);
  assert.equal(byPath.get('dns.tcp.messageTimeout')?.line, 5);
  assert.match(byPath.get('dns.tcp.idleTimeout')?.message ?? '', /at most 1h/);
  assert.equal(byPath.get('dns.tcp.maxConections')?.line, 7);
});
