/**
 * The layering rules of .dependency-cruiser.cjs (npm run lint:deps) catch
 * what they say they catch: each case builds a two-file tree that breaks one
 * rule and expects dependency-cruiser to fail naming that rule; a tree that
 * breaks none passes. The real src/ is checked by `npm run lint:deps` itself.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DEPCRUISE = join(ROOT, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');

/** Runs dependency-cruiser with the project's rules on a tree of files, each importing the files listed for it. */
function cruise(edges: Array<readonly [from: string, to: string]>): { code: number | null; out: string } {
  const dir = mkdtempSync(join(tmpdir(), 'failoverd-layering-'));
  try {
    copyFileSync(join(ROOT, '.dependency-cruiser.cjs'), join(dir, '.dependency-cruiser.cjs'));
    copyFileSync(join(ROOT, 'tsconfig.json'), join(dir, 'tsconfig.json'));
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
    const imports = new Map<string, string[]>();
    for (const [from, to] of edges) {
      imports.set(from, [...(imports.get(from) ?? []), to]);
      if (!imports.has(to)) imports.set(to, []);
    }
    for (const [file, tos] of imports) {
      mkdirSync(join(dir, dirname(file)), { recursive: true });
      const lines = tos.map((to, i) => `import { x as x${i} } from '${relative(dirname(file), to).replace(/^(?!\.)/, './')}';\nexport const y${i} = x${i};`);
      writeFileSync(join(dir, file), [...lines, 'export const x = 1;', ''].join('\n'));
    }
    const r = spawnSync(process.execPath, [DEPCRUISE, 'src', '--config', '.dependency-cruiser.cjs', '--output-type', 'err'], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
    return { code: r.status, out: `${r.stdout}${r.stderr}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const violations: Array<readonly [rule: string, from: string, to: string]> = [
  ['failover-knows-no-probe-or-sink', 'src/failover/machine.ts', 'src/probes/http.ts'],
  ['failover-knows-no-probe-or-sink', 'src/failover/decider.ts', 'src/route53/sink.ts'],
  ['dns-reads-snapshots', 'src/dns/server.ts', 'src/failover/decision.ts'],
  ['dns-reads-snapshots', 'src/dns/query.ts', 'src/health/overrides.ts'],
  ['route53-sink-alone', 'src/route53/apply.ts', 'src/dns/response.ts'],
  ['rfc2136-sink-alone', 'src/rfc2136/sink.ts', 'src/dns/resolve.ts'],
  ['ground-floor-imports-no-stage', 'src/config/schema.ts', 'src/failover/types.ts'],
  ['cli-is-the-top', 'src/daemon.ts', 'src/cli/main.ts'],
  ['stages-below-wiring', 'src/health/effective.ts', 'src/admin/server.ts'],
  ['no-circular', 'src/records/serial.ts', 'src/zones/parse.ts'],
  ['ground-floor-imports-no-stage', 'src/zones/parse.ts', 'src/records/serial.ts'],
];

test('layering: a tree with one deliberate violation of each rule fails, naming every one', () => {
  const r = cruise(violations.map(([, from, to]) => [from, to] as const));
  assert.notEqual(r.code, 0, r.out);
  for (const [rule, from, to] of violations) {
    const line = new RegExp(`error ${rule}: ${from.replace(/\./g, '\\.')} →\\s+${to.replace(/\./g, '\\.')}`);
    assert.match(r.out, line, `${rule} for ${from} → ${to}`);
  }
});

test('layering: the allowed directions pass (dns/ reads records/, rfc2136/ uses dns/wire/, failover/ reads health/, sinks read decisions)', () => {
  const r = cruise([
    ['src/dns/server.ts', 'src/records/snapshot.ts'],
    ['src/rfc2136/sink.ts', 'src/dns/wire/update.ts'],
    ['src/failover/decider.ts', 'src/health/target-health.ts'],
    ['src/route53/desired.ts', 'src/failover/decision.ts'],
  ]);
  assert.equal(r.code, 0, r.out);
});

test('folder cycles: two folders importing each other through different files fail, naming both and each import; one direction passes', () => {
  const run = (edges: Array<readonly [string, string]>) => {
    const dir = mkdtempSync(join(tmpdir(), 'failoverd-folder-cycles-'));
    try {
      copyFileSync(join(ROOT, '.dependency-cruiser.cjs'), join(dir, '.dependency-cruiser.cjs'));
      copyFileSync(join(ROOT, 'tsconfig.json'), join(dir, 'tsconfig.json'));
      symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
      const files = new Set(edges.flat());
      for (const file of files) {
        const tos = edges.filter(([f]) => f === file).map(([, to]) => to);
        mkdirSync(join(dir, dirname(file)), { recursive: true });
        const lines = tos.map((to, i) => `import { x as x${i} } from '${relative(dirname(file), to).replace(/^(?!\.)/, './')}';\nexport const y${i} = x${i};`);
        writeFileSync(join(dir, file), [...lines, 'export const x = 1;', ''].join('\n'));
      }
      return spawnSync(process.execPath, [join(ROOT, 'scripts', 'folder-cycles.mjs'), 'src'], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  // No file cycle (dependency-cruiser's no-circular passes this), but records/ and zones/ import each other.
  const bad = run([
    ['src/records/snapshot.ts', 'src/zones/parse.ts'],
    ['src/zones/check.ts', 'src/records/serial.ts'],
  ]);
  assert.equal(bad.status, 1, bad.stdout + bad.stderr);
  assert.match(bad.stderr, /these import each other: records\/, zones\//);
  assert.match(bad.stderr, /records\/ → zones\/: src\/records\/snapshot\.ts → src\/zones\/parse\.ts/);
  assert.match(bad.stderr, /zones\/ → records\/: src\/zones\/check\.ts → src\/records\/serial\.ts/);
  const good = run([
    ['src/records/snapshot.ts', 'src/zones/parse.ts'],
    ['src/records/serial.ts', 'src/zones/check.ts'],
  ]);
  assert.equal(good.status, 0, good.stdout + good.stderr);
});

test('lint:time: a timer or Date.now() outside the Clock fails, naming file:line; a method of the same name and the Clock module itself pass', () => {
  const dir = mkdtempSync(join(tmpdir(), 'failoverd-lint-time-'));
  try {
    mkdirSync(join(dir, 'src', 'probes'), { recursive: true });
    writeFileSync(join(dir, 'src', 'clock.ts'), 'export const now = () => Date.now();\nexport const later = (f: () => void) => setTimeout(f, 1);\n');
    writeFileSync(join(dir, 'src', 'probes', 'ok.ts'), "import type { Socket } from 'node:net';\nexport const idle = (s: Socket) => s.setTimeout(0);\nexport const o = { setTimeout: 1 };\n");
    writeFileSync(join(dir, 'src', 'probes', 'bad.ts'), "import { setTimeout as sleep } from 'node:timers/promises';\nexport const at = Date.now();\nexport const t = setImmediate(() => undefined);\nexport { sleep };\n");
    const r = spawnSync(process.execPath, [join(ROOT, 'scripts', 'lint-time.mjs'), join(dir, 'src')], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 1, r.stdout + r.stderr);
    const lines = r.stderr.split('\n').filter((l) => l.includes(': use the Clock'));
    assert.deepEqual(lines.map((l) => l.replace(/: use the Clock.*$/, '')), [
      'src/probes/bad.ts:1:1: import from node:timers/promises',
      'src/probes/bad.ts:1:10: setTimeout',
      'src/probes/bad.ts:2:19: Date.now',
      'src/probes/bad.ts:3:18: setImmediate',
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
