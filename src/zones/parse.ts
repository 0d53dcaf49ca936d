/**
 * RFC 1035 §5 master-file parser: text → ZoneFile, or a ProblemsError
 * ('ZONE_INVALID') listing every problem found, each with file and line.
 *
 * Default TTL (BIND 9 behaviour, lib/dns/master.c): a record without a TTL
 * gets, in order,
 *   1. the $TTL in effect (opts.defaultTtl acts as a $TTL set before line 1);
 *   2. else the TTL of the previous record (RFC 1035 "last stated" semantics);
 *   3. else, for the SOA, its MINIMUM field, which then also becomes the
 *      default for the records after it (as if $TTL had been set);
 *   4. else it is a problem ("no TTL specified").
 *
 * Zone origin: opts.origin, else the first $ORIGIN of the file, else
 * opts.fallbackOrigin (load.ts: the file name minus ".zone").
 * Relative names before any $ORIGIN use opts.origin ?? opts.fallbackOrigin.
 */
import { ProblemsError, quote, type Problem } from '../errors.ts';
import { canonicalName } from '../dns-model/names.ts';
import type { RRType, ZoneFile, ZoneFileRecord } from '../dns-model/records.ts';
import { nextTurn } from '../clock.ts';
import { checkZoneSteps } from './check.ts';
import { parseName } from './name.ts';
import { MAX_TTL, parseTtl } from './numbers.ts';
import { parseRData } from './rdata.ts';
import { drain, tokenizeSteps } from './tokenize.ts';
import type { Entry, LineProblem } from './types.ts';

export interface ParseZoneOptions {
  /** The file name used in problems and records (as given, never resolved). */
  file: string;
  /** The zone's origin; wins over $ORIGIN for the zone's identity. */
  origin?: string;
  /** Seconds; a $TTL in effect from the first line. */
  defaultTtl?: number;
  /** Origin used when neither `origin` nor a $ORIGIN gives one. */
  fallbackOrigin?: string;
}

const SUPPORTED = new Set<string>(['SOA', 'NS', 'A', 'AAAA', 'CNAME', 'MX', 'TXT', 'SRV', 'CAA', 'PTR']);

/** Real types this parser does not handle (reported as "not supported", not "unknown"). */
const KNOWN_UNSUPPORTED = new Set<string>([
  'MD', 'MF', 'MB', 'MG', 'MR', 'NULL', 'WKS', 'HINFO', 'MINFO', 'RP', 'AFSDB', 'X25', 'ISDN', 'RT', 'NSAP', 'SIG', 'KEY',
  'PX', 'GPOS', 'LOC', 'NXT', 'NAPTR', 'KX', 'CERT', 'A6', 'DNAME', 'APL', 'DS', 'SSHFP', 'IPSECKEY', 'RRSIG', 'NSEC',
  'DNSKEY', 'DHCID', 'NSEC3', 'NSEC3PARAM', 'TLSA', 'SMIMEA', 'HIP', 'CDS', 'CDNSKEY', 'OPENPGPKEY', 'CSYNC', 'ZONEMD',
  'SVCB', 'HTTPS', 'SPF', 'EUI48', 'EUI64', 'URI', 'DLV', 'ALIAS', 'ANAME',
]);

const CLASSES = /^(IN|CH|CS|HS|ANY|NONE|CLASS[0-9]+)$/i;

export function parseZoneText(text: string, opts: ParseZoneOptions): ZoneFile {
  return drain(parseZoneSteps(text, opts));
}

/**
 * parseZoneText() that lets the event loop run between steps of 1,024
 * lines: a reload of a zone of 200,000 records must not hold the
 * DNS answers for the second it takes to parse.
 */
export async function parseZoneTextAsync(text: string, opts: ParseZoneOptions): Promise<ZoneFile> {
  const steps = parseZoneSteps(text, opts);
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
    await nextTurn();
  }
}

function* parseZoneSteps(text: string, opts: ParseZoneOptions): Generator<void, ZoneFile> {
  const { file } = opts;
  /** Problems of the parse and the checks; the tokenizer's come first (they are known at its end). */
  let problems: LineProblem[] = [];
  const records: ZoneFileRecord[] = [];

  const givenOrigin = opts.origin === undefined ? undefined : canonicalName(opts.origin);
  const fallbackOrigin = opts.fallbackOrigin === undefined ? undefined : canonicalName(opts.fallbackOrigin);
  let currentOrigin: string | undefined = givenOrigin ?? fallbackOrigin;
  let firstDollarOrigin: string | undefined;

  let defaultTtl: number | undefined;
  if (opts.defaultTtl !== undefined) {
    if (!Number.isInteger(opts.defaultTtl) || opts.defaultTtl < 0 || opts.defaultTtl > MAX_TTL) {
      problems.push({ line: 1, message: `default TTL ${opts.defaultTtl} is out of range 0..${MAX_TTL}` });
    } else {
      defaultTtl = opts.defaultTtl;
    }
  }
  let lastTtl: number | undefined;
  /** The previous owner; null after an owner that could not be parsed (its followers are not reported again). */
  let previousOwner: string | null | undefined;

  // Each entry is parsed as soon as the tokenizer completes it.
  const { problems: lexProblems } = yield* tokenizeSteps(text, (entry) => {
    const first = entry.tokens[0]!;
    const isDirective = !entry.ownerOmitted && !first.quoted && first.text.startsWith('$');
    if (entry.broken) {
      if (!entry.ownerOmitted && !isDirective) previousOwner = null;
      return;
    }
    if (isDirective) directive(entry);
    else record(entry);
  });
  problems = lexProblems.concat(problems);

  function directive(entry: Entry): void {
    const [first, ...args] = entry.tokens;
    const name = first!.text.toUpperCase();
    const line = entry.line;
    if (name === '$ORIGIN' || name === '$TTL') {
      if (args.length !== 1) {
        problems.push({ line, message: `${name} needs exactly one argument, got ${args.length}` });
        return;
      }
      const arg = args[0]!;
      if (name === '$ORIGIN') {
        const r = parseName(arg.text, currentOrigin);
        if (!r.ok) return void problems.push({ line, message: `$ORIGIN: ${r.error}` });
        currentOrigin = r.value;
        firstDollarOrigin ??= canonicalName(r.value);
      } else {
        const r = parseTtl(arg.text, '$TTL');
        if (!r.ok) return void problems.push({ line, message: r.error });
        defaultTtl = r.value;
      }
    } else if (name === '$INCLUDE') {
      problems.push({ line, message: `$INCLUDE is not supported: put the records in this file` });
    } else {
      problems.push({ line, message: `unknown directive ${quote(first!.text)}` });
    }
  }

  function record(entry: Entry): void {
    const { tokens, line } = entry;
    let i = 0;
    let owner: string | undefined;
    if (entry.ownerOmitted) {
      if (previousOwner === undefined) problems.push({ line, message: 'no previous owner for a line starting with whitespace' });
      else if (previousOwner !== null) owner = previousOwner;
    } else {
      const t = tokens[i++]!;
      const r = t.quoted ? { ok: false as const, error: `owner name is a quoted string ${quote(t.text)}` } : parseName(t.text, currentOrigin);
      if (r.ok) owner = canonicalName(r.value);
      else problems.push({ line, message: r.error });
      previousOwner = r.ok ? owner : null;
    }

    // TTL and class, in either order, each optional.
    let explicitTtl: number | undefined;
    let ttlSeen = false;
    let classSeen = false;
    let fieldsOk = true;
    while (i < tokens.length) {
      const t = tokens[i]!;
      if (t.quoted) break;
      if (!ttlSeen && /^[0-9]/.test(t.text)) {
        ttlSeen = true;
        const r = parseTtl(t.text);
        if (r.ok) explicitTtl = r.value;
        else {
          problems.push({ line: t.line, message: r.error });
          fieldsOk = false;
        }
      } else if (!classSeen && CLASSES.test(t.text)) {
        classSeen = true;
        if (t.text.toUpperCase() !== 'IN') {
          problems.push({ line: t.line, message: `class ${quote(t.text)} is not supported (only IN)` });
          fieldsOk = false;
        }
      } else {
        break;
      }
      i++;
    }

    const typeToken = tokens[i];
    if (!typeToken) {
      problems.push({ line, message: `record has no type` });
      return;
    }
    const typeName = typeToken.text.toUpperCase();
    if (typeToken.quoted || !SUPPORTED.has(typeName)) {
      const message =
        KNOWN_UNSUPPORTED.has(typeName) || /^TYPE[0-9]+$/.test(typeName)
          ? `type ${quote(typeToken.text)} not supported`
          : `unknown type ${quote(typeToken.text)}`;
      problems.push({ line: typeToken.line, message });
      return;
    }
    const type = typeName as RRType;
    const rdata = parseRData(type, tokens.slice(i + 1), line, currentOrigin);
    if (!rdata.ok) problems.push(...rdata.problems);

    let ttl: number | undefined;
    if (explicitTtl !== undefined) ttl = explicitTtl;
    else if (!fieldsOk) ttl = undefined;
    else if (defaultTtl !== undefined) ttl = defaultTtl;
    else if (lastTtl !== undefined) ttl = lastTtl;
    else if (rdata.ok && rdata.data.type === 'SOA') ttl = defaultTtl = rdata.data.minimum;
    else if (rdata.ok) problems.push({ line, message: 'no TTL specified and no $TTL before this record' });
    if (ttl !== undefined) lastTtl = ttl;

    if (owner !== undefined && rdata.ok && ttl !== undefined && fieldsOk) {
      records.push({ name: owner, ttl, data: rdata.data, file, line });
    }
  }

  const origin = givenOrigin ?? firstDollarOrigin ?? fallbackOrigin;
  if (origin === undefined) {
    problems.push({ line: 1, message: 'no origin: the file has no $ORIGIN and none was given' });
  } else {
    problems.push(...(yield* checkZoneSteps(records, origin)));
  }

  if (problems.length > 0 || origin === undefined) {
    const sorted = problems.map((p, k) => ({ p, k })).sort((a, b) => a.p.line - b.p.line || a.k - b.k);
    throw new ProblemsError('ZONE_INVALID', sorted.map(({ p }): Problem => ({ file, line: p.line, message: p.message })));
  }
  return { origin, file, records };
}
