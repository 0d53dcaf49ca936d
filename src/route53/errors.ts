/** Route 53 failures as FailoverdErrors with stable codes, plus how to classify SDK errors. */
import { FailoverdError } from '../errors.ts';

export type Route53ErrorCode = 'ROUTE53_THROTTLED' | 'ROUTE53_REJECTED' | 'ROUTE53_UNAVAILABLE';

export class Route53Error extends FailoverdError {
  /** Route 53's error code ("Throttling", "InvalidChangeBatch", ...) or the network error code. */
  readonly awsCode: string;
  readonly httpStatus?: number;
  /** How many requests were made before giving up. */
  readonly attempts: number;
  constructor(code: Route53ErrorCode, message: string, info: { awsCode: string; httpStatus?: number; attempts: number; cause?: unknown }) {
    super(code, message, { cause: info.cause });
    this.name = 'Route53Error';
    this.awsCode = info.awsCode;
    if (info.httpStatus !== undefined) this.httpStatus = info.httpStatus;
    this.attempts = info.attempts;
  }
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNABORTED', 'UND_ERR_SOCKET',
]);

export type ErrorClass = 'throttled' | 'busy' | 'server' | 'network' | 'rejected';

interface SdkLikeError {
  name?: string;
  code?: string;
  Code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  $fault?: string;
}

export function awsCodeOf(err: unknown): string {
  const e = err as SdkLikeError;
  return String(e?.Code ?? (e?.$metadata ? e?.name : undefined) ?? e?.code ?? e?.name ?? 'Error');
}

export function httpStatusOf(err: unknown): number | undefined {
  return (err as SdkLikeError)?.$metadata?.httpStatusCode;
}

/** Which errors are worth another attempt, and which are final. */
export function classify(err: unknown): ErrorClass {
  if (err instanceof Route53Error) return err.code === 'ROUTE53_REJECTED' ? 'rejected' : err.code === 'ROUTE53_THROTTLED' ? 'throttled' : 'network';
  const e = err as SdkLikeError;
  const code = awsCodeOf(err);
  const status = httpStatusOf(err);
  if (code === 'Throttling' || code === 'ThrottlingException' || code === 'TooManyRequestsException' || code === 'RequestLimitExceeded' || status === 429) return 'throttled';
  if (code === 'PriorRequestNotComplete') return 'busy';
  if (status !== undefined && status >= 500) return 'server';
  if (status !== undefined) return 'rejected';
  if (NETWORK_CODES.has(String(e?.code)) || e?.name === 'TimeoutError' || e?.name === 'AbortError' || code === 'RequestTimeout') return 'network';
  // Bugs in our own code are final.
  if (err instanceof TypeError || err instanceof RangeError || err instanceof SyntaxError) return 'rejected';
  // No HTTP response at all (socket errors, cut connections): transient.
  return 'network';
}

export function toRoute53Error(err: unknown, attempts: number): Route53Error {
  if (err instanceof Route53Error) return err;
  const cls = classify(err);
  const awsCode = awsCodeOf(err);
  const status = httpStatusOf(err);
  const msg = (err as SdkLikeError)?.message ?? String(err);
  const code: Route53ErrorCode = cls === 'throttled' ? 'ROUTE53_THROTTLED' : cls === 'rejected' ? 'ROUTE53_REJECTED' : 'ROUTE53_UNAVAILABLE';
  const verb = cls === 'rejected' ? 'rejected' : 'failed';
  return new Route53Error(code, `Route 53 ${verb}: ${awsCode}: ${msg}${attempts > 1 ? ` (after ${attempts} attempts)` : ''}`, {
    awsCode,
    ...(status !== undefined ? { httpStatus: status } : {}),
    attempts,
    cause: err,
  });
}
