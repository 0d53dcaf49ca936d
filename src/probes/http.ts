/**
 * HttpProbe: GET check.path on address:check.port over http or https.
 * One request, no keep-alive (agent: false, Connection: close), one hard
 * timer of check.timeout for connect + response + body, socket destroyed at
 * the end. The body is searched for check.expect.body in its first
 * BODY_LIMIT bytes only; reading stops there.
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

function requestHeaders(host: string, extra: Record<string, string>): Record<string, string> {
  const headers: Record<string, string> = { Host: host, 'User-Agent': USER_AGENT, Connection: 'close' };
  for (const [name, value] of Object.entries(extra)) {
    for (const existing of Object.keys(headers)) if (existing.toLowerCase() === name.toLowerCase()) delete headers[existing];
    headers[name] = value;
  }
  return headers;
}

export const httpProbe: ProbeFn = (spec, signal) => {
  const { address, check } = spec;
  const secure = check.type === 'https';
  return probeAttempt(check.timeout, signal, (finish) => {
    const options: https.RequestOptions = {
      host: address,
      port: check.port,
      path: check.path,
      method: 'GET',
      headers: requestHeaders(hostHeader(address, check.host), check.headers),
      agent: false,
    };
    if (secure) {
      options.rejectUnauthorized = check.tlsVerify;
      const servername = sniName(address, check.host);
      if (servername !== undefined) options.servername = servername;
    }
    const req = (secure ? https : http).request(options);
    req.on('error', (err) => finish(false, errorReason(err, secure)));
    req.on('response', (res) => {
      res.on('error', (err) => finish(false, errorReason(err, secure)));
      const status = res.statusCode ?? 0;
      if (!statusMatches(status, check.expect.status)) return finish(false, `status ${status}`);
      const want = check.expect.body;
      if (want === undefined || want === '') return finish(true, `status ${status}`);
      const needle = Buffer.from(want, 'utf8');
      let seen = Buffer.alloc(0);
      res.on('data', (chunk: Buffer) => {
        const room = BODY_LIMIT - seen.length;
        seen = Buffer.concat([seen, chunk.length > room ? chunk.subarray(0, room) : chunk]);
        if (seen.includes(needle)) finish(true, `status ${status}`);
        else if (seen.length >= BODY_LIMIT) finish(false, 'body mismatch');
      });
      res.on('end', () => finish(false, 'body mismatch'));
      res.on('close', () => finish(false, res.complete ? 'body mismatch' : 'reset'));
    });
    req.end();
    return () => {
      req.destroy();
    };
  });
};
