/**
 * Unbound, a real resolver, started by a test: its own config file in the
 * test's folder (no chroot, no user change, no remote control), on a free
 * loopback port, in the foreground; stop() kills it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { printedOnStderr } from './child-output.ts';
import { freePort } from './ports.ts';

export interface UnboundProcess {
  port: number;
  child: ChildProcess;
  /** What Unbound printed so far. */
  stderr(): string;
  stop(): Promise<void>;
}

/**
 * Starts Unbound with `server:` lines `serverLines` (indented 4) and
 * `rest` (stub-zone: etc.) after the basics: 127.0.0.1 on a free port,
 * foreground, logs to stderr, pidfile and directory in `dir`.
 */
export async function startUnbound(dir: string, serverLines: string[], rest = ''): Promise<UnboundProcess> {
  const port = await freePort();
  const conf = join(dir, 'unbound.conf');
  writeFileSync(
    conf,
    `server:
    interface: 127.0.0.1
    port: ${port}
    do-daemonize: no
    username: ""
    chroot: ""
    directory: "${dir}"
    pidfile: "${join(dir, 'unbound.pid')}"
    use-syslog: no
    logfile: ""
    verbosity: 1
    num-threads: 1
    access-control: 127.0.0.0/8 allow
${serverLines.map((l) => `    ${l}`).join('\n')}
remote-control:
    control-enable: no
${rest}`,
  );
  const child = spawn('unbound', ['-d', '-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await gone;
  };
  // Unbound says when it serves (verbosity 1: "start of service").
  const started = await printedOnStderr(child, () => err, 'start of service', 10_000);
  if (started !== 'printed') {
    await stop();
    throw new Error(`Unbound did not start (${started}): ${err}`);
  }
  return { port, child, stderr: () => err, stop };
}
