#!/usr/bin/env node
// npm run build: compiles src/ to dist/ (tsconfig.build.json) and, only when
// tsc succeeded, writes dist/.build-stamp. bin/failoverd.js runs dist/ when
// that stamp is newer than every file under src/, and src/ through tsx
// otherwise, so a stale or half-written dist/ is never run. Files that are
// not TypeScript (the status page's script, style and icon) are copied as they are.
import { spawnSync } from 'node:child_process';
import { cpSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = process.argv[2] ? resolve(process.argv[2]) : join(root, 'dist');
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');

rmSync(outDir, { recursive: true, force: true });
const started = Date.now();
const r = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json'), '--outDir', outDir], { stdio: 'inherit' });
if (r.status !== 0) {
  process.stderr.write(`build: tsc failed (exit ${r.status}); ${outDir} has no build stamp and will not be run\n`);
  process.exit(r.status ?? 1);
}
cpSync(join(root, 'src/admin/page/assets'), join(outDir, 'admin/page/assets'), { recursive: true });
writeFileSync(join(outDir, '.build-stamp'), JSON.stringify({ builtAt: new Date().toISOString() }) + '\n');
process.stdout.write(`build: ${outDir} in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
