/**
 * Turns a socket/TLS/HTTP error into a short, specific probe reason:
 * "refused", "reset", "unreachable", "TLS error <CODE>", else the error code.
 */
const NETWORK_REASONS: Record<string, string> = {
  ECONNREFUSED: 'refused',
  ECONNRESET: 'reset',
  EPIPE: 'reset',
  EHOSTUNREACH: 'unreachable',
  ENETUNREACH: 'unreachable',
};

/** OpenSSL verification codes and Node's TLS/SSL error codes. */
const TLS_CODE = /CERT|SSL|TLS|ISSUER|SIGNATURE|HOSTNAME/;

export function errorCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string') return err.code;
  return undefined;
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
