// Runs the test files of one kind with node --test, naming each file
// (Node 20 does not expand globs itself):
//   node scripts/test.mjs unit         pure code, no sockets or processes (seconds)
//   node scripts/test.mjs integration  everything else (real backends, DNS clients, moto_server, tools)
// A new test file is an integration test unless it is listed in UNIT.
import { execFileSync, spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';

const UNIT = new Set([
  'cluster-decision-layout.test.ts',
  'cluster-health.test.ts',
  'cluster-leadership-units.test.ts',
  'cluster-mirror.test.ts',
  'cluster-node-units.test.ts',
  'cluster-quorum.test.ts',
  'cluster-vantage-layout.test.ts',
  'cron.test.ts',
  'dns-wire-reader.test.ts',
  'docs-match.test.ts',
  'failover.test.ts',
  'failover-properties.test.ts',
  'topology-units.test.ts',
  'health.test.ts',
  'incremental-publish.test.ts',
  'leader-duties.test.ts',
  'local-verdict-defer.test.ts',
  'log-userinfo.test.ts',
  'overrides.test.ts',
  'rfc2136-config.test.ts',
  'rfc2136-plan.test.ts',
  'reload-effects.test.ts',
  'route53-sink-term.test.ts',
  'route53-geo-units.test.ts',
  'route53-units.test.ts',
  'snapshot-build.test.ts',
  'status-history.test.ts',
  'exposition.test.ts',
  'transition-log.test.ts',
  'zone-parser.test.ts',
  'zone-steps.test.ts',
]);

const kind = process.argv[2];
if (kind !== 'unit' && kind !== 'integration') {
  console.error('usage: node scripts/test.mjs unit|integration');
  process.exit(2);
}
const files = readdirSync('test')
  .filter((f) => f.endsWith('.test.ts') && UNIT.has(f) === (kind === 'unit'))
  .sort()
  .map((f) => `test/${f}`);
// Integration test files run two at a time (most of their time is waiting on
// probes, leases and timers; on this 2-core machine two at once took 183 s
// against about 300 s one at a time, with no failure); on a slow or busy
// machine FAILOVERD_TEST_CONCURRENCY=1 runs them one by one.
const concurrency = Number(process.env.FAILOVERD_TEST_CONCURRENCY ?? 2);
if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 8) {
  console.error(`FAILOVERD_TEST_CONCURRENCY must be an integer from 1 to 8, not ${JSON.stringify(process.env.FAILOVERD_TEST_CONCURRENCY)}`);
  process.exit(2);
}
// A bound on the whole run: a test file whose process does not end (a
// daemon a failed hook left running keeps it alive) would otherwise hold CI
// until its own limit, saying nothing. Past the bound the files still
// running are named and everything is killed: a failure, not a hang.
const limitS = Number(process.env.FAILOVERD_TEST_LIMIT_S ?? (kind === 'unit' ? 300 : 1200));
if (!Number.isFinite(limitS) || limitS < 10) {
  console.error(`FAILOVERD_TEST_LIMIT_S must be a number of seconds of at least 10, not ${JSON.stringify(process.env.FAILOVERD_TEST_LIMIT_S)}`);
  process.exit(2);
}
const args = ['--import', 'tsx', '--test', ...(kind === 'integration' ? [`--test-concurrency=${concurrency}`] : []), ...files];
const child = spawn(process.execPath, args, { stdio: 'inherit', detached: true });
const limit = setTimeout(() => {
  let running = '';
  try {
    running = execFileSync('ps', ['-o', 'args=', '--ppid', String(child.pid)], { encoding: 'utf8' });
  } catch {
    // ps found no child left, or is missing: name nothing
  }
  const names = [...new Set(running.split('\n').flatMap((l) => l.match(/test\/[\w.-]+\.test\.ts/g) ?? []))];
  console.error(`\nnot ok - the ${kind} tests did not end within ${limitS} s (FAILOVERD_TEST_LIMIT_S); still running: ${names.join(', ') || 'no test file (the runner itself)'}; killed`);
  process.kill(-child.pid, 'SIGKILL');
  process.exit(1);
}, limitS * 1000);
child.on('exit', (code) => {
  clearTimeout(limit);
  process.exit(code ?? 1);
});
// The runner has its own process group (so the bound can kill every file at once): pass an interrupt on to it.
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.kill(-child.pid, sig));
