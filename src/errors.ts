/**
 * One base error with a stable `code` (see design.md, "Conventions").
 * Everything failoverd throws on purpose is a FailoverdError.
 */
export type ErrorCode =
  | 'CONFIG_INVALID'
  | 'ZONE_INVALID'
  | 'DNS_LISTEN_FAILED'
  | 'STATE_INVALID'
  | 'ROUTE53_THROTTLED'
  | 'ROUTE53_REJECTED'
  | 'ROUTE53_UNAVAILABLE'
  | 'PLAN_UNSAFE'
  | 'INTERNAL';

export class FailoverdError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'FailoverdError';
    this.code = code;
  }
}

/** Where a problem was found: a file, and a line or a field path (or both). */
export interface Problem {
  file: string;
  line?: number;
  path?: string;
  message: string;
}

export function formatProblem(p: Problem): string {
  const where = [p.file + (p.line !== undefined ? `:${p.line}` : ''), p.path].filter(Boolean).join(' ');
  return `${where}: ${p.message}`;
}

/** Every problem of a config or zone file, reported at once. */
export class ProblemsError extends FailoverdError {
  readonly problems: Problem[];
  constructor(code: 'CONFIG_INVALID' | 'ZONE_INVALID', problems: Problem[]) {
    super(code, `${problems.length} problem${problems.length === 1 ? '' : 's'}:\n` + problems.map((p) => '  ' + formatProblem(p)).join('\n'));
    this.name = 'ProblemsError';
    this.problems = problems;
  }
}
