/**
 * Turns a socket/TLS/HTTP error into a short, specific probe reason:
 * "refused", "reset", "unreachable", "TLS error <CODE>", else the error code;
 * and tells errors of this machine (local) from errors of the target.
 */
import type { LocalProbeError } from './types.ts';

const NETWORK_REASONS: Record<string, string> = {
  ECONNREFUSED: 'refused',
  ECONNRESET: 'reset',
  EPIPE: 'reset',
  EHOSTUNREACH: 'unreachable',
  ENETUNREACH: 'unreachable',
};

/**
 * Errors of this machine, not of the target: out of file descriptors
 * (EMFILE, ENFILE), of local addresses or ephemeral ports (EADDRNOTAVAIL),
 * of kernel buffers (ENOBUFS). A probe that fails on one says nothing about
 * the target.
 */
export const LOCAL_ERROR_CODE_LIST = ['EMFILE', 'ENFILE', 'EADDRNOTAVAIL', 'ENOBUFS'] as const;
const LOCAL_ERROR_CODES = new Set<string>(LOCAL_ERROR_CODE_LIST);

/** OpenSSL verification codes and Node's TLS/SSL error codes. */
const TLS_CODE = /CERT|SSL|TLS|ISSUER|SIGNATURE|HOSTNAME/;

export function errorCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string') return err.code;
  return undefined;
}

/** The local error `err` is (see LOCAL_ERROR_CODES), or undefined for anything else. */
export function localProbeError(err: unknown): LocalProbeError | undefined {
  const code = errorCode(err);
  return code !== undefined && LOCAL_ERROR_CODES.has(code) && err instanceof Error ? { code, err } : undefined;
}

/** The reason of a probe that failed on a local error: it says that it is not counted. */
export function localReason(code: string): string {
  return `local error ${code} (not counted)`;
}

export function errorReason(err: unknown, tls = false): string {
  const code = errorCode(err);
  if (code !== undefined) {
    const known = NETWORK_REASONS[code];
    if (known !== undefined) return known;
    if (tls && TLS_CODE.test(code)) return `TLS error ${code}`;
    return code;
  }
  const message = err instanceof Error ? err.message : String(err);
  return message.length > 80 ? `${message.slice(0, 77)}...` : message;
}
