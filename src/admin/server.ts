/**
 * The admin HTTP API (node:http). Every request passes request-guard.ts
 * (Host, Origin, and for changes Content-Type: what keeps a browser page of
 * another site out). Reads are open; mutations (POST, DELETE) need
 * `Authorization: Bearer <token>` when a token is configured. Every
 * error is JSON {error: {code, message}} with its status; a handler that
 * throws something unexpected answers 500 and is logged, never a crash.
 */
import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { HostPort } from '../config/types.ts';
import { FailoverdError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { AdminDeps } from './deps.ts';
import { ApiError, sendError } from './http.ts';
import { checkContentType, checkHost, checkOrigin, type GuardSettings } from './request-guard.ts';
import { Router } from './router.ts';
import { metricsRoutes } from './routes/metrics.ts';
import { overrideRoutes } from './routes/overrides.ts';
import { pageRoutes } from './routes/page.ts';
import { probeRoutes } from './routes/probes.ts';
import { recordRoutes } from './routes/records.ts';
import { reloadRoutes } from './routes/reload.ts';
import { statusRoutes } from './routes/status.ts';

export interface AdminServerOptions {
  listen: HostPort;
  /** Read at each request, so a reload can change it. */
  token: () => string | undefined;
  /** Serve the status page at / (read at each request). */
  statusPage: () => boolean;
  /** Allowed Host names and origins (read at each request, so a reload can change them). */
  guard: () => Pick<GuardSettings, 'allowedHosts' | 'allowedOrigins'>;
  logger: Logger;
  deps: AdminDeps;
}

export class AdminServer {
  private readonly server: Server;
  private readonly router: Router;
  private readonly sockets = new Set<Socket>();
  private readonly closeStreams: () => void;

  constructor(private readonly opts: AdminServerOptions) {
    const d = opts.deps;
    const page = pageRoutes(d, opts.statusPage);
    this.closeStreams = () => page.live.close();
    this.router = new Router().add(...page.routes, ...probeRoutes(d), ...statusRoutes(d), ...overrideRoutes(d), ...recordRoutes(d), ...reloadRoutes(d), ...metricsRoutes(d));
    this.server = createServer({ requestTimeout: 15_000, headersTimeout: 10_000 }, (req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        // Last line of defence: a bad request must never take the daemon down.
        opts.logger.error({ err }, 'admin API request failed');
        res.destroy();
      });
    });
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

  async stop(): Promise<void> {
    const closed = new Promise<void>((r) => this.server.close(() => r()));
    this.closeStreams();
    this.server.closeIdleConnections();
    const force = setTimeout(() => {
      for (const s of this.sockets) s.destroy();
    }, 1000);
    force.unref();
    await closed;
    clearTimeout(force);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const method = req.method ?? 'GET';
    let url = new URL('http://admin.invalid/');
    let status = 500;
    try {
      try {
        url = new URL(req.url ?? '/', 'http://admin.invalid');
      } catch {
        throw new ApiError(400, 'BAD_REQUEST', 'malformed request target');
      }
      const guard: GuardSettings = { ...this.opts.guard(), listenHost: this.opts.listen.host, tls: false };
      checkHost(req, guard);
      const { route, params } = this.router.match(method, url.pathname);
      checkOrigin(req, route.mutation === true, guard);
      if (route.mutation) {
        this.authorize(req);
        checkContentType(req);
      }
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
      if (res.headersSent || res.destroyed) {
        res.destroy();
      } else {
        const headers: Record<string, string> = {};
        if (api.status === 401) headers['www-authenticate'] = 'Bearer realm="failoverd"';
        if (api.status === 405) headers.allow = ((api.details as { allow: string[] }).allow ?? []).join(', ');
        sendError(res, api, headers);
      }
    }
    if (method !== 'GET' || status >= 400) {
      this.opts.logger[status >= 500 ? 'error' : 'info']({ method, path: url.pathname, status, ms: Math.round(performance.now() - started) }, 'admin request');
    }
  }

  private authorize(req: IncomingMessage): void {
    const token = this.opts.token();
    if (!token) return;
    const header = req.headers.authorization ?? '';
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!m) throw new ApiError(401, 'UNAUTHORIZED', 'this endpoint changes state: send Authorization: Bearer <token> (admin.token or FAILOVERD_ADMIN_TOKEN)');
    const given = Buffer.from(m[1]!);
    const want = Buffer.from(token);
    if (given.length !== want.length || !timingSafeEqual(given, want)) throw new ApiError(401, 'UNAUTHORIZED', 'wrong token');
  }
}
