#!/usr/bin/env node
// The failoverd command: runs the compiled dist/ (`npm run build`; `npm start`
// builds it when src/ changed), the same code the container image and the
// benchmarks run. A checkout whose dist/ is missing, unfinished or older
// than src/ is refused with what to run, rather than running something else
// than what the sources say.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
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

function refuse(why) {
  process.stderr.write(`failoverd: ${why}; run \`npm run build\` in ${fileURLToPath(root)} (npm start builds it by itself)\n`);
  process.exit(1);
}

if (!existsSync(stamp)) refuse(existsSync(new URL('dist/', root)) ? 'dist/ has no build stamp (a build that did not finish)' : 'dist/ is missing: failoverd runs compiled code');
// A tree without src/ (the container image, a package) has only dist/.
if (existsSync(src) && statSync(stamp).mtimeMs < newestMtime(src)) refuse('src/ changed after dist/ was built');
await import('../dist/cli/main.js');
