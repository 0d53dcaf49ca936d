/**
 * bin/failoverd.js's one rule: run dist/ when its build stamp is newer than
 * every file under src/ (or there is no src/, as in the container image),
 * else src/ through tsx; FAILOVERD_RUNTIME=dist|tsx forces one. Checked in a
 * scratch tree whose dist/ and src/ entry points say which one ran.
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
  writeFileSync(join(dir, 'src', 'cli', 'main.ts'), "const which: string = 'tsx';\nprocess.stdout.write(which);\n");
  return dir;
}

const run = (dir: string, env: Record<string, string> = {}, args = ['status']) =>
  execFileSync(process.execPath, [join(dir, 'bin', 'failoverd.js'), ...args], { env: { ...process.env, FAILOVERD_RUNTIME: '', ...env }, encoding: 'utf8' });

test('bin: dist/ when its stamp is current, tsx when src/ changed after the build or there is no stamp', (t) => {
  const dir = tree();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  assert.equal(run(dir), 'tsx', 'no build stamp: tsx');

  const stamp = join(dir, 'dist', '.build-stamp');
  writeFileSync(stamp, '{}\n');
  const past = new Date(Date.now() - 60_000);
  utimesSync(join(dir, 'src', 'cli', 'main.ts'), past, past);
  utimesSync(join(dir, 'src', 'cli'), past, past);
  utimesSync(join(dir, 'src'), past, past);
  assert.equal(run(dir), 'dist', 'stamp newer than src/: dist');

  writeFileSync(join(dir, 'src', 'cli', 'new.ts'), 'export {};\n'); // an edit after the build
  assert.equal(run(dir), 'tsx', 'src/ newer than the stamp: tsx');
  assert.equal(run(dir, { FAILOVERD_RUNTIME: 'dist' }), 'dist', 'forced dist');

  rmSync(join(dir, 'src'), { recursive: true });
  assert.equal(run(dir), 'dist', 'no src/ (the image): dist');
  assert.equal(run(dir, {}, ['--version']).trim(), JSON.parse(execFileSync('node', ['-p', 'JSON.stringify(require("./package.json").version)'], { cwd: ROOT, encoding: 'utf8' })));
});
