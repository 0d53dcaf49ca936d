/**
 * CLI output into a pipe whose reader is gone (`failoverd status | head -3`
 * once head has its lines): failoverd stops quietly with the command's exit
 * code, no EPIPE stack trace. A real pipe made by bash (`| true`: the reader
 * exits at once, long before failoverd has loaded and writes) and the real
 * CLI process.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { AdminDaemon, TestDir } from './helpers/admin-daemon.ts';
import { BIN } from './helpers/cli.ts';

/** Runs `failoverd ARGS | true` under bash with pipefail: failoverd's exit code and stderr. */
function intoClosedPipe(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', 'set -o pipefail; "$@" | true', 'pipe', process.execPath, BIN, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`failoverd ${args.join(' ')} | true did not finish in time; stderr: ${stderr}`));
    }, 20_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

test('validate and status into a pipe whose reader is gone: exit 0, nothing on stderr', async (t) => {
  const dir = new TestDir();
  t.after(() => dir.remove());
  dir.write(`dns: { listen: ["127.0.0.1:0"] }
zones: zones
admin: { listen: "127.0.0.1:0" }
checks:
  web: { type: tcp, port: 9, interval: 1s, timeout: 300ms, watch: false }
records:
  - name: www.example.test
    type: A
    targets: [{ address: 127.0.0.1, check: web }]
`);
  const validate = await intoClosedPipe(['validate', '--config', dir.config]);
  assert.equal(validate.stderr, '');
  assert.equal(validate.code, 0);
  const daemon = await AdminDaemon.start(dir, {}, 30_000);
  t.after(() => daemon.stop());
  const status = await intoClosedPipe(['status', '--admin', daemon.adminUrl]);
  assert.equal(status.stderr, '');
  assert.equal(status.code, 0);
});
