/**
 * Schema problems as a user reads them. zod says `Invalid input: expected
 * number, received string`; failoverd says what the key takes, as the
 * configuration reference gives it, and what it found:
 *   fall: expected a whole number from 1 to 100 (e.g. 3), got "two"
 * and for an unknown key, the allowed key at that place it is closest to:
 *   unknown key "fal" (did you mean "fall"?)
 * Messages the schema words itself (a refine's text) are kept as they are.
 */
import { quote } from '../errors.ts';
import { configKeys, type KeyRow } from './config-keys.ts';
import { CONFIG_REFERENCE } from './reference.ts';

/** zod's own wording (the defaults), which says nothing of the key: these are rewritten. */
const GENERIC = /^(Invalid input|Invalid option|Too small|Too big|Invalid string|Invalid number|Invalid element)/;

let rows: KeyRow[] | undefined;

/** The reference row of a key at `path` (map names and list indexes as they are written), or undefined. */
function rowAt(path: ReadonlyArray<PropertyKey>): KeyRow | undefined {
  rows ??= configKeys();
  let best: { row: KeyRow; names: number } | undefined;
  for (const row of rows) {
    const names = matchSegments(segmentsOf(row.path), path);
    if (names !== undefined && (!best || names < best.names)) best = { row, names };
  }
  return best?.row;
}

/** "records[].targets[].address" → records, [], targets, [], address. */
function segmentsOf(rowPath: string): string[] {
  return rowPath.split('.').flatMap((part) => {
    const m = /^(.*?)((?:\[\])*)$/.exec(part)!;
    return [m[1]!, ...Array.from({ length: m[2]!.length / 2 }, () => '[]')];
  });
}

/** How many `<name>` segments it took to match, or undefined when the row is not this path. */
function matchSegments(segments: string[], path: ReadonlyArray<PropertyKey>): number | undefined {
  if (segments.length !== path.length) return undefined;
  let names = 0;
  for (let i = 0; i < segments.length; i++) {
    const s = segments[i]!;
    const p = path[i]!;
    if (s === '[]') {
      if (typeof p !== 'number') return undefined;
    } else if (s === '<name>') {
      if (typeof p !== 'string') return undefined;
      names++;
    } else if (s !== p) return undefined;
  }
  return names;
}

/** "integer (1–100)" → "a whole number from 1 to 100", as a sentence reads it. */
function formOf(type: string): string {
  const int = /^integer(?: \((.*)\))?$/.exec(type);
  if (int) return `a whole number${boundsText(int[1])}`;
  const num = /^number(?: \((.*)\))?$/.exec(type);
  if (num) return `a number${boundsText(num[1])}`;
  if (type === 'duration') return 'a duration ("250ms", "1s", "5m") or a number of milliseconds';
  if (type === 'boolean') return 'true or false';
  if (type === 'string') return 'a string';
  if (type === 'URL') return 'a URL';
  if (/^"[^"]*"( \| "[^"]*")+$/.test(type)) return `one of ${type.split(' | ').join(', ')}`;
  if (/^(list|map|object)/.test(type)) return `a ${type}`;
  return type;
}

function boundsText(b: string | undefined): string {
  if (!b) return '';
  const range = /^(-?[\d.]+)–(-?[\d.]+)$/.exec(b);
  if (range) return ` from ${range[1]} to ${range[2]}`;
  return ` ${b}`;
}

/** The value found, as a message shows it. */
function foundText(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'an empty value';
  if (typeof value === 'string') return quote(value);
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a map';
  return String(value);
}

function valueAt(root: unknown, path: ReadonlyArray<PropertyKey>): unknown {
  let cur = root;
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[seg];
  }
  return cur;
}

/** The message for a schema problem at `path` of the parsed YAML `root`: zod's generic wording replaced by the key's expected form and the value found. */
export function friendlyMessage(message: string, path: ReadonlyArray<PropertyKey>, root: unknown): string {
  if (!GENERIC.test(message)) return message;
  const row = rowAt(path);
  if (!row) return message;
  const doc = CONFIG_REFERENCE[row.path];
  const example = doc?.example !== undefined ? ` (e.g. ${doc.example})` : '';
  return `expected ${formOf(doc?.type ?? row.type)}${example}, got ${foundText(valueAt(root, path))}`;
}

/** The message for an unknown key in the object at `path`: with the allowed key it is closest to, when one is close. */
export function unknownKeyMessage(key: string, path: ReadonlyArray<PropertyKey>): string {
  const near = closestKey(key, allowedKeys(path));
  return `unknown key ${quote(key)}${near ? ` (did you mean "${near}"?)` : ''}`;
}

/** The keys the reference allows in the object at `path`. */
function allowedKeys(path: ReadonlyArray<PropertyKey>): string[] {
  rows ??= configKeys();
  const out: string[] = [];
  for (const row of rows) {
    const segments = segmentsOf(row.path);
    const last = segments.at(-1)!;
    if (last === '[]' || last === '<name>') continue;
    if (matchSegments(segments.slice(0, -1), path) !== undefined) out.push(last);
  }
  return out;
}

/** The allowed key within a small edit distance of `key` (1 for short keys, 2 from 6 letters), or undefined. */
function closestKey(key: string, allowed: string[]): string | undefined {
  if (key.length > 64) return undefined;
  const limit = key.length >= 6 ? 2 : 1;
  let best: { key: string; d: number } | undefined;
  for (const k of allowed) {
    const d = editDistance(key.toLowerCase(), k.toLowerCase());
    if (d <= limit && (!best || d < best.d)) best = { key: k, d };
  }
  return best?.key;
}

/** Levenshtein distance (insert, delete, substitute). */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}
