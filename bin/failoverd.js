#!/usr/bin/env node
// The failoverd command. One rule: run the built dist/ when it is current
// (dist/.build-stamp, written by `npm run build` after tsc succeeded, is
// newer than every file under src/), else run the TypeScript sources through
// tsx. A tree without src/ (the container image) always runs dist/.
// FAILOVERD_RUNTIME=dist or =tsx forces one.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';

// Signal handlers go in first: loading failoverd takes a moment, and a SIGHUP
// in it would kill the process (exit 129, no log line; systemd counts that a
// clean exit). Until `run` takes over (src/cli/daemon-commands.ts), a SIGHUP
// is remembered here and applied as a reload once the daemon is up. Before
// this line node itself starts (40 ms, more on a busy host), unguarded:
// bin/failoverd-daemon, a shell, covers that time for service managers.
const earlySignals = { hup: 0 };
globalThis[Symbol.for('failoverd.earlySignals')] = earlySignals;
process.on('SIGHUP', function earlySighup() {
  earlySignals.hup += 1;
});

// FAILOVERD_V8_FLAGS: V8 flags applied before anything is loaded (README,
// "Memory at scale"). E.g. "--optimize-for-size": about half the resident
// memory at 10,000 targets probed every 10 s, but slower code: it saturates
// a core at 2,000 HTTP probes per second. Off unless set.
for (const flag of (process.env.FAILOVERD_V8_FLAGS ?? '').split(/\s+/).filter(Boolean)) setFlagsFromString(flag);

// `failoverd --version` alone needs no module of failoverd: answer it at once.
const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  process.stdout.write(`${JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version}\n`);
  process.exit(0);
}

const root = new URL('../', import.meta.url);
const stamp = new URL('dist/.build-stamp', root);
const src = new URL('src/', root);

function newestMtime(dir) {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = new URL(e.name + (e.isDirectory() ? '/' : ''), dir);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

function distIsCurrent() {
  if (!existsSync(stamp)) return false;
  if (!existsSync(src)) return true;
  return statSync(stamp).mtimeMs >= newestMtime(src);
}

const forced = process.env.FAILOVERD_RUNTIME;
if (forced === 'dist' || (forced !== 'tsx' && distIsCurrent())) {
  await import('../dist/cli/main.js');
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
}
