/**
 * RFC 1035 §5.1 lexer: splits master-file text into entries of tokens.
 * Handles `;` comments (not inside quotes), quoted strings, backslash escapes
 * (kept as written, decoded later), and parentheses joining lines.
 */
import { shown } from '../errors.ts';
import type { Entry, LineProblem, Token } from './types.ts';

export interface Tokenized {
  entries: Entry[];
  problems: LineProblem[];
}

const DELIMITERS = new Set([' ', '\t', ';', '(', ')', '"']);

/** Lines (tokenizer) or entries (parser) handled between two yields of a stepped parse. */
export const STEP = 1024;

export function tokenize(text: string): Tokenized {
  return drain(tokenizeSteps(text));
}

/** Runs a stepped generator to its end at once. */
export function drain<T>(steps: Generator<void, T>): T {
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/**
 * tokenize() in steps: yields after every STEP lines (so a caller can let
 * other work run). With `onEntry`, each entry goes to it as soon as it is
 * complete, in order, instead of into `entries` (a parser that takes them
 * one by one keeps no tokens of the whole file alive).
 */
export function* tokenizeSteps(text: string, onEntry?: (entry: Entry) => void): Generator<void, Tokenized> {
  const lines = yield* linesSteps(text.replace(/^\uFEFF/, ''));
  const entries: Entry[] = [];
  const emit = onEntry ?? ((entry: Entry) => void entries.push(entry));
  const problems: LineProblem[] = [];

  let entry: Entry | undefined;
  let depth = 0;
  let openLine = 0; // line of the outermost open '('
  let i = 0;
  while (i < lines.length) {
    if (i % STEP === STEP - 1) yield;
    const lineNo = i + 1;
    const line = lines[i]!;
    let c = 0;
    while (c < line.length) {
      const ch = line[c]!;
      if (ch === ' ' || ch === '\t') {
        c++;
      } else if (ch === ';') {
        break;
      } else if (ch === '(') {
        if (depth === 0) openLine = lineNo;
        depth++;
        c++;
      } else if (ch === ')') {
        if (depth === 0) problems.push({ line: lineNo, message: `unbalanced parenthesis: ")" without "("` });
        else depth--;
        c++;
      } else {
        const start = c;
        let tokenText: string;
        let quoted = false;
        // A token is the text as written (escapes are decoded later): a slice of the line, not built a character at a time.
        if (ch === '"') {
          quoted = true;
          c++;
          let closed = false;
          while (c < line.length) {
            const q = line[c]!;
            if (q === '\\' && c + 1 < line.length) c += 2;
            else if (q === '"') {
              closed = true;
              break;
            } else c++;
          }
          tokenText = line.slice(start + 1, c);
          if (closed) c++;
          if (!closed) {
            problems.push({ line: lineNo, message: `unterminated quoted string "${shown(tokenText, 40)}` });
          }
          if (!entry) entry = newEntry(lineNo, start !== 0 || depth > 0);
          if (!closed) entry.broken = true;
        } else {
          while (c < line.length && !DELIMITERS.has(line[c]!)) c += line[c] === '\\' && c + 1 < line.length ? 2 : 1;
          tokenText = line.slice(start, c);
          if (!entry) entry = newEntry(lineNo, start !== 0 || depth > 0);
        }
        const token: Token = { text: tokenText, quoted, line: lineNo };
        entry.tokens.push(token);
      }
    }
    i++;
    if (depth === 0 && entry) {
      emit(entry);
      entry = undefined;
    }
    if (i === lines.length && depth > 0) {
      // Never closed. Report it, keep the entry up to the next line that
      // starts a new record at column 0, and go on from there.
      problems.push({ line: openLine, message: `unbalanced parenthesis opened at line ${openLine}` });
      let restart = openLine; // 0-based index of the line after openLine
      while (restart < lines.length && !/^[^\s;()]/.test(lines[restart]!)) restart++;
      if (entry) {
        entry.tokens = entry.tokens.filter((t) => t.line <= restart);
        emit(entry);
      }
      // Lines from `restart` on are scanned again: forget what they reported.
      for (let k = problems.length - 1; k >= 0; k--) if (problems[k]!.line > restart) problems.splice(k, 1);
      entry = undefined;
      depth = 0;
      i = restart;
    }
  }
  return { entries, problems };
}

/** text.split(/\r?\n|\r/) in steps (splitting 200,000 lines at once holds the event loop for tens of milliseconds). */
function* linesSteps(text: string): Generator<void, string[]> {
  const lines: string[] = [];
  let start = 0;
  let lf = text.indexOf('\n');
  let cr = text.indexOf('\r');
  for (;;) {
    if (lines.length % STEP === STEP - 1) yield;
    if (lf !== -1 && lf < start) lf = text.indexOf('\n', start);
    if (cr !== -1 && cr < start) cr = text.indexOf('\r', start);
    const end = cr === -1 ? lf : lf === -1 ? cr : Math.min(lf, cr);
    if (end === -1) {
      lines.push(text.slice(start));
      return lines;
    }
    lines.push(text.slice(start, end));
    start = end === cr && text[cr + 1] === '\n' ? cr + 2 : end + 1;
  }
}

function newEntry(line: number, ownerOmitted: boolean): Entry {
  return { line, ownerOmitted, tokens: [], broken: false };
}
