/**
 * One base error with a stable `code` (see design.md, "Conventions").
 * Everything failoverd throws on purpose is a FailoverdError.
 */
import { inspect } from 'node:util';

export type ErrorCode =
  | 'CONFIG_INVALID'
  | 'ZONE_INVALID'
  | 'DNS_LISTEN_FAILED'
  | 'STATE_INVALID'
  | 'ROUTE53_THROTTLED'
  | 'ROUTE53_REJECTED'
  | 'ROUTE53_UNAVAILABLE'
  | 'ROUTE53_STOPPED'
  | 'RFC2136_UNREACHABLE'
  | 'RFC2136_REFUSED'
  | 'RFC2136_PREREQUISITE_FAILED'
  | 'RFC2136_CONFLICT'
  | 'PLAN_UNSAFE'
  | 'CLUSTER_NOT_LEADER'
  | 'CLUSTER_UNAVAILABLE'
  | 'CLUSTER_INSTANCE_TAKEN'
  | 'MAINTENANCE_RUN_FAILED'
  | 'INTERNAL';

export class FailoverdError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'FailoverdError';
    this.code = code;
  }
}

/** The most characters of a user-given value that a message shows. */
export const SHOWN_MAX = 80;

const CONTROL_ESCAPES: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * A user-given value as a message shows it: control characters escaped (a
 * message stays one line), at most `max` characters, and when cut, its
 * whole size: aaaa…(1048576 bytes). Messages never echo a value whole.
 */
export function shown(value: string, max = SHOWN_MAX): string {
  const { head, more } = headOf(value, max);
  return head + more;
}

/** shown(), in double quotes: how a message quotes a user-given value ("aaaa"…(1048576 bytes)). */
export function quote(value: string, max = SHOWN_MAX): string {
  const { head, more } = headOf(value, max);
  return `"${head}"${more}`;
}

function headOf(value: string, max: number): { head: string; more: string } {
  let head = value.length > max ? value.slice(0, max) : value;
  if (head.length < value.length && /[\uD800-\uDBFF]$/.test(head)) head = head.slice(0, -1);
  head = head.replace(/[\u0000-\u001f\u007f]/g, (c) => CONTROL_ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return { head, more: value.length > max ? `…(${Buffer.byteLength(value)} bytes)` : '' };
}

/** What went wrong, for a message: the error's code (ENOENT, ...) or its message, never "[object Object]". */
export function errorText(err: unknown): string {
  if (typeof err === 'object' && err !== null) {
    const { code, message } = err as { code?: unknown; message?: unknown };
    if (typeof code === 'string' && code) return code;
    if (typeof message === 'string' && message) return shown(message, 200);
  }
  return shown(typeof err === 'string' ? err : inspect(err, { depth: 2, breakLength: Infinity }), 200);
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
