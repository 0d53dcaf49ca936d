/**
 * How the CLI reaches a daemon's admin API: http:// or https:// (with
 * `--cacert` for a private CA, `--cert`/`--key` for a client certificate),
 * and the bearer token from `--token-file`, FAILOVERD_ADMIN_TOKEN_FILE,
 * `--token` or FAILOVERD_ADMIN_TOKEN (files first: a token on the command
 * line shows in `ps`).
 */
import { readFileSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface AdminClientOpts {
  admin?: string;
  token?: string;
  tokenFile?: string;
  cacert?: string;
  cert?: string;
  key?: string;
}

export const DEFAULT_ADMIN = 'http://127.0.0.1:8053';

/** An option's file could not be read: the message names the option. */
export class ClientSetupError extends Error {}

function readOptionFile(what: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new ClientSetupError(`cannot read ${what} ${file}: ${(err as Error).message}`);
  }
}

export function tokenOf(opts: AdminClientOpts, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const file = opts.tokenFile ?? (env.FAILOVERD_ADMIN_TOKEN_FILE || undefined);
  if (file !== undefined) {
    const value = readOptionFile('the token file', file).toString('utf8').trim();
    if (!value) throw new ClientSetupError(`the token file ${file} is empty`);
    return value;
  }
  return opts.token ?? (env.FAILOVERD_ADMIN_TOKEN || undefined);
}

export function baseUrl(opts: AdminClientOpts, env: NodeJS.ProcessEnv = process.env): string {
  return (opts.admin ?? env.FAILOVERD_ADMIN ?? DEFAULT_ADMIN).replace(/\/+$/, '');
}

/** One request; resolves with the status and body text, rejects on a connection or TLS error. */
export function adminRequest(opts: AdminClientOpts, method: string, path: string, body?: unknown, timeoutMs = 15_000): Promise<{ status: number; text: string }> {
  const url = new URL(baseUrl(opts) + path);
  const token = tokenOf(opts);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const https = url.protocol === 'https:';
  if (!https && (opts.cacert || opts.cert || opts.key)) throw new ClientSetupError(`--cacert, --cert and --key need an https:// admin URL, not ${url.origin}`);
  if ((opts.cert === undefined) !== (opts.key === undefined)) throw new ClientSetupError('give --cert and --key together (the client certificate and its key)');
  const tls = https
    ? {
        ...(opts.cacert ? { ca: readOptionFile('--cacert', opts.cacert) } : {}),
        ...(opts.cert ? { cert: readOptionFile('--cert', opts.cert), key: readOptionFile('--key', opts.key!) } : {}),
        minVersion: 'TLSv1.2' as const,
      }
    : {};
  const headers: Record<string, string> = {
    // Changes are sent as JSON (the API refuses other types, which a web page could send).
    ...(method !== 'GET' ? { 'content-type': 'application/json' } : {}),
    ...(token ? { authorization: `Bearer ${token}` } : {}),
    ...(payload !== undefined ? { 'content-length': String(Buffer.byteLength(payload)) } : {}),
  };
  return new Promise((resolve, reject) => {
    const req = (https ? httpsRequest : httpRequest)(url, { method, headers, timeout: timeoutMs, agent: false, ...tls }, (res: IncomingMessage) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error(`no answer within ${timeoutMs / 1000} s`), { code: 'ETIMEDOUT' })));
    req.on('error', reject);
    req.end(payload);
  });
}
