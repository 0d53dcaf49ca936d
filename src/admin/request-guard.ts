/**
 * What keeps a web browser from being used against the admin API: a page on
 * another origin, or one reached by DNS rebinding, must not change anything
 * (nor read through a rebound name).
 *
 * - `Host` must name this listener: its listen address, the address the
 *   client connected to, `localhost`, or a name in `admin.allowedHosts`
 *   (421 otherwise). A rebound name (evil.example resolving to 127.0.0.1)
 *   fails here.
 * - A request from another origin (`Origin` not this listener's own, or
 *   `Sec-Fetch-Site: cross-site` / `same-site`) is refused (403) unless its
 *   origin is in `admin.allowedOrigins`. A top-level navigation (a link to
 *   the status page from a runbook) is a read and stays allowed.
 * - A change (POST, DELETE) must say `Content-Type: application/json`
 *   (415 otherwise): the content types a page may send without a CORS
 *   preflight (text/plain, forms) are never accepted.
 */
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import { ApiError } from './http.ts';

export interface GuardSettings {
  /** The configured listen host (an address, or a name). */
  listenHost: string;
  /** Extra names `Host` may carry (a reverse proxy's or the machine's name). */
  allowedHosts: readonly string[];
  /** Origins whose pages may call the API (e.g. a dashboard), as scheme://host[:port]. */
  allowedOrigins: readonly string[];
  /** Served over TLS: the listener's own origin is https://. */
  tls: boolean;
}

/** The host part of a Host header (no port, no brackets, lower case, no final dot); undefined when malformed. */
export function hostName(header: string): string | undefined {
  const h = header.trim().toLowerCase();
  const m = /^\[([0-9a-f:.]+)\](?::\d{1,5})?$/.exec(h) ?? /^([^:[\]\s/@]+)(?::\d{1,5})?$/.exec(h);
  return m ? m[1]!.replace(/\.$/, '') : undefined;
}

/** An address as Node reports it, without the IPv4-mapped prefix. */
function plainAddress(a: string | undefined): string | undefined {
  return a?.toLowerCase().replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, '');
}

/** An origin in the form browsers send it: scheme://host[:port], default ports dropped, lower case. */
export function normalizeOrigin(origin: string): string | undefined {
  try {
    const u = new URL(origin);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return undefined;
    return u.origin.toLowerCase();
  } catch {
    return undefined;
  }
}

export function checkHost(req: IncomingMessage, s: GuardSettings): void {
  const header = req.headers.host;
  // HTTP/1.0 without Host: no browser sends that.
  if (header === undefined) return;
  const name = hostName(header);
  if (name !== undefined) {
    if (name === 'localhost' || name === s.listenHost.toLowerCase() || s.allowedHosts.some((h) => h.toLowerCase().replace(/\.$/, '') === name)) return;
    if (isIP(name) && (name === plainAddress(req.socket.localAddress) || name === plainAddress(s.listenHost))) return;
  }
  throw new ApiError(
    421,
    'MISDIRECTED_REQUEST',
    `Host ${JSON.stringify(header.slice(0, 100))} is not a name of this admin API (its listen address, the address connected to, localhost, or admin.allowedHosts): add the name to admin.allowedHosts if it is yours`,
  );
}

export function checkOrigin(req: IncomingMessage, mutation: boolean, s: GuardSettings): void {
  const origin = typeof req.headers.origin === 'string' ? req.headers.origin : undefined;
  const site = req.headers['sec-fetch-site'];
  const normalized = origin === undefined ? undefined : normalizeOrigin(origin);
  if (normalized !== undefined && s.allowedOrigins.some((o) => normalizeOrigin(o) === normalized)) return;
  const own = req.headers.host !== undefined ? `${s.tls ? 'https' : 'http'}://${req.headers.host.trim().toLowerCase()}` : undefined;
  const foreignOrigin = origin !== undefined && (normalized === undefined || own === undefined || normalized !== normalizeOrigin(own));
  const foreignSite = site === 'cross-site' || site === 'same-site';
  if (!foreignOrigin && !foreignSite) return;
  // A link followed to a page (top-level navigation) reads; it cannot read the answer back into another page.
  const navigation = !mutation && req.method === 'GET' && req.headers['sec-fetch-mode'] === 'navigate' && !foreignOrigin;
  if (navigation) return;
  const who = origin !== undefined ? `origin ${JSON.stringify(origin.slice(0, 200))}` : `a ${site} request`;
  throw new ApiError(403, 'FOREIGN_ORIGIN', `${who} may not use this admin API (a page of another site): add its origin to admin.allowedOrigins if it is yours`);
}

export function checkContentType(req: IncomingMessage): void {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === 'application/json') return;
  throw new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', `this endpoint changes state: send Content-Type: application/json${type ? `, not ${JSON.stringify(type.slice(0, 100))}` : ''} (with an empty body or a JSON one)`);
}
