/** Maps a field path of a parsed YAML document back to its line. */
import { isMap, isPair, isScalar, isSeq, visit, type Document, type LineCounter, type Node } from 'yaml';

/** The line (1-based) of the deepest node along `path` that exists in the document. */
export function lineOfPath(doc: Document, lc: LineCounter, path: ReadonlyArray<PropertyKey>): number | undefined {
  let node: unknown = doc.contents;
  let line = rangeLine(node, lc);
  for (const seg of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg));
      if (!pair) break;
      line = rangeLine(pair.key, lc) ?? line;
      node = pair.value;
      if (node && !isScalar(node)) {
        // keep the key's line for collections; scalars report their own line below
      } else line = rangeLine(node, lc) ?? line;
    } else if (isSeq(node)) {
      const item = node.items[Number(seg)];
      if (item === undefined) break;
      node = item;
      line = rangeLine(node, lc) ?? line;
    } else break;
  }
  return line;
}

/** The line of key `key` inside the mapping at `path` (for unknown-key errors). */
export function lineOfKey(doc: Document, lc: LineCounter, path: ReadonlyArray<PropertyKey>, key: string): number | undefined {
  let node: unknown = doc.contents;
  for (const seg of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg));
      node = pair?.value;
    } else if (isSeq(node)) node = node.items[Number(seg)];
    else return undefined;
  }
  if (!isMap(node)) return undefined;
  const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === key);
  return pair ? rangeLine(pair.key, lc) : rangeLine(node, lc);
}

function rangeLine(node: unknown, lc: LineCounter): number | undefined {
  const range = (node as Node | undefined)?.range;
  return range ? lc.linePos(range[0]).line : undefined;
}

/** The line of the alias `*source` (or of the first alias when `source` is not given or not found). */
export function lineOfAlias(doc: Document, lc: LineCounter, source?: string): number | undefined {
  let first: number | undefined;
  let found: number | undefined;
  visit(doc, {
    Alias(_key, node) {
      const line = rangeLine(node, lc);
      first ??= line;
      if (source !== undefined && node.source === source) {
        found = line;
        return visit.BREAK;
      }
      return undefined;
    },
  });
  return found ?? first;
}
