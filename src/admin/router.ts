/**
 * A tiny router: method + path pattern → handler. Patterns are matched on
 * the raw (still percent-encoded) path; `:name` takes one segment and
 * `:name+` takes one or more (so target ids with "/" work encoded or not);
 * captures are percent-decoded.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RouteScope } from './access.ts';
import { ApiError } from './http.ts';

export interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  params: Record<string, string>;
  query: URLSearchParams;
}

export type Handler = (ctx: RequestContext) => Promise<void> | void;

export interface Route {
  method: 'GET' | 'POST' | 'DELETE';
  path: string;
  /** Changes something: sent as JSON, audited, and needs the operate scope unless `scope` says more. */
  mutation?: boolean;
  /** The scope it needs (access.ts); default: read, or operate for a mutation. */
  scope?: RouteScope;
  handler: Handler;
}

interface Compiled extends Route {
  re: RegExp;
  names: string[];
}

export class Router {
  private readonly routes: Compiled[] = [];

  add(...routes: Route[]): this {
    for (const r of routes) {
      const names: string[] = [];
      const src = r.path
        .split('/')
        .map((seg) => {
          const m = /^:(\w+)(\+?)$/.exec(seg);
          if (!m) return seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
          names.push(m[1]!);
          return m[2] ? '(.+?)' : '([^/]+)';
        })
        .join('/');
      this.routes.push({ ...r, re: new RegExp(`^${src}$`), names });
    }
    return this;
  }

  /** The route for a request; 404 for an unknown path, 405 (with the allowed methods) for a known path with another method. */
  match(method: string, rawPath: string): { route: Route; params: Record<string, string> } {
    const allowed: string[] = [];
    for (const r of this.routes) {
      const m = r.re.exec(rawPath);
      if (!m) continue;
      if (r.method !== method && !(method === 'HEAD' && r.method === 'GET')) {
        allowed.push(r.method);
        continue;
      }
      const params: Record<string, string> = {};
      try {
        r.names.forEach((n, i) => (params[n] = decodeURIComponent(m[i + 1]!)));
      } catch {
        throw new ApiError(400, 'BAD_REQUEST', 'malformed percent-encoding in the path');
      }
      return { route: r, params };
    }
    if (allowed.length) throw new ApiError(405, 'METHOD_NOT_ALLOWED', `${method} is not allowed here; use ${[...new Set(allowed)].join(', ')}`, { allow: [...new Set(allowed)] });
    throw new ApiError(404, 'NOT_FOUND', `no such endpoint: ${method} ${rawPath}`);
  }
}
