import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { readFileSync } from 'node:fs';
import { checkSchema } from '../src/config/schema.ts';
import { probeFor, httpProbe, tcpProbe } from '../src/probes/index.ts';
import { statusMatches } from '../src/probes/status.ts';
import { errorReason, localProbeError } from '../src/probes/reason.ts';
import { FAILOVERD_VERSION } from '../src/probes/version.ts';
import type { ProbeSpec } from '../src/probes/types.ts';
import { selfSignedCert } from './helpers/tls.ts';

const LOOPBACK = '127.0.0.1';

function spec(check: Record<string, unknown>): ProbeSpec {
  return { address: LOOPBACK, check: checkSchema.parse({ interval: '5s', timeout: '1s', ...check }) };
}

/** Start a server on a free loopback port; it and its sockets are destroyed after the test. */
async function listen<S extends net.Server>(t: TestContext, server: S): Promise<number> {
  const sockets = new Set<net.Socket>();
  server.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('secureConnection', (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, LOOPBACK, () => resolve());
  });
  t.after(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return (server.address() as net.AddressInfo).port;
}

async function freePortClosed(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, LOOPBACK, () => resolve()));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function httpBackend(handler: http.RequestListener): http.Server {
  return http.createServer(handler);
}

test('unit: status ranges', () => {
  assert.equal(statusMatches(200, ['200']), true);
  assert.equal(statusMatches(201, ['200']), false);
  assert.equal(statusMatches(399, ['200-399']), true);
  assert.equal(statusMatches(400, ['200-399']), false);
  assert.equal(statusMatches(503, ['200-299', '503']), true);
});

test('unit: error reasons', () => {
  const e = (code: string) => Object.assign(new Error('x'), { code });
  assert.equal(errorReason(e('ECONNREFUSED')), 'refused');
  assert.equal(errorReason(e('ECONNRESET')), 'reset');
  assert.equal(errorReason(e('EHOSTUNREACH')), 'unreachable');
  assert.equal(errorReason(e('ENETUNREACH')), 'unreachable');
  assert.equal(errorReason(e('DEPTH_ZERO_SELF_SIGNED_CERT'), true), 'TLS error DEPTH_ZERO_SELF_SIGNED_CERT');
  assert.equal(errorReason(e('ERR_TLS_CERT_ALTNAME_INVALID'), true), 'TLS error ERR_TLS_CERT_ALTNAME_INVALID');
  assert.equal(errorReason(e('ENOTFOUND')), 'ENOTFOUND');
});

test('unit: local errors (of this machine) are told from errors of the target', () => {
  const e = (code: string) => Object.assign(new Error('x'), { code });
  for (const code of ['EMFILE', 'ENFILE', 'EADDRNOTAVAIL', 'ENOBUFS']) assert.equal(localProbeError(e(code))?.code, code);
  for (const code of ['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ETIMEDOUT', 'ENOTFOUND', 'DEPTH_ZERO_SELF_SIGNED_CERT']) assert.equal(localProbeError(e(code)), undefined, code);
  assert.equal(localProbeError(undefined), undefined);
  assert.equal(localProbeError({ code: 'EMFILE' }), undefined, 'only errors (the log needs one)');
});

test('probeFor maps kinds', () => {
  assert.equal(probeFor('http'), httpProbe);
  assert.equal(probeFor('https'), httpProbe);
  assert.equal(probeFor('tcp'), tcpProbe);
});

test('http: 200 is ok, and the backend sees Host, User-Agent, path and headers', async (t) => {
  let seen: http.IncomingHttpHeaders | undefined;
  let seenUrl: string | undefined;
  const port = await listen(t, httpBackend((req, res) => {
    seen = req.headers;
    seenUrl = req.url;
    res.end('hello');
  }));
  const r = await httpProbe(spec({ type: 'http', port, path: '/healthz', headers: { 'X-Probe': 'yes' } }));
  assert.equal(r.ok, true, r.reason);
  assert.equal(r.reason, 'status 200');
  assert.ok(r.latencyMs >= 0 && r.latencyMs < 1000);
  assert.ok(Math.abs(r.at - Date.now()) < 5000);
  assert.equal(seenUrl, '/healthz');
  assert.equal(seen?.host, LOOPBACK);
  assert.equal(seen?.['user-agent'], `failoverd/${FAILOVERD_VERSION}`);
  assert.equal(seen?.['x-probe'], 'yes');
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  assert.equal(FAILOVERD_VERSION, pkg.version);
});

test('http: check.host becomes the Host header', async (t) => {
  let host: string | undefined;
  const port = await listen(t, httpBackend((req, res) => {
    host = req.headers.host;
    res.end();
  }));
  const r = await httpProbe(spec({ type: 'http', port, host: 'www.example.test' }));
  assert.equal(r.ok, true, r.reason);
  assert.equal(host, 'www.example.test');
});

test('http: 503 fails with "status 503"; status ranges decide', async (t) => {
  let status = 503;
  const port = await listen(t, httpBackend((_req, res) => {
    res.statusCode = status;
    res.end('x');
  }));
  let r = await httpProbe(spec({ type: 'http', port }));
  assert.deepEqual([r.ok, r.reason], [false, 'status 503']);
  r = await httpProbe(spec({ type: 'http', port, expect: { status: ['200-299', '503'] } }));
  assert.deepEqual([r.ok, r.reason], [true, 'status 503']);
  status = 302;
  r = await httpProbe(spec({ type: 'http', port }));
  assert.deepEqual([r.ok, r.reason], [true, 'status 302']);
  r = await httpProbe(spec({ type: 'http', port, expect: { status: ['200'] } }));
  assert.deepEqual([r.ok, r.reason], [false, 'status 302']);
});

test('http: body match and mismatch', async (t) => {
  const port = await listen(t, httpBackend((_req, res) => {
    res.write('{"status":');
    setTimeout(() => res.end('"healthy"}'), 10);
  }));
  let r = await httpProbe(spec({ type: 'http', port, expect: { body: '"healthy"' } }));
  assert.deepEqual([r.ok, r.reason], [true, 'status 200']);
  r = await httpProbe(spec({ type: 'http', port, expect: { body: 'degraded' } }));
  assert.deepEqual([r.ok, r.reason], [false, 'body mismatch']);
});

test('http: body is only searched in its first 5120 bytes', async (t) => {
  const port = await listen(t, httpBackend((req, res) => {
    res.write('a'.repeat(5120 - 4));
    res.end(req.url === '/inside' ? 'OKAY' : 'xOKAY');
  }));
  let r = await httpProbe(spec({ type: 'http', port, path: '/inside', expect: { body: 'OKAY' } }));
  assert.deepEqual([r.ok, r.reason], [true, 'status 200']);
  r = await httpProbe(spec({ type: 'http', port, path: '/outside', expect: { body: 'OKAY' } }));
  assert.deepEqual([r.ok, r.reason], [false, 'body mismatch']);
});

test('http: a backend streaming forever gets a verdict at once (match or 5120 bytes), not at timeout', async (t) => {
  const timers = new Set<NodeJS.Timeout>();
  t.after(() => timers.forEach((x) => clearInterval(x)));
  const port = await listen(t, httpBackend((req, res) => {
    if (req.url === '/match') res.write('ready ');
    const timer = setInterval(() => res.write('z'.repeat(1000)), 5);
    timers.add(timer);
    res.on('close', () => clearInterval(timer));
  }));
  let r = await httpProbe(spec({ type: 'http', port, path: '/match', timeout: '2s', expect: { body: 'ready' } }));
  assert.deepEqual([r.ok, r.reason], [true, 'status 200']);
  assert.ok(r.latencyMs < 1500, `latency ${r.latencyMs}`);
  r = await httpProbe(spec({ type: 'http', port, path: '/nomatch', timeout: '2s', expect: { body: 'ready' } }));
  assert.deepEqual([r.ok, r.reason], [false, 'body mismatch']);
  assert.ok(r.latencyMs < 1500, `latency ${r.latencyMs}`);
});

test('http: refused on a closed port', async () => {
  const port = await freePortClosed();
  const r = await httpProbe(spec({ type: 'http', port }));
  assert.deepEqual([r.ok, r.reason], [false, 'refused']);
});

test('http: timeout against a backend that accepts and never replies', async (t) => {
  const port = await listen(t, net.createServer(() => {}));
  const r = await httpProbe(spec({ type: 'http', port, timeout: '300ms' }));
  assert.equal(r.ok, false);
  assert.equal(r.reason, 'timeout after 300ms');
  assert.ok(r.latencyMs >= 280 && r.latencyMs < 2000, `latency ${r.latencyMs}`);
});

test('http: reset when the backend destroys the socket', async (t) => {
  const port = await listen(t, net.createServer((s) => {
    s.once('data', () => s.resetAndDestroy());
  }));
  const r = await httpProbe(spec({ type: 'http', port }));
  assert.deepEqual([r.ok, r.reason], [false, 'reset']);
  const port2 = await listen(t, net.createServer((s) => s.once('data', () => s.destroy())));
  const r2 = await httpProbe(spec({ type: 'http', port: port2 }));
  assert.deepEqual([r2.ok, r2.reason], [false, 'reset']);
});

test('http: abort resolves promptly with "aborted"', async (t) => {
  const port = await listen(t, net.createServer(() => {}));
  const ac = new AbortController();
  const pending = httpProbe(spec({ type: 'http', port, timeout: '2s' }), ac.signal);
  setTimeout(() => ac.abort(), 50);
  const r = await pending;
  assert.deepEqual([r.ok, r.reason], [false, 'aborted']);
  assert.ok(r.latencyMs < 1000);
  const pre = new AbortController();
  pre.abort();
  const r2 = await httpProbe(spec({ type: 'http', port }), pre.signal);
  assert.deepEqual([r2.ok, r2.reason], [false, 'aborted']);
});

test('https: self-signed cert fails with tlsVerify, passes without', async (t) => {
  const tls = selfSignedCert(t);
  if (!tls) return;
  let sawHost: string | undefined;
  const port = await listen(t, https.createServer(tls, (req, res) => {
    sawHost = req.headers.host;
    res.end('secure');
  }));
  const strict = await httpProbe(spec({ type: 'https', port }));
  assert.equal(strict.ok, false);
  assert.equal(strict.reason, 'TLS error DEPTH_ZERO_SELF_SIGNED_CERT');
  const lax = await httpProbe(spec({ type: 'https', port, tlsVerify: false, host: 'localhost', expect: { body: 'secure' } }));
  assert.deepEqual([lax.ok, lax.reason], [true, 'status 200']);
  assert.equal(sawHost, 'localhost');
});

/** Blocks this process's event loop for `ms` (a real stall: CPU throttling or a long GC looks the same to the prober). */
function stall(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

test('a stall of the prober itself is not a timeout of the target: the answer that arrived meanwhile counts (tcp, http)', async (t) => {
  // The connect completes in the kernel while this process is blocked past the probe's timeout; a plain timer fires
  // first on the next turn, before the poll phase reads the connect, and called a live target "timeout after 100ms".
  const tcpPort = await listen(t, net.createServer((s) => s.end()));
  const tcp = tcpProbe(spec({ type: 'tcp', port: tcpPort, timeout: '100ms' }));
  stall(400);
  const tr = await tcp;
  assert.deepEqual([tr.ok, tr.reason], [true, 'connected']);
  // The same for HTTP with the backend in this process, stalled too: it answers on the turns after the stall.
  const httpPort = await listen(t, httpBackend((_req, res) => res.end('ok')));
  const web = httpProbe(spec({ type: 'http', port: httpPort, timeout: '300ms' }));
  stall(700);
  const hr = await web;
  assert.deepEqual([hr.ok, hr.reason], [true, 'status 200']);
});

test('a stall of the prober does not make a target that never answers live: it still times out, once the stall is made up', async (t) => {
  const port = await listen(t, net.createServer(() => {}));
  const pending = httpProbe(spec({ type: 'http', port, timeout: '200ms' }));
  stall(500);
  const r = await pending;
  assert.deepEqual([r.ok, r.reason], [false, 'timeout after 200ms']);
  // 500 ms blocked, then at most one more timeout (200 ms) to make up for it.
  assert.ok(r.latencyMs >= 500 && r.latencyMs < 2000, `latency ${r.latencyMs}`);
});

test('tcp: connected and refused', async (t) => {
  const port = await listen(t, net.createServer((s) => s.end()));
  const ok = await tcpProbe(spec({ type: 'tcp', port }));
  assert.deepEqual([ok.ok, ok.reason], [true, 'connected']);
  const closed = await freePortClosed();
  const bad = await tcpProbe(spec({ type: 'tcp', port: closed }));
  assert.deepEqual([bad.ok, bad.reason], [false, 'refused']);
});
