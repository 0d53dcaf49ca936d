/**
 * How benches run the daemon: compiled (scripts/build.mjs into a temporary
 * directory, then plain node, as the container image runs it) by default,
 * or from the TypeScript sources through tsx with BENCH_RUNTIME=src (tsx
 * adds a loader thread: about 60 MB more resident memory). When the build
 * fails, the sources are used and the reason is printed.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './paths.ts';

let prepared: { kind: 'dist' | 'src'; dir: string; note: string } | undefined;

export function runtime(): { kind: 'dist' | 'src'; dir: string; note: string } {
  if (prepared) return prepared;
  if (process.env.BENCH_RUNTIME === 'src') return (prepared = { kind: 'src', dir: 'src', note: 'TypeScript sources through tsx (BENCH_RUNTIME=src)' });
  // Inside the checkout (git-ignored) so the compiled files find node_modules.
  const dir = join(ROOT, 'node_modules', '.cache', 'failoverd-bench', 'dist');
  const r = spawnSync(process.execPath, [join(ROOT, 'scripts', 'build.mjs'), dir], { encoding: 'utf8' });
  if (r.status !== 0) {
    const note = `compiled build failed, running the sources through tsx instead: ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' / ')}`;
    process.stdout.write(`# ${note}\n`);
    return (prepared = { kind: 'src', dir: 'src', note });
  }
  return (prepared = { kind: 'dist', dir, note: 'compiled (scripts/build.mjs), plain node' });
}

/** The command that runs the daemon on `config`. */
export function daemonCommand(config: string): string[] {
  const r = runtime();
  const entry = join(ROOT, 'bench', 'lib', 'daemon-entry.mjs');
  // --expose-gc only lets the entry's memory report collect first (SIGUSR2).
  // BENCH_CPU_PROF_DIR: each daemon writes a V8 CPU profile there when it stops (open it in Chrome's DevTools).
  const prof = process.env.BENCH_CPU_PROF_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF_DIR}`] : [];
  return r.kind === 'dist' ? [process.execPath, '--expose-gc', ...prof, entry, r.dir, config] : [process.execPath, '--expose-gc', ...prof, '--import', 'tsx', entry, 'src', config];
}
