/** RDATA of the supported types, from the tokens after the type. */
import { isIPv4, isIPv6 } from 'node:net';
import { quote } from '../errors.ts';
import type { RData, RRType } from '../dns-model/records.ts';
import { decodeText, splitCharacterStrings } from './escapes.ts';
import { parseName } from './name.ts';
import { MAX_U32, parseTtl, parseUint } from './numbers.ts';
import type { LineProblem, Result, Token } from './types.ts';

type FieldKind = 'name' | 'u8' | 'u16' | 'u32' | 'ttl32' | 'ipv4' | 'ipv6' | 'tag' | 'text';

/** The fields of each type, in order: [label used in messages, kind]. TXT is special (1 or more strings). */
const FIELDS: Record<Exclude<RRType, 'TXT'>, [string, FieldKind][]> = {
  A: [['address', 'ipv4']],
  AAAA: [['address', 'ipv6']],
  CNAME: [['target', 'name']],
  NS: [['host', 'name']],
  PTR: [['target', 'name']],
  MX: [['preference', 'u16'], ['exchange', 'name']],
  SRV: [['priority', 'u16'], ['weight', 'u16'], ['port', 'u16'], ['target', 'name']],
  CAA: [['flags', 'u8'], ['tag', 'tag'], ['value', 'text']],
  SOA: [['mname', 'name'], ['rname', 'name'], ['serial', 'u32'], ['refresh', 'ttl32'], ['retry', 'ttl32'], ['expire', 'ttl32'], ['minimum', 'ttl32']],
};

export type RDataResult = { ok: true; data: RData } | { ok: false; problems: LineProblem[] };

/**
 * `line` is the entry's line (for "missing field" problems); field problems
 * carry the line of their token. `origin` completes relative names.
 */
export function parseRData(type: RRType, tokens: Token[], line: number, origin: string | undefined): RDataResult {
  const problems: LineProblem[] = [];
  if (type === 'TXT') {
    if (tokens.length === 0) return { ok: false, problems: [{ line, message: 'TXT record needs at least one string' }] };
    const strings: Buffer[] = [];
    for (const t of tokens) {
      const r = decodeText(t.text);
      if (r.ok) strings.push(...splitCharacterStrings(r.value));
      else problems.push({ line: t.line, message: `TXT: ${r.error}` });
    }
    return problems.length ? { ok: false, problems } : { ok: true, data: { type, strings } };
  }

  const fields = FIELDS[type];
  if (tokens.length < fields.length) {
    const missing = fields.slice(tokens.length).map(([n]) => n).join(', ');
    return { ok: false, problems: [{ line, message: `${type} record is missing ${missing} (needs ${fields.map(([n]) => n).join(' ')})` }] };
  }
  if (tokens.length > fields.length) {
    const extra = tokens[fields.length]!;
    problems.push({ line: extra.line, message: `too many fields for ${type} record: unexpected ${quote(extra.text)}` });
  }
  const values: (string | number | Buffer)[] = [];
  fields.forEach(([label, kind], i) => {
    const t = tokens[i]!;
    const r = parseField(type, label, kind, t, origin);
    if (r.ok) values.push(r.value);
    else problems.push({ line: t.line, message: r.error });
  });
  if (problems.length) return { ok: false, problems };
  return { ok: true, data: build(type, values) };
}

function parseField(type: RRType, label: string, kind: FieldKind, t: Token, origin: string | undefined): Result<string | number | Buffer> {
  const what = `${type} ${label}`;
  if (t.quoted && kind !== 'text') return { ok: false, error: `${what}: expected ${kind === 'name' ? 'a domain name' : 'a value'}, got the quoted string ${quote(t.text)}` };
  switch (kind) {
    case 'name': {
      const r = parseName(t.text, origin);
      return r.ok ? r : { ok: false, error: `${what}: ${r.error}` };
    }
    case 'u8':
      return parseUint(t.text, what, 255);
    case 'u16':
      return parseUint(t.text, what, 65535);
    case 'u32':
      return parseUint(t.text, what, MAX_U32);
    case 'ttl32':
      return parseTtl(t.text, what, MAX_U32);
    case 'ipv4':
      return isIPv4(t.text) ? { ok: true, value: t.text } : { ok: false, error: `bad IPv4 address ${quote(t.text)}` };
    case 'ipv6':
      return isIPv6(t.text) && !t.text.includes('%') ? { ok: true, value: t.text.toLowerCase() } : { ok: false, error: `bad IPv6 address ${quote(t.text)}` };
    case 'tag':
      if (!/^[A-Za-z0-9]{1,15}$/.test(t.text)) return { ok: false, error: `${what} ${quote(t.text)} must be 1 to 15 letters or digits` };
      return { ok: true, value: t.text };
    case 'text': {
      const r = decodeText(t.text);
      return r.ok ? r : { ok: false, error: `${what}: ${r.error}` };
    }
  }
}

function build(type: Exclude<RRType, 'TXT'>, v: (string | number | Buffer)[]): RData {
  const s = (i: number) => v[i] as string;
  const n = (i: number) => v[i] as number;
  switch (type) {
    case 'A':
    case 'AAAA':
      return { type, address: s(0) };
    case 'CNAME':
    case 'PTR':
      return { type, target: s(0) };
    case 'NS':
      return { type, host: s(0) };
    case 'MX':
      return { type, preference: n(0), exchange: s(1) };
    case 'SRV':
      return { type, priority: n(0), weight: n(1), port: n(2), target: s(3) };
    case 'CAA':
      return { type, flags: n(0), tag: s(1), value: v[2] as Buffer };
    case 'SOA':
      return { type, mname: s(0), rname: s(1), serial: n(2), refresh: n(3), retry: n(4), expire: n(5), minimum: n(6) };
  }
}
