/**
 * HttpProbe: GET check.path on address:check.port over http or https.
 * One hard timer of check.timeout for connect + response + body. The body
 * is searched for check.expect.body in its first BODY_LIMIT bytes only;
 * reading stops there.
 *
 * Default: a new connection per probe (Connection: close, socket destroyed
 * at the end), through one shared non-keep-alive agent (an agent per
 * request, as `agent: false` makes, costs a tenth of a probe's CPU).
 * check.reuse: one keep-alive connection per target (a shared agent that
 * keeps at most one idle socket per address:port); the verdict waits for
 * the whole response so the connection can serve the next probe; a kept
 * connection that fails before any response (closed by the target while
 * idle) is retried once on a new connection within the same timeout; any
 * other failure destroys it.
 */
import http from 'node:http';
import https from 'node:https';
import { isIP, isIPv6 } from 'node:net';
import { probeAttempt } from './attempt.ts';
import { errorReason } from './reason.ts';
import { statusMatches } from './status.ts';
import type { ProbeFn } from './types.ts';
import { USER_AGENT } from './version.ts';

export const BODY_LIMIT = 5120;

// No TLS session resumption on fresh connections: each probe sees (and verifies) the certificate, as with `agent: false`.
const fresh = { http: new http.Agent({ keepAlive: false }), https: new https.Agent({ keepAlive: false, maxCachedSessions: 0 }) };
// maxSockets 2: a hung-target follow-up gets its own connection instead of queueing behind the hung one.
const kept = {
  http: new http.Agent({ keepAlive: true, maxSockets: 2, maxFreeSockets: 1, scheduling: 'lifo' }),
  https: new https.Agent({ keepAlive: true, maxSockets: 2, maxFreeSockets: 1, scheduling: 'lifo' }),
};

/** Host header value: check.host as given, else the address ([v6] bracketed). */
function hostHeader(address: string, host: string | undefined): string {
  if (host !== undefined) return host;
  return isIPv6(address) ? `[${address}]` : address;
}

/** SNI name: the host without port; none for IP addresses (RFC 6066). */
function sniName(address: string, host: string | undefined): string | undefined {
  const name = (host ?? address).replace(/^\[(.*)\]$/, '$1').replace(/:\d+$/, '');
  return isIP(name) || isIP(name.replace(/^\[(.*)\]$/, '$1')) ? undefined : name;
}

function requestHeaders(host: string, extra: Record<string, string>, reuse: boolean): Record<string, string> {
  const headers: Record<string, string> = reuse ? { Host: host, 'User-Agent': USER_AGENT } : { Host: host, 'User-Agent': USER_AGENT, Connection: 'close' };
  for (const [name, value] of Object.entries(extra)) {
    for (const existing of Object.keys(headers)) if (existing.toLowerCase() === name.toLowerCase()) delete headers[existing];
    headers[name] = value;
  }
  return headers;
}

export const httpProbe: ProbeFn = (spec, signal) => {
  const { address, check } = spec;
  const secure = check.type === 'https';
  const reuse = check.reuse === true;
  return probeAttempt(check.timeout, signal, (finish) => {
    const options: https.RequestOptions = {
      host: address,
      port: check.port,
      path: check.path,
      method: 'GET',
      headers: requestHeaders(hostHeader(address, check.host), check.headers, reuse),
      agent: (reuse ? kept : fresh)[secure ? 'https' : 'http'],
    };
    if (secure) {
      options.rejectUnauthorized = check.tlsVerify;
      const servername = sniName(address, check.host);
      if (servername !== undefined) options.servername = servername;
    }
    let req: http.ClientRequest;
    let keep = false;
    let retried = false;
    let answered = false;
    let over = false;
    const send = (): void => {
      const r = (secure ? https : http).request(options);
      req = r;
      r.on('error', (err) => {
        // A kept connection the target closed while it was idle: once more, on a new one.
        if (reuse && r.reusedSocket && !retried && !answered && !over) {
          retried = true;
          send();
          return;
        }
        finish(false, errorReason(err, secure), err);
      });
      r.on('response', (res) => {
        answered = true;
        onResponse(res);
      });
      r.end();
    };
    const onResponse = (res: http.IncomingMessage): void => {
      res.on('error', (err) => finish(false, errorReason(err, secure), err));
      const status = res.statusCode ?? 0;
      const statusOk = statusMatches(status, check.expect.status);
      const want = check.expect.body;
      const needle = want === undefined || want === '' ? undefined : Buffer.from(want, 'utf8');
      if (!reuse) {
        if (!statusOk) return finish(false, `status ${status}`);
        if (!needle) return finish(true, `status ${status}`);
      }
      // Reading the body: for expect.body, or (reuse) to leave the connection ready for the next probe.
      let seen: Buffer | undefined;
      let found = false;
      res.on('data', (chunk: Buffer) => {
        if (!needle || found) return;
        const room = BODY_LIMIT - (seen?.length ?? 0);
        seen = seen ? Buffer.concat([seen, chunk.length > room ? chunk.subarray(0, room) : chunk]) : chunk.length > room ? chunk.subarray(0, room) : chunk;
        if (seen.includes(needle)) {
          found = true;
          if (!reuse) finish(true, `status ${status}`);
        } else if (seen.length >= BODY_LIMIT) finish(false, 'body mismatch');
      });
      res.on('end', () => {
        keep = reuse;
        if (!statusOk) finish(false, `status ${status}`);
        else if (needle && !found) finish(false, 'body mismatch');
        else finish(true, `status ${status}`);
      });
      res.on('close', () => finish(false, res.complete ? 'body mismatch' : 'reset'));
    };
    send();
    return () => {
      over = true;
      // A whole response read on a kept connection: the agent keeps it for the next probe.
      if (!keep) req.destroy();
    };
  });
};
