// Whether a build of src/ is current: its stamp (OUT_DIR/.build-stamp,
// written last by scripts/build.mjs) is at least as new as every file under
// src/. Shared by scripts/build.mjs (--if-stale) and the tests' build helper;
// bin/failoverd.js keeps its own copy, since the image ships bin/ without scripts/.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

export function newestMtime(dir) {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

export function buildIsCurrent(outDir, srcDir) {
  const stamp = join(outDir, '.build-stamp');
  return existsSync(stamp) && statSync(stamp).mtimeMs >= newestMtime(srcDir);
}
