/**
 * RFC 2136 failures as FailoverdErrors with stable codes and the server's
 * RCODE (or TSIG error) by name, as status, metrics and logs show it:
 *  - RFC2136_UNREACHABLE: no answer (timeout, connection refused or reset);
 *  - RFC2136_REFUSED: REFUSED, NOTAUTH, NOTZONE, SERVFAIL, FORMERR, NOTIMP,
 *    or a TSIG error (BADSIG, BADKEY, BADTIME) or an answer that fails TSIG;
 *  - RFC2136_PREREQUISITE_FAILED: YXRRSET, NXRRSET, NXDOMAIN, YXDOMAIN: the
 *    server holds something else than failoverd last read or wrote.
 * Every one is retried with backoff; the RCODE stays visible meanwhile.
 */
import { FailoverdError } from '../errors.ts';

export type Rfc2136ErrorCode = 'RFC2136_UNREACHABLE' | 'RFC2136_REFUSED' | 'RFC2136_PREREQUISITE_FAILED' | 'RFC2136_CONFLICT';

const PREREQUISITE = new Set(['YXRRSET', 'NXRRSET', 'NXDOMAIN', 'YXDOMAIN']);

export class Rfc2136Error extends FailoverdError {
  /** The RCODE or TSIG error by name ("NOTAUTH", "BADSIG", "NXRRSET"), "TIMEOUT" or the socket error code. */
  readonly rcode: string;
  constructor(code: Rfc2136ErrorCode, rcode: string, message: string, cause?: unknown) {
    super(code, message, { cause });
    this.name = 'Rfc2136Error';
    this.rcode = rcode;
  }
}

/** The error for an answer's RCODE (or TSIG error) name. */
export function rcodeError(rcode: string, what: string): Rfc2136Error {
  const code: Rfc2136ErrorCode = PREREQUISITE.has(rcode) ? 'RFC2136_PREREQUISITE_FAILED' : 'RFC2136_REFUSED';
  const why = PREREQUISITE.has(rcode) ? ': a prerequisite failed (the server holds something else than failoverd last read or wrote)' : '';
  return new Rfc2136Error(code, rcode, `${what}: ${rcode}${why}`);
}

export function unreachable(rcode: string, what: string, cause?: unknown): Rfc2136Error {
  return new Rfc2136Error('RFC2136_UNREACHABLE', rcode, `${what}: ${rcode === 'TIMEOUT' ? 'no answer in time' : rcode}`, cause);
}
