/**
 * The admin API over HTTP, or HTTPS with `admin.tls` (TLS 1.2 or newer;
 * with `clientCA`, clients must present a certificate it signed). A reload
 * swaps in the certificate files read again, without closing the listener.
 * Every request passes request-guard.ts (Host, Origin, and for changes
 * Content-Type: what keeps a browser page of another site out), then
 * access.ts (who it is, and whether its scope allows the route). Every
 * change, and every refused attempt at one, is an audit log line: who, what,
 * from where, result. Every error is JSON {error: {code, message}} with its
 * status; a handler that throws something unexpected answers 500 and is
 * logged, never a crash.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import type { AdminConfig, AdminTls } from '../config/admin.ts';
import type { HostPort } from '../config/types.ts';
import { FailoverdError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { AdminDeps } from './deps.ts';
import { authorize, identify, type Identity } from './access.ts';
import { ApiError, sendError } from './http.ts';
import { checkContentType, checkHost, checkOrigin, type GuardSettings } from './request-guard.ts';
import { Router, type Route } from './router.ts';
import { metricsRoutes } from './routes/metrics.ts';
import { overrideRoutes } from './routes/overrides.ts';
import { pageRoutes } from './routes/page.ts';
import { probeRoutes } from './routes/probes.ts';
import { recordRoutes } from './routes/records.ts';
import { reloadRoutes } from './routes/reload.ts';
import { statusRoutes } from './routes/status.ts';
import { systemClock } from '../clock.ts';

export interface AdminServerOptions {
  listen: HostPort;
  /** The admin section, read at each request (a reload changes tokens, scopes, names, the page). */
  admin: () => AdminConfig;
  /** HTTPS with these files; fixed at start (setTls swaps the files). */
  tls?: AdminTls;
  logger: Logger;
  deps: AdminDeps;
}

export class AdminServer {
  private readonly server: Server | HttpsServer;
  private readonly router: Router;
  private readonly sockets = new Set<Socket>();
  private readonly closeStreams: () => void;

  constructor(private readonly opts: AdminServerOptions) {
    const d = opts.deps;
    const page = pageRoutes(d, () => opts.admin().statusPage);
    this.closeStreams = () => page.live.close();
    this.router = new Router().add(...page.routes, ...probeRoutes(d), ...statusRoutes(d), ...overrideRoutes(d), ...recordRoutes(d), ...reloadRoutes(d), ...metricsRoutes(d));
    const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
      this.handle(req, res).catch((err: unknown) => {
        // Last line of defence: a bad request must never take the daemon down.
        opts.logger.error({ err }, 'admin API request failed');
        res.destroy();
      });
    };
    const http = { requestTimeout: 15_000, headersTimeout: 10_000 };
    this.server = opts.tls ? createHttpsServer({ ...http, ...secureOptions(opts.tls), minVersion: 'TLSv1.2', requestCert: opts.tls.clientCA !== undefined, rejectUnauthorized: opts.tls.clientCA !== undefined }, onRequest) : createServer(http, onRequest);
    if (opts.tls) {
      this.server.on('tlsClientError', (err: Error & { code?: string }, socket: Socket) => {
        opts.logger.info({ from: socket.remoteAddress, code: err.code, err: err.message }, 'admin TLS handshake refused');
      });
    }
    this.server.keepAliveTimeout = 5000;
    this.server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    this.server.on('clientError', (_err, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n{"error":{"code":"BAD_REQUEST","message":"malformed HTTP request"}}\n');
      else socket.destroy();
    });
  }

  async start(): Promise<{ host: string; port: number }> {
    const { host, port } = this.opts.listen;
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    }).catch((err: Error) => {
      throw new FailoverdError('INTERNAL', `cannot listen for the admin API on ${host}:${port}: ${err.message}`, { cause: err });
    });
    const addr = this.server.address() as { address: string; port: number };
    return { host: addr.address, port: addr.port };
  }

  /** New certificate, key and client CA (a reload read them again): new connections use them, open ones go on. */
  setTls(tls: AdminTls): void {
    if (!this.opts.tls) return;
    (this.server as HttpsServer).setSecureContext(secureOptions(tls));
  }

  async stop(): Promise<void> {
    const closed = new Promise<void>((r) => this.server.close(() => r()));
    this.closeStreams();
    this.server.closeIdleConnections();
    const force = systemClock.setTimer(1000, () => {
      for (const s of this.sockets) s.destroy();
    });
    await closed;
    force.cancel();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const method = req.method ?? 'GET';
    let url = new URL('http://admin.invalid/');
    let status = 500;
    let route: Route | undefined;
    let id: Identity | undefined;
    let failure: string | undefined;
    try {
      try {
        url = new URL(req.url ?? '/', 'http://admin.invalid');
      } catch {
        throw new ApiError(400, 'BAD_REQUEST', 'malformed request target');
      }
      const admin = this.opts.admin();
      const guard: GuardSettings = { allowedHosts: admin.allowedHosts, allowedOrigins: admin.allowedOrigins, listenHost: this.opts.listen.host, tls: this.opts.tls !== undefined };
      checkHost(req, guard);
      const matched = this.router.match(method, url.pathname);
      route = matched.route;
      checkOrigin(req, route.mutation === true, guard);
      id = identify(req, admin);
      authorize(id, route.scope ?? (route.mutation ? 'operate' : 'read'));
      if (route.mutation) checkContentType(req);
      const params = matched.params;
      await route.handler({ req, res, params, query: url.searchParams });
      status = res.statusCode;
    } catch (err) {
      const api =
        err instanceof ApiError
          ? err
          : err instanceof FailoverdError && err.code === 'CLUSTER_UNAVAILABLE'
            ? new ApiError(503, err.code, err.message)
            : (this.opts.logger.error({ method, path: url.pathname, err }, 'admin API handler failed'), new ApiError(500, 'INTERNAL', 'internal error (logged)'));
      status = api.status;
      failure = api.code;
      if (res.headersSent || res.destroyed) {
        res.destroy();
      } else {
        const headers: Record<string, string> = {};
        if (api.status === 401) headers['www-authenticate'] = 'Bearer realm="failoverd"';
        if (api.status === 405) headers.allow = ((api.details as { allow: string[] }).allow ?? []).join(', ');
        sendError(res, api, headers);
      }
    }
    const ms = Math.round(performance.now() - started);
    const from = req.socket.remoteAddress;
    if (route?.mutation || (method !== 'GET' && method !== 'HEAD')) {
      // The audit trail: every change and every refused attempt at one (token values never appear).
      this.opts.logger[status >= 500 ? 'error' : status >= 400 ? 'warn' : 'info'](
        { audit: true, who: id?.who ?? 'unidentified', via: id?.via ?? 'none', method, path: url.pathname, from, status, result: status < 400 ? 'done' : `refused: ${failure ?? status}`, ms },
        'admin change',
      );
    } else if (status >= 400) {
      this.opts.logger[status >= 500 ? 'error' : 'info']({ method, path: url.pathname, from, status, ms }, 'admin request');
    }
  }
}

function secureOptions(tls: AdminTls): { cert: Buffer; key: string; ca?: Buffer } {
  return { cert: tls.cert, key: tls.key.value(), ...(tls.clientCA ? { ca: tls.clientCA } : {}) };
}
