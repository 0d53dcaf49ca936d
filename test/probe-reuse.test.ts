/**
 * check.reuse: one keep-alive connection per target. Real HTTP backends on
 * loopback that count their connections and break the kept one: closing it
 * while it is idle, closing it on the next request, and no longer
 * answering on it.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type net from 'node:net';
import { test, type TestContext } from 'node:test';
import { checkSchema } from '../src/config/schema.ts';
import { httpProbe } from '../src/probes/http.ts';
import type { ProbeSpec } from '../src/probes/types.ts';
import { eventually, scaled } from './helpers/eventually.ts';

interface Backend {
  port: number;
  /** Connections accepted so far. */
  connections: number;
  /** Connections the client (or the server) has closed. */
  closed: number;
}

/** An HTTP backend; `onRequest(n)` gets the request's number on its connection (1, 2, ...) and answers or not. */
async function backend(t: TestContext, onRequest: (n: number, res: http.ServerResponse, socket: net.Socket) => void): Promise<Backend> {
  const b: Backend = { port: 0, connections: 0, closed: 0 };
  const counts = new WeakMap<net.Socket, number>();
  const server = http.createServer({ keepAliveTimeout: 30_000 }, (req, res) => {
    const n = (counts.get(req.socket) ?? 0) + 1;
    counts.set(req.socket, n);
    onRequest(n, res, req.socket);
  });
  server.on('connection', (s: net.Socket) => {
    b.connections++;
    s.on('close', () => b.closed++);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  b.port = (server.address() as net.AddressInfo).port;
  t.after(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return b;
}

function spec(port: number, check: Record<string, unknown> = {}): ProbeSpec {
  // 400 ms on an idle machine; on a busy one a first request can take longer than that without the backend being down.
  return { address: '127.0.0.1', check: checkSchema.parse({ type: 'http', port, path: '/healthz', timeout: `${PROBE_TIMEOUT_MS}ms`, interval: `${PROBE_TIMEOUT_MS + 600}ms`, reuse: true, ...check }) };
}

const PROBE_TIMEOUT_MS = scaled(400);

async function waitFor(what: string, pred: () => boolean, ms = 3000): Promise<void> {
  await eventually(what, pred, ms, 5);
}

const ok = (res: http.ServerResponse): void => void res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');

test('reuse: probes share one connection; without it each probe opens its own', async (t) => {
  const b = await backend(t, (_n, res) => ok(res));
  for (let i = 0; i < 3; i++) assert.deepEqual(pick(await httpProbe(spec(b.port, { expect: { body: 'ok' } }))), { ok: true, reason: 'status 200' });
  assert.equal(b.connections, 1, 'one kept connection');
  for (let i = 0; i < 2; i++) assert.equal((await httpProbe(spec(b.port, { reuse: false }))).ok, true);
  assert.equal(b.connections, 3, 'reuse: false opens a connection per probe');
  await waitFor('fresh connections closed', () => b.closed === 2);
});

test('reuse: a status or body failure is still a failure, and the connection stays usable', async (t) => {
  let status = 503;
  const b = await backend(t, (_n, res) => void res.writeHead(status).end(status === 200 ? 'all good' : 'no'));
  assert.deepEqual(pick(await httpProbe(spec(b.port))), { ok: false, reason: 'status 503' });
  status = 200;
  assert.deepEqual(pick(await httpProbe(spec(b.port, { expect: { body: 'ok?' } }))), { ok: false, reason: 'body mismatch' });
  assert.deepEqual(pick(await httpProbe(spec(b.port, { expect: { body: 'good' } }))), { ok: true, reason: 'status 200' });
  assert.equal(b.connections, 1);
});

test('reuse: a backend that closes the kept connection while it is idle: the next probe succeeds on a new one', async (t) => {
  const b = await backend(t, (_n, res, socket) => {
    ok(res);
    res.on('finish', () => setTimeout(() => socket.destroy(), 20)); // closes every connection after one answer
  });
  assert.equal((await httpProbe(spec(b.port))).ok, true);
  await waitFor('server closed it', () => b.closed === 1);
  assert.deepEqual(pick(await httpProbe(spec(b.port))), { ok: true, reason: 'status 200' });
  assert.equal(b.connections, 2);
});

test('reuse: a backend that drops the kept connection when the next request arrives: retried once on a new connection, not a failure', async (t) => {
  const b = await backend(t, (n, res, socket) => {
    if (n === 1) ok(res);
    else socket.destroy(); // no answer, connection reset
  });
  for (let i = 0; i < 3; i++) assert.deepEqual(pick(await httpProbe(spec(b.port))), { ok: true, reason: 'status 200' }, `probe ${i + 1}`);
  assert.equal(b.connections, 3, 'each later probe: the dropped kept connection, then a new one');
});

test('reuse: a backend that stops answering on the kept connection: the probe times out, the connection is dropped, the next probe uses a new one', async (t) => {
  let hung: net.Socket | undefined;
  const b = await backend(t, (n, res, socket) => {
    if (n === 1) ok(res);
    else hung = socket; // accepts the request, never answers on this connection
  });
  assert.equal((await httpProbe(spec(b.port))).ok, true);
  const r = await httpProbe(spec(b.port));
  assert.deepEqual(pick(r), { ok: false, reason: `timeout after ${PROBE_TIMEOUT_MS}ms` });
  assert.ok(hung, 'the second request went to the kept connection');
  await waitFor('the hung connection closed by the prober', () => hung!.destroyed || b.closed >= 1);
  assert.deepEqual(pick(await httpProbe(spec(b.port))), { ok: true, reason: 'status 200' });
  assert.equal(b.connections, 2);
});

test('reuse is refused for tcp checks', () => {
  const r = checkSchema.safeParse({ type: 'tcp', port: 80, reuse: true });
  assert.equal(r.success, false);
  assert.match(JSON.stringify(r.error?.issues), /reuse applies to http and https checks/);
});

function pick(r: { ok: boolean; reason: string }): { ok: boolean; reason: string } {
  return { ok: r.ok, reason: r.reason };
}

test('without reuse, https probes do not resume TLS sessions: each one gets and checks the certificate', async (t) => {
  const { selfSignedCert } = await import('./helpers/tls.ts');
  const https = await import('node:https');
  const tls = selfSignedCert(t);
  if (!tls) return;
  const resumed: boolean[] = [];
  const server = https.createServer({ key: tls.key, cert: tls.cert }, (_req, res) => ok(res));
  server.on('request', (req) => resumed.push((req.socket as import('node:tls').TLSSocket).isSessionReused()));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  t.after(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const port = (server.address() as net.AddressInfo).port;
  for (let i = 0; i < 3; i++) assert.deepEqual(pick(await httpProbe(spec(port, { type: 'https', tlsVerify: false, reuse: false }))), { ok: true, reason: 'status 200' });
  assert.deepEqual(resumed, [false, false, false]);
});
