#!/usr/bin/env node
// npm run build: compiles src/ to dist/, the only code bin/failoverd.js runs.
//
//   node scripts/build.mjs [OUT_DIR]        build (default: dist/)
//   node scripts/build.mjs --if-stale       build dist/ only when src/ changed since the last build
//
// Each file is transpiled on its own by esbuild (about a second for the whole
// tree; types are checked by `npm run typecheck`, which `npm test` runs),
// relative `.ts` imports become `.js`, and the status page's assets are
// copied. The tree is built beside OUT_DIR and swapped in whole, and
// OUT_DIR/.build-stamp is written last, so a half-written dist/ never runs.
import { cpSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { transform } from 'esbuild';
import { readFile, writeFile } from 'node:fs/promises';
import { buildIsCurrent } from './build-stamp.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'src');
const args = process.argv.slice(2);
const ifStale = args.includes('--if-stale');
const outArg = args.find((a) => !a.startsWith('--'));
const outDir = outArg ? resolve(outArg) : join(root, 'dist');

function* walk(dir) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* walk(p);
    else yield p;
  }
}

if (ifStale && buildIsCurrent(outDir, src)) process.exit(0);

const started = Date.now();
const tmp = `${outDir}.tmp-${process.pid}`;
rmSync(tmp, { recursive: true, force: true });
/** `./x.ts` → `./x.js` in static imports, re-exports and import() of relative paths (as tsc's rewriteRelativeImportExtensions). */
const relativeTs = /((?:\bfrom|\bimport)\s*\(?\s*)(["'])(\.{1,2}\/[^"'\n]*?)\.ts\2/g;
let files = 0;
try {
  for (const file of walk(src)) {
    const rel = relative(src, file);
    if (!rel.endsWith('.ts') || rel.endsWith('.d.ts')) continue;
    const out = join(tmp, rel.replace(/\.ts$/, '.js'));
    const code = await readFile(file, 'utf8');
    const r = await transform(code, { loader: 'ts', format: 'esm', target: 'node20', sourcemap: 'external', sourcefile: relative(dirname(out), file) });
    mkdirSync(dirname(out), { recursive: true });
    await writeFile(out, `${r.code.replace(relativeTs, '$1$2$3.js$2')}//# sourceMappingURL=${out.slice(dirname(out).length + 1)}.map\n`);
    await writeFile(`${out}.map`, r.map);
    files++;
  }
  cpSync(join(src, 'admin/page/assets'), join(tmp, 'admin/page/assets'), { recursive: true });
  writeFileSync(join(tmp, '.build-stamp'), JSON.stringify({ builtAt: new Date().toISOString() }) + '\n');
} catch (err) {
  rmSync(tmp, { recursive: true, force: true });
  process.stderr.write(`build: FAILED, ${outDir} left as it was: ${err.message}\n`);
  process.exit(1);
}
const old = `${outDir}.old-${process.pid}`;
if (existsSync(outDir)) renameSync(outDir, old);
renameSync(tmp, outDir);
rmSync(old, { recursive: true, force: true });
process.stdout.write(`build: ${files} files into ${relative(process.cwd(), outDir) || '.'} in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
