/**
 * Who a request is (a bearer token's name, a client certificate's name, or
 * nobody) and whether that may use a route: every route needs a scope
 * (read, operate, admin; config/admin.ts) or none (/healthz, /readyz).
 *
 * Without any credential configured (loopback only, config/admin.ts checks
 * it) everyone may do everything, as before scopes existed. With some,
 * nobody may change anything without one; reads stay open unless
 * `admin.openReads: false`.
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { scopeIncludes, type AdminConfig, type Scope } from '../config/admin.ts';
import { ApiError } from './http.ts';

export type RouteScope = Scope | 'open';

export interface Identity {
  /** A token's name, a certificate's subject name, or "anonymous". */
  who: string;
  via: 'token' | 'certificate' | 'none';
  /** What it may do; undefined: nothing beyond open routes. */
  scope: Scope | undefined;
}

function sameSecret(given: Buffer, want: string): boolean {
  const w = Buffer.from(want);
  return given.length === w.length && timingSafeEqual(given, w);
}

/** The certificate's names: subject CN, then DNS subjectAltNames. */
function certNames(socket: TLSSocket): string[] {
  const cert = socket.getPeerCertificate?.();
  if (!cert || Object.keys(cert).length === 0) return [];
  const cn = cert.subject?.CN;
  const names = Array.isArray(cn) ? cn : cn ? [cn] : [];
  for (const san of (cert.subjectaltname ?? '').split(',')) {
    const m = /^\s*DNS:(.+)$/.exec(san);
    if (m) names.push(m[1]!.trim());
  }
  return names;
}

/** Identifies a request; a malformed or wrong token is 401 at once (a wrong token is never "anonymous"). */
export function identify(req: IncomingMessage, admin: AdminConfig): Identity {
  const open = admin.tokens.length === 0 && admin.clients.length === 0;
  // Nothing configured (loopback only): everyone may do everything, and a token sent is not looked at.
  if (open) return { who: 'anonymous', via: 'none', scope: 'admin' };
  const header = req.headers.authorization;
  if (header !== undefined) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!m) throw new ApiError(401, 'UNAUTHORIZED', 'send Authorization: Bearer <token>');
    const given = Buffer.from(m[1]!);
    // Compared with every token, each in constant time.
    let found: AdminConfig['tokens'][number] | undefined;
    for (const t of admin.tokens) if (sameSecret(given, t.secret.value()) && !found) found = t;
    if (!found) throw new ApiError(401, 'UNAUTHORIZED', 'wrong token');
    return { who: found.name, via: 'token', scope: found.scope };
  }
  const socket = req.socket as TLSSocket;
  if (socket.encrypted && socket.authorized) {
    const names = certNames(socket);
    const client = admin.clients.find((c) => names.includes(c.name));
    return { who: names[0] ?? 'certificate without a name', via: 'certificate', scope: client?.scope };
  }
  return { who: 'anonymous', via: 'none', scope: admin.openReads ? 'read' : undefined };
}

/** Throws 401 (no credentials) or 403 (not enough) unless `id` may use a route that needs `need`. */
export function authorize(id: Identity, need: RouteScope): void {
  if (need === 'open') return;
  if (id.scope !== undefined && scopeIncludes(id.scope, need)) return;
  if (id.via === 'none') {
    const how = 'send Authorization: Bearer <token> (admin.tokens, admin.token or FAILOVERD_ADMIN_TOKEN) or a client certificate in admin.clients';
    throw new ApiError(401, 'UNAUTHORIZED', need === 'read' ? `this endpoint needs the read scope: ${how}` : `this endpoint changes state: ${how} with the ${need} scope`);
  }
  throw new ApiError(403, 'FORBIDDEN', `${id.via === 'token' ? 'token' : 'certificate'} ${JSON.stringify(id.who)} has ${id.scope ? `the ${id.scope} scope` : 'no scope (not in admin.clients)'}; this endpoint needs ${need}`);
}
