/**
 * Starts moto_server (Python moto, a Route 53 API emulator) on a free
 * loopback port and stops it by pid. Tests call needMoto(t) first: without
 * moto_server the test is skipped with the reason printed (failed when CI=true).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { TestContext } from 'node:test';
import { CreateHostedZoneCommand, Route53Client } from '@aws-sdk/client-route-53';
import { printedOnStderr } from './child-output.ts';
import { freePort } from './ports.ts';
import { needTool } from './tools.ts';
import { scaled } from './eventually.ts';

export const TEST_CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };

/** The environment of a daemon or CLI that talks to moto (or a fake Route 53): the dummy credentials, no instance metadata. */
export const AWS_ENV = { AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey, AWS_EC2_METADATA_DISABLED: 'true', AWS_REGION: 'us-east-1' };

export interface Moto {
  endpoint: string;
  port: number;
  proc: ChildProcess;
  stop(): Promise<void>;
}

export function needMoto(t: TestContext): boolean {
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
  return needTool(t, 'moto_server', 'python3-moto; or pip install "moto[server]"');
}

export async function startMoto(timeoutMs = 20_000): Promise<Moto> {
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
  const port = await freePort();
  const proc = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr?.on('data', (b: Buffer) => {
    stderr = (stderr + b.toString()).slice(-4000);
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((r) => proc.once('exit', () => r()));
    proc.kill('SIGTERM');
    const t = setTimeout(() => proc.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(t);
  };
  // Werkzeug prints "Running on <endpoint>" once its socket listens: wait on that line (or the exit, or the time).
  const started = await printedOnStderr(proc, () => stderr, `Running on ${endpoint}`, scaled(timeoutMs));
  const listening = started === 'printed';
  const answer = listening ? await fetch(`${endpoint}/moto-api/`, { signal: AbortSignal.timeout(5000) }).then((res) => res.arrayBuffer().then(() => res.status), (err: Error) => err.message) : undefined;
  if (typeof answer !== 'number') {
    const why = proc.exitCode !== null ? `exited (${proc.exitCode})` : listening ? `did not answer on ${endpoint} (${answer})` : `did not listen on ${endpoint} within ${timeoutMs} ms`;
    await stop();
    throw new Error(`moto_server ${why}: ${stderr}`);
  }
  return { endpoint, port, proc, stop };
}

/** A fresh hosted zone in moto; returns its id without the /hostedzone/ prefix. */
export async function createZone(endpoint: string, name: string): Promise<{ id: string; client: Route53Client }> {
  const client = new Route53Client({ region: 'us-east-1', endpoint, credentials: TEST_CREDENTIALS, maxAttempts: 1 });
  const res = await client.send(new CreateHostedZoneCommand({ Name: name, CallerReference: `test-${name}-${Date.now()}-${Math.random()}` }));
  return { id: (res.HostedZone?.Id ?? '').replace(/^\/hostedzone\//, ''), client };
}

/**
 * moto_server started for this test (stopped when it ends) with one fresh
 * hosted zone; undefined when the test was skipped for want of moto_server.
 */
export async function motoZone(t: TestContext, name: string): Promise<{ endpoint: string; zoneId: string; client: Route53Client } | undefined> {
  if (!needMoto(t)) return undefined;
  const moto = await startMoto();
  t.after(() => moto.stop());
  const { id: zoneId, client } = await createZone(moto.endpoint, name);
  return { endpoint: moto.endpoint, zoneId, client };
}
