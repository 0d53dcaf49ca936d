/**
 * Real backends on loopback that tests start, break and kill: HTTP(S)
 * servers whose behaviour can be switched, and bare TCP listeners.
 */
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';

/** hang: accepts and reads the request, never replies (a hung process). */
export type BackendMode = 'ok' | 'status503' | 'wrongBody' | 'hang';

export interface Backend {
  host: string;
  port: number;
  mode: BackendMode;
  /** Closes the listener and destroys every connection: the process died. */
  kill(): Promise<void>;
  /** Listens again on the same address and port. */
  revive(): Promise<void>;
}

type AnyServer = net.Server;

function track(server: AnyServer): Set<net.Socket> {
  const sockets = new Set<net.Socket>();
  server.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  return sockets;
}

function listen(server: AnyServer, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as net.AddressInfo).port);
    });
  });
}

function makeBackend(host: string, port: number, create: (b: Backend) => AnyServer): Backend {
  let server: AnyServer | undefined;
  let sockets = new Set<net.Socket>();
  const b: Backend = {
    host,
    port,
    mode: 'ok',
    async kill() {
      if (!server) return;
      const s = server;
      server = undefined;
      const closed = new Promise((r) => s.close(() => r(undefined)));
      for (const sock of sockets) sock.destroy();
      await closed;
    },
    async revive() {
      if (server) return;
      server = create(b);
      sockets = track(server);
      b.port = await listen(server, host, b.port);
    },
  };
  return b;
}

function httpHandler(b: Backend): http.RequestListener {
  return (_req, res) => {
    if (b.mode === 'hang') return;
    if (b.mode === 'status503') {
      res.writeHead(503).end('unavailable');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain' }).end(b.mode === 'wrongBody' ? 'degraded' : 'ok');
  };
}

/** An HTTP backend answering "ok" (mode switchable) on host:port (0 = any free port). */
export async function httpBackend(host: string, port = 0): Promise<Backend> {
  const b = makeBackend(host, port, (self) => http.createServer(httpHandler(self)));
  await b.revive();
  return b;
}

export async function httpsBackend(host: string, tls: { key: Buffer; cert: Buffer }, port = 0): Promise<Backend> {
  const b = makeBackend(host, port, (self) => https.createServer(tls, httpHandler(self)));
  await b.revive();
  return b;
}

/** A TCP listener that accepts and then never says anything: a hung process, or a plain TCP service. */
export async function tcpBackend(host: string, port = 0): Promise<Backend> {
  const b = makeBackend(host, port, () => net.createServer(() => undefined));
  await b.revive();
  return b;
}

/** HTTP backends on several loopback addresses sharing one port. */
export async function httpBackendsOnOnePort(hosts: string[]): Promise<Backend[]> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const first = await httpBackend(hosts[0]!);
    const rest: Backend[] = [];
    try {
      for (const h of hosts.slice(1)) rest.push(await httpBackend(h, first.port));
      return [first, ...rest];
    } catch {
      await first.kill();
      for (const r of rest) await r.kill();
    }
  }
  throw new Error('no port free on every address');
}
