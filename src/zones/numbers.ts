/**
 * Numbers in master files. TTLs and SOA timers take BIND's units
 * (w, d, h, m, s, case-insensitive, combinable: "1h30m") or plain seconds.
 */
import { quote } from '../errors.ts';
import { fail, ok, type Result } from './types.ts';

export const MAX_TTL = 2 ** 31 - 1; // RFC 2181 §8
export const MAX_U32 = 2 ** 32 - 1;

const UNIT_SECONDS: Record<string, number> = { w: 604800, d: 86400, h: 3600, m: 60, s: 1 };

/** `what` names the field in messages ("TTL", "SOA refresh"). */
export function parseTtl(text: string, what = 'TTL', max = MAX_TTL): Result<number> {
  let value: number;
  if (/^[0-9]+$/.test(text)) {
    value = Number(text);
  } else if (/^([0-9]+[wdhms])+$/i.test(text)) {
    value = 0;
    for (const m of text.matchAll(/([0-9]+)([wdhms])/gi)) value += Number(m[1]) * UNIT_SECONDS[m[2]!.toLowerCase()]!;
  } else {
    return fail(`${what} ${quote(text)} is not a number`);
  }
  if (value > max) return fail(`${what} ${text} is out of range 0..${max}`);
  return ok(value);
}

/** A plain decimal integer in 0..max. */
export function parseUint(text: string, what: string, max: number): Result<number> {
  if (!/^[0-9]+$/.test(text)) return fail(`${what} ${quote(text)} is not a number`);
  const value = Number(text);
  if (value > max) return fail(`${what} ${text} is out of range 0..${max}`);
  return ok(value);
}
