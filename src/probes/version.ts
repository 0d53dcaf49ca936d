/** failoverd's version from package.json, read once at module load (for User-Agent). */
import { createRequire } from 'node:module';

function readVersion(): string {
  try {
    const pkg = createRequire(import.meta.url)('../../package.json') as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : '0.0.0';
  } catch {
    return '0.0.0';
  }
}

export const FAILOVERD_VERSION = readVersion();
export const USER_AGENT = `failoverd/${FAILOVERD_VERSION}`;
