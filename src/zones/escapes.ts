/** Master-file escapes in text: `\X` is X itself, `\DDD` is the octet DDD (decimal). */
import { quote } from '../errors.ts';
import { fail, ok, type Result } from './types.ts';

/** Decodes a token (quoted or not, escapes as written) to its octets. */
export function decodeText(raw: string): Result<Buffer> {
  const bytes: number[] = [];
  const chars = Array.from(raw); // code points, so non-ASCII text becomes UTF-8
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i]!;
    if (ch !== '\\') {
      bytes.push(...Buffer.from(ch, 'utf8'));
      continue;
    }
    const next = chars[i + 1];
    if (next === undefined) return fail(`backslash at the end of ${quote(raw)}`);
    if (/[0-9]/.test(next)) {
      const digits = chars.slice(i + 1, i + 4).join('');
      if (!/^[0-9]{3}$/.test(digits)) return fail(`bad escape "\\${digits}" in ${quote(raw)}: \\DDD needs three decimal digits`);
      const value = Number(digits);
      if (value > 255) return fail(`bad escape "\\${digits}" in ${quote(raw)}: more than 255`);
      bytes.push(value);
      i += 3;
    } else {
      bytes.push(...Buffer.from(next, 'utf8'));
      i += 1;
    }
  }
  return ok(Buffer.from(bytes));
}

/** One <character-string> holds at most 255 octets: longer text is split into 255-octet chunks. */
export function splitCharacterStrings(data: Buffer): Buffer[] {
  if (data.length <= 255) return [data];
  const chunks: Buffer[] = [];
  for (let i = 0; i < data.length; i += 255) chunks.push(data.subarray(i, i + 255));
  return chunks;
}
