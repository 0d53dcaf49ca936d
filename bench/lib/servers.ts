/** The servers a bench compares, each started as its own process (pinned to the server core). */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../../test/helpers/ports.ts';
import { hasTool } from '../../test/helpers/tools.ts';
import { pinned } from './cpu.ts';

import { EXAMPLE_ZONE, ROOT } from './paths.ts';
import { daemonCommand } from './runtime.ts';
import { nsdConfig } from '../../test/helpers/nsd.ts';

export { EXAMPLE_ZONE, ROOT };

export interface RunningServer {
  name: string;
  port: number;
  pid: number;
  child: ChildProcess;
  /** Everything the process printed (stdout + stderr). */
  output(): string;
  stop(): Promise<void>;
}

/** Spawns a server process and waits until `ready(output)` returns its port. */
export function startProcess(name: string, cmd: string[], ready: (out: string) => number | undefined, opts: { pin?: false | 'server' | 'client'; timeoutMs?: number; cwd?: string } = {}): Promise<RunningServer> {
  const full = opts.pin === false ? cmd : pinned(opts.pin ?? 'server', cmd);
  const child = spawn(full[0]!, full.slice(1), { cwd: opts.cwd ?? ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        child.kill('SIGKILL');
        resolve();
      }, 5000);
      child.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
    });
  };
  return new Promise((resolve, reject) => {
    const deadline = setTimeout(() => {
      void stop();
      reject(new Error(`${name} did not start in time:\n${out}`));
    }, opts.timeoutMs ?? 20_000);
    const check = (): void => {
      const port = ready(out);
      if (port === undefined) return;
      clearTimeout(deadline);
      child.stdout!.off('data', check);
      child.stderr!.off('data', check);
      resolve({ name, port, pid: child.pid!, child, output: () => out, stop });
    };
    child.stdout!.on('data', check);
    child.stderr!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(deadline);
      reject(new Error(`${name} exited (${code}) before it was ready:\n${out}`));
    });
  });
}

const readyLine = (out: string): number | undefined => {
  const m = /ready (\d+)/.exec(out);
  return m ? Number(m[1]) : undefined;
};

export function nodeScript(script: string, args: string[]): string[] {
  return [process.execPath, '--import', 'tsx', join(ROOT, script), ...args];
}

export function startReferenceLoop(): Promise<RunningServer> {
  return startProcess('reference loop', nodeScript('bench/reference-loop.ts', ['0']), readyLine);
}

/** The example zone with www as a static A (what failoverd answers for it while the primary is up). */
export function zoneWithWww(): string {
  return readFileSync(EXAMPLE_ZONE, 'utf8') + '\nwww 30 A 127.0.0.1\n';
}

export async function startNsd(dir: string): Promise<RunningServer | string> {
  if (!hasTool('nsd')) return 'nsd not installed (Debian package nsd)';
  const port = await freePort();
  const d = join(dir, 'nsd');
  mkdirSync(d, { recursive: true });
  writeFileSync(join(d, 'zone.txt'), zoneWithWww());
  writeFileSync(join(d, 'nsd.conf'), nsdConfig(d, port, 'example.test', { unlimited: true }));
  // NSD says nothing on stdout when ready; probe it with a UDP query instead.
  const s = await startProcess('nsd', ['nsd', '-d', '-c', join(d, 'nsd.conf')], () => port, { timeoutMs: 10_000 });
  await waitUdp(port);
  return s;
}

async function waitUdp(port: number): Promise<void> {
  const { udpExchange, buildQuery } = await import('../../test/helpers/raw-dns.ts');
  for (let i = 0; i < 100; i++) {
    if (await udpExchange(port, buildQuery('example.test', 6), 200)) return;
  }
  throw new Error(`nothing answers on udp ${port}`);
}

export interface FailoverdConfig {
  /** Extra top-level YAML (checks and records), appended. */
  body: string;
  workers?: number | 'auto';
  logLevel?: string;
  port?: number;
}

/** Writes config + zone into `dir` and starts the daemon (pinned unless pin: false). */
export async function startFailoverd(dir: string, cfg: FailoverdConfig, opts: { pin?: false | 'server' | 'client'; timeoutMs?: number } = {}): Promise<RunningServer> {
  mkdirSync(join(dir, 'zones'), { recursive: true });
  copyFileSync(EXAMPLE_ZONE, join(dir, 'zones', 'example.test.zone'));
  const port = cfg.port ?? (await freePort());
  const workers = cfg.workers !== undefined ? `, workers: ${cfg.workers}` : '';
  const file = join(dir, 'failoverd.yaml');
  writeFileSync(file, `dns: { listen: ["127.0.0.1:${port}"]${workers} }\nzones: zones\nlog: { level: ${cfg.logLevel ?? 'warn'} }\nstartupTimeout: 5s\n${cfg.body}`);
  const s = await startProcess('failoverd', daemonCommand(file), readyLine, { pin: opts.pin, timeoutMs: opts.timeoutMs ?? 60_000 });
  await waitUdp(s.port);
  return s;
}
