/**
 * bin/failoverd.js's one rule: run dist/ when its build stamp is newer than
 * every file under src/ (or there is no src/, as in the container image);
 * otherwise refuse with what to run, never run something else. Checked in a
 * scratch tree whose dist/ entry point says it ran.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

function tree(): string {
  const dir = mkdtempSync(join(tmpdir(), 'failoverd-bin-'));
  cpSync(join(ROOT, 'bin'), join(dir, 'bin'), { recursive: true });
  cpSync(join(ROOT, 'package.json'), join(dir, 'package.json'));
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  mkdirSync(join(dir, 'dist', 'cli'), { recursive: true });
  mkdirSync(join(dir, 'src', 'cli'), { recursive: true });
  writeFileSync(join(dir, 'dist', 'cli', 'main.js'), "process.stdout.write('dist');\n");
  writeFileSync(join(dir, 'src', 'cli', 'main.ts'), "process.stdout.write('src');\n");
  return dir;
}

const run = (dir: string, args = ['status']) => execFileSync(process.execPath, [join(dir, 'bin', 'failoverd.js'), ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/** The exit code and stderr of a run that must fail. */
function refused(dir: string): { status: number; stderr: string } {
  try {
    const out = run(dir);
    return { status: 0, stderr: `ran and printed ${JSON.stringify(out)}` };
  } catch (err) {
    const e = err as { status: number; stderr: string };
    return { status: e.status, stderr: e.stderr };
  }
}

test('bin: dist/ when its stamp is current or there is no src/; refused with what to run when dist/ is missing, unfinished or older than src/', (t) => {
  const dir = tree();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  let r = refused(dir);
  assert.equal(r.status, 1, 'no build stamp: refused');
  assert.match(r.stderr, /dist\/ has no build stamp.*npm run build/);

  const stamp = join(dir, 'dist', '.build-stamp');
  writeFileSync(stamp, '{}\n');
  const past = new Date(Date.now() - 60_000);
  utimesSync(join(dir, 'src', 'cli', 'main.ts'), past, past);
  utimesSync(join(dir, 'src', 'cli'), past, past);
  utimesSync(join(dir, 'src'), past, past);
  assert.equal(run(dir), 'dist', 'stamp newer than src/: dist');

  writeFileSync(join(dir, 'src', 'cli', 'new.ts'), 'export {};\n'); // an edit after the build
  r = refused(dir);
  assert.equal(r.status, 1, 'src/ newer than the stamp: refused');
  assert.match(r.stderr, /src\/ changed after dist\/ was built; run `npm run build`/);

  rmSync(join(dir, 'src'), { recursive: true });
  assert.equal(run(dir), 'dist', 'no src/ (the image): dist');
  assert.equal(run(dir, ['--version']).trim(), JSON.parse(execFileSync('node', ['-p', 'JSON.stringify(require("./package.json").version)'], { cwd: ROOT, encoding: 'utf8' })));

  rmSync(join(dir, 'dist'), { recursive: true });
  r = refused(dir);
  assert.equal(r.status, 1, 'no dist/: refused');
  assert.match(r.stderr, /dist\/ is missing.*npm run build/);
});
