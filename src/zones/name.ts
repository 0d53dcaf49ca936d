/**
 * Domain names as written in a master file: `@`, relative names (appended to
 * the current origin), absolute names (trailing dot), `\X` and `\DDD` escapes.
 * Result: absolute, without the trailing dot, case preserved.
 * An escaped dot inside a label cannot be represented in the dot-separated
 * string form of records/types.ts, so it is rejected with a clear error.
 */
import { fail, ok, type Result } from './types.ts';

export const MAX_LABEL = 63;
export const MAX_NAME = 255;

/** How a name is shown in messages: the root is ".". */
export const showName = (name: string): string => (name === '' ? '.' : name);

/** `origin` is the current origin (absolute, no trailing dot), or undefined when none is known. */
export function parseName(raw: string, origin: string | undefined): Result<string> {
  if (raw === '@') {
    if (origin === undefined) return fail(`no $ORIGIN or origin for "@"`);
    return ok(origin);
  }
  if (raw === '.') return ok('');
  const labels: string[] = [];
  let label = '';
  let absolute = false;
  const chars = Array.from(raw);
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i]!;
    let code: number;
    if (ch === '\\') {
      const next = chars[i + 1];
      if (next === undefined) return fail(`backslash at the end of name "${raw}"`);
      if (/[0-9]/.test(next)) {
        const digits = chars.slice(i + 1, i + 4).join('');
        if (!/^[0-9]{3}$/.test(digits)) return fail(`bad escape "\\${digits}" in name "${raw}": \\DDD needs three decimal digits`);
        code = Number(digits);
        if (code > 255) return fail(`bad escape "\\${digits}" in name "${raw}": more than 255`);
        i += 3;
      } else {
        code = next.codePointAt(0)!;
        i += 1;
      }
      if (code === 0x2e) return fail(`escaped dot inside a label of name "${raw}" is not supported`);
    } else if (ch === '.') {
      if (label === '') return fail(`empty label in name "${raw}"`);
      labels.push(label);
      label = '';
      if (i === chars.length - 1) absolute = true;
      continue;
    } else {
      code = ch.codePointAt(0)!;
    }
    if (code < 0x21 || code > 0x7e) {
      return fail(`character ${code > 255 ? JSON.stringify(String.fromCodePoint(code)) : '\\' + String(code).padStart(3, '0')} in name "${raw}" is not supported (use punycode for IDN)`);
    }
    label += String.fromCharCode(code);
  }
  if (label !== '') labels.push(label);
  for (const l of labels) {
    if (l.length > MAX_LABEL) return fail(`label "${l.slice(0, 20)}..." in name "${raw}" is longer than ${MAX_LABEL} octets (${l.length})`);
  }
  let name = labels.join('.');
  if (!absolute) {
    if (origin === undefined) return fail(`no $ORIGIN or origin for relative name "${raw}"`);
    if (origin !== '') name = name + '.' + origin;
  }
  const wire = name === '' ? 1 : name.split('.').reduce((n, l) => n + l.length + 1, 1);
  if (wire > MAX_NAME) return fail(`name "${showName(name).slice(0, 40)}..." is longer than ${MAX_NAME} octets (${wire})`);
  return ok(name);
}
