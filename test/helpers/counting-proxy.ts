/**
 * An HTTP proxy that counts: every request it forwards to `target` (e.g.
 * moto_server) is kept with its time, method and path, so a test can tell
 * which of several clients (one proxy each) sent what, and when.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ProxiedRequest {
  /** Date.now() when the request arrived. */
  at: number;
  method: string;
  path: string;
}

export interface CountingProxy {
  /** Where clients send their requests, e.g. http://10.213.5.1:41234. */
  url: string;
  readonly requests: ProxiedRequest[];
  stop(): Promise<void>;
}

/** Listens on `host` (a free port) and forwards every request to `target` (http://host:port). */
export async function startCountingProxy(host: string, target: string): Promise<CountingProxy> {
  const to = new URL(target);
  const requests: ProxiedRequest[] = [];
  const server = http.createServer((req, res) => {
    requests.push({ at: Date.now(), method: req.method ?? '?', path: req.url ?? '' });
    const out = http.request(
      { host: to.hostname, port: to.port, method: req.method, path: req.url, headers: { ...req.headers, host: to.host }, timeout: 30_000 },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    out.on('error', (err) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`counting proxy: ${err.message}`);
    });
    req.pipe(out);
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  return {
    url: `http://${host}:${(server.address() as AddressInfo).port}`,
    requests,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
