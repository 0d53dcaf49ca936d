/** Runs the failoverd CLI (bin/failoverd.js) as a child process. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ensureBuilt } from './build.ts';
import { scaled } from './eventually.ts';

export const BIN = fileURLToPath(new URL('../../bin/failoverd.js', import.meta.url));
ensureBuilt();

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runCli(args: string[], opts: { cwd?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const limitMs = scaled(opts.timeoutMs ?? 20_000);
    const child = spawn(process.execPath, [BIN, ...args], { cwd: opts.cwd, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`failoverd ${args.join(' ')} did not finish in ${limitMs} ms\n${stdout}\n${stderr}`));
    }, limitMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * Runs `failoverd ARGS | true` under bash with pipefail: the reader (true)
 * is gone long before failoverd has loaded and writes. failoverd's exit code
 * and stderr.
 */
export function runCliIntoClosedPipe(args: string[], timeoutMs = 20_000): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', 'set -o pipefail; "$@" | true', 'pipe', process.execPath, BIN, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`failoverd ${args.join(' ')} | true did not finish in time; stderr: ${stderr}`));
    }, scaled(timeoutMs));
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

/** A daemon started from the CLI; its stdout log lines are parsed as JSON as they come. */
export class DaemonProcess {
  readonly child: ChildProcess;
  readonly logs: Array<Record<string, unknown>> = [];
  stderr = '';
  private waiters: Array<{ match: (l: Record<string, unknown>) => boolean; resolve: (l: Record<string, unknown>) => void }> = [];
  readonly exited: Promise<number | null>;
  /** Resolves once the process has exited and its stdout and stderr are read to the end. */
  private readonly outputClosed: Promise<void>;

  /**
   * `wrap` runs node through another command, e.g. ['ip', 'netns', 'exec', ns] (which execs node: the child's pid stays node's).
   * `entry`: what runs instead of `node bin/failoverd.js` (e.g. bin/failoverd-daemon).
   */
  constructor(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; wrap?: string[]; entry?: string[] } = {}) {
    const [command, ...pre] = [...(opts.wrap ?? []), ...(opts.entry ?? [process.execPath, BIN])];
    this.child = spawn(command!, [...pre, ...args], { cwd: opts.cwd, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let buf = '';
    this.child.stdout!.on('data', (d) => {
      buf += d;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        try {
          const obj = JSON.parse(line) as Record<string, unknown>;
          this.logs.push(obj);
          this.waiters = this.waiters.filter((w) => {
            if (!w.match(obj)) return true;
            w.resolve(obj);
            return false;
          });
        } catch {
          // not a log line
        }
      }
    });
    this.child.stderr!.on('data', (d) => (this.stderr += d));
    this.exited = new Promise((r) => this.child.on('exit', (code) => r(code)));
    this.outputClosed = new Promise((r) => this.child.on('close', () => r()));
  }

  /**
   * Resolves with the first log line (past or future) that matches; rejects
   * when the process exits first, or after timeoutMs (scaled by load, see eventually.ts).
   * `since`: only lines from that index of `logs` on (take `logs.length` before an action to wait for what it causes).
   */
  waitForLog(match: (l: Record<string, unknown>) => boolean, timeoutMs = 10_000, since = 0): Promise<Record<string, unknown>> {
    const seen = this.logs.slice(since).find(match);
    if (seen) return Promise.resolve(seen);
    const limitMs = scaled(timeoutMs);
    return new Promise((resolve, reject) => {
      const waiter = {
        match,
        resolve: (l: Record<string, unknown>) => {
          clearTimeout(timer);
          resolve(l);
        },
      };
      const give = (why: string) => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`no matching log line: ${why}; stderr: ${this.stderr}; logs: ${JSON.stringify(this.logs.slice(-5))}`));
      };
      const timer = setTimeout(() => give(`none within ${limitMs} ms (${timeoutMs} ms × time scale)`), limitMs);
      this.waiters.push(waiter);
      void this.outputClosed.then(() => {
        if (this.waiters.includes(waiter)) {
          clearTimeout(timer);
          give(`the process exited (code ${this.child.exitCode}, signal ${this.child.signalCode}) first`);
        }
      });
    });
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 6000): Promise<number | null> {
    if (this.child.exitCode !== null) return this.child.exitCode;
    this.child.kill(signal);
    const t = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    const code = await this.exited;
    clearTimeout(t);
    return code;
  }
}
