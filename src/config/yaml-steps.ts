/**
 * yaml's parseDocument() in steps: the text is lexed and parsed a few
 * thousand tokens at a time, letting the event loop run in between, so a
 * reload of a config of a thousand record sets does not hold the DNS answers
 * for the ~100 ms its parse takes in one piece. The same Lexer, Parser and
 * Composer parseDocument() drives, fed the same way: the same Document,
 * errors and line counts.
 */
import { nextTurn } from '../clock.ts';
import { Composer, Lexer, Parser, YAMLParseError, type Document, type DocumentOptions, type LineCounter, type ParseOptions, type SchemaOptions } from 'yaml';

/** Lexical tokens parsed between two yields (about 5 ms of work). */
const STEP = 4096;

export type YamlOptions = ParseOptions & DocumentOptions & SchemaOptions & { lineCounter: LineCounter };

export async function parseDocumentInSteps(source: string, options: YamlOptions): Promise<Document.Parsed> {
  const parser = new Parser(options.lineCounter.addNewLine);
  options.lineCounter.addNewLine(0); // as Parser.parse() does at offset 0
  const tokens = [];
  let n = 0;
  for (const lexeme of new Lexer().lex(source)) {
    for (const token of parser.next(lexeme)) tokens.push(token);
    if (++n % STEP === 0) await nextTurn();
  }
  for (const token of parser.end()) tokens.push(token);
  await nextTurn();
  // As parseDocument(): the first document; a second one is an error.
  let doc: Document.Parsed | undefined;
  for (const d of new Composer(options).compose(tokens, true, source.length)) {
    if (!doc) doc = d;
    else if (doc.options.logLevel !== 'silent') {
      doc.errors.push(new YAMLParseError(d.range.slice(0, 2) as [number, number], 'MULTIPLE_DOCS', 'Source contains multiple documents; please use YAML.parseAllDocuments()'));
      break;
    }
  }
  await nextTurn(); // composing is the one block left (~20 ms for a thousand record sets): what follows gets a turn of its own
  return doc!;
}
