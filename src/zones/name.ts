/**
 * Domain names as written in a master file: `@`, relative names (appended to
 * the current origin), absolute names (trailing dot), `\X` and `\DDD` escapes.
 * Result: absolute, without the trailing dot, case preserved.
 * An escaped dot inside a label cannot be represented in the dot-separated
 * string form of dns-model/records.ts, so it is rejected with a clear error.
 */
import { quote } from '../errors.ts';
import { fail, ok, type Result } from './types.ts';

export const MAX_LABEL = 63;
export const MAX_NAME = 255;

/** How a name is shown in messages: the root is ".". */
export const showName = (name: string): string => (name === '' ? '.' : name);

/**
 * Why `name` (dotted text, no trailing dot, no escapes; "" is the root)
 * cannot be a domain name, or undefined: printable ASCII only, no empty
 * label, labels of at most 63 octets, at most 255 octets in all (RFC 1035 §2.3.4).
 */
export function nameProblem(name: string): string | undefined {
  if (name === '') return undefined;
  const odd = /[^\x21-\x7e]/u.exec(name);
  if (odd) return `character ${JSON.stringify(odd[0])} in name ${quote(name)} is not supported (use punycode for IDN)`;
  const labels = name.split('.');
  if (labels.includes('')) return `empty label in name ${quote(name)}`;
  const long = labels.find((l) => l.length > MAX_LABEL);
  if (long !== undefined) return `label ${quote(long)} in name ${quote(name)} is longer than ${MAX_LABEL} octets (${long.length})`;
  const wire = name.length + 2;
  if (wire > MAX_NAME) return `name ${quote(name)} is longer than ${MAX_NAME} octets (${wire} in wire form)`;
  return undefined;
}

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
      if (next === undefined) return fail(`backslash at the end of name ${quote(raw)}`);
      if (/[0-9]/.test(next)) {
        const digits = chars.slice(i + 1, i + 4).join('');
        if (!/^[0-9]{3}$/.test(digits)) return fail(`bad escape "\\${digits}" in name ${quote(raw)}: \\DDD needs three decimal digits`);
        code = Number(digits);
        if (code > 255) return fail(`bad escape "\\${digits}" in name ${quote(raw)}: more than 255`);
        i += 3;
      } else {
        code = next.codePointAt(0)!;
        i += 1;
      }
      if (code === 0x2e) return fail(`escaped dot inside a label of name ${quote(raw)} is not supported`);
    } else if (ch === '.') {
      if (label === '') return fail(`empty label in name ${quote(raw)}`);
      labels.push(label);
      label = '';
      if (i === chars.length - 1) absolute = true;
      continue;
    } else {
      code = ch.codePointAt(0)!;
    }
    if (code < 0x21 || code > 0x7e) {
      return fail(`character ${code > 255 ? JSON.stringify(String.fromCodePoint(code)) : '\\' + String(code).padStart(3, '0')} in name ${quote(raw)} is not supported (use punycode for IDN)`);
    }
    label += String.fromCharCode(code);
  }
  if (label !== '') labels.push(label);
  let name = labels.join('.');
  if (!absolute) {
    if (origin === undefined) return fail(`no $ORIGIN or origin for relative name ${quote(raw)}`);
    if (origin !== '') name = name + '.' + origin;
  }
  const problem = nameProblem(name);
  if (problem !== undefined) return fail(problem);
  return ok(name);
}
