/**
 * The CLI and daemon in tests run what users run: bin/failoverd.js on the
 * compiled dist/. `npm test` builds first; a test file run on its own builds
 * here when src/ changed since the last build (about a second), one process
 * at a time (a lock directory), so no test ever runs stale code.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildIsCurrent } from '../../scripts/build-stamp.mjs';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const current = () => buildIsCurrent(join(ROOT, 'dist'), join(ROOT, 'src'));
const pause = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

export function ensureBuilt(): void {
  if (current()) return;
  const lock = join(ROOT, 'node_modules', '.cache', 'failoverd-build.lock');
  mkdirSync(join(lock, '..'), { recursive: true });
  let held = false;
  for (let i = 0; i < 1200 && !held; i++) {
    try {
      mkdirSync(lock);
      held = true;
    } catch {
      // Another test process builds; a lock older than 2 min is left over from a killed one.
      if (existsSync(lock) && Date.now() - statSync(lock).mtimeMs > 120_000) rmdirSync(lock);
      else pause(100);
    }
  }
  if (!held) throw new Error('could not take the build lock within 2 minutes');
  try {
    if (!current()) execFileSync(process.execPath, [join(ROOT, 'scripts', 'build.mjs')], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 120_000 });
  } finally {
    rmdirSync(lock);
  }
}
