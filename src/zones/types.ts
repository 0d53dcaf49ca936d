/** Shared shapes of the zone-file parser's stages (tokenize → parse → check). */

/** One word of a master-file entry, escapes kept as written (quotes removed). */
export interface Token {
  text: string;
  quoted: boolean;
  /** 1-based line the token is on. */
  line: number;
}

/** One logical entry: a physical line, or several joined by parentheses. */
export interface Entry {
  /** 1-based line the entry starts on. */
  line: number;
  /** The entry starts with whitespace: its owner is the previous owner. */
  ownerOmitted: boolean;
  tokens: Token[];
  /** A lexical error (e.g. an unterminated quote) was reported; do not parse it. */
  broken: boolean;
}

/** A problem inside one file; parse.ts adds the file name. */
export interface LineProblem {
  line: number;
  message: string;
}

export type Result<T> = { ok: true; value: T } | { ok: false; error: string };

export const ok = <T>(value: T): Result<T> => ({ ok: true, value });
export const fail = <T = never>(error: string): Result<T> => ({ ok: false, error });
