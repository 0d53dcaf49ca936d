/** Reads a zone file from disk and parses it (see parse.ts). */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { ProblemsError } from '../errors.ts';
import type { ZoneFile } from '../dns-model/records.ts';
import { parseZoneTextAsync } from './parse.ts';

/**
 * The origin is opts.origin, else the file's $ORIGIN, else the file name
 * minus its ".zone" suffix ("zones/example.test.zone" → "example.test").
 * A name without ".zone" gives no fallback. Problems name `path` as given.
 */
export async function loadZoneFile(path: string, opts: { origin?: string; defaultTtl?: number } = {}): Promise<ZoneFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new ProblemsError('ZONE_INVALID', [{ file: path, message: `cannot read zone file: ${reason}` }]);
  }
  const base = basename(path);
  const fallbackOrigin = base.endsWith('.zone') && base.length > 5 ? base.slice(0, -5) : undefined;
  return parseZoneTextAsync(text, { file: path, origin: opts.origin, defaultTtl: opts.defaultTtl, fallbackOrigin });
}
