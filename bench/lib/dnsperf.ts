/** Runs Debian's dnsperf (pinned to a core with taskset where there are 2+) and parses its summary. */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hasTool } from '../../test/helpers/tools.ts';
import { pinned } from './cpu.ts';

export interface DnsperfResult {
  qps: number;
  sent: number;
  completed: number;
  lost: number;
  /** Milliseconds. */
  avgLatencyMs: number;
  minLatencyMs: number;
  maxLatencyMs: number;
  rcodes: Record<string, number>;
}

export interface DnsperfOptions {
  port: number;
  /** Lines "name type", one query each, read in a loop. */
  queries: string[];
  seconds: number;
  /** Outstanding queries (-q). */
  outstanding?: number;
  clients?: number;
  /** Fixed rate (-Q). */
  maxQps?: number;
  dir: string;
  extra?: string[];
}

export function dnsperfMissing(): string | undefined {
  return hasTool('dnsperf') ? undefined : 'dnsperf not installed (Debian package dnsperf)';
}

export async function dnsperf(o: DnsperfOptions): Promise<DnsperfResult> {
  const file = join(o.dir, `queries-${Math.random().toString(36).slice(2)}.txt`);
  writeFileSync(file, o.queries.join('\n') + '\n');
  const args = ['-s', '127.0.0.1', '-p', String(o.port), '-d', file, '-l', String(o.seconds), '-c', String(o.clients ?? 1), '-T', '1', '-q', String(o.outstanding ?? 100), '-t', '2'];
  if (o.maxQps) args.push('-Q', String(o.maxQps));
  if (o.extra) args.push(...o.extra);
  const [cmd, ...rest] = pinned('client', ['dnsperf', ...args]);
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn(cmd!, rest, { stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stdout.on('data', (d) => (text += d));
    child.stderr.on('data', (d) => (text += d));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`dnsperf exited ${code}: ${text}`))));
  });
  return parseDnsperf(out);
}

export function parseDnsperf(out: string): DnsperfResult {
  const num = (re: RegExp): number => {
    const m = re.exec(out);
    if (!m) throw new Error(`dnsperf output lacks ${re}:\n${out}`);
    return Number(m[1]);
  };
  const lat = /Average Latency \(s\):\s+([\d.]+) \(min ([\d.]+), max ([\d.]+)\)/.exec(out);
  const rcodes: Record<string, number> = {};
  const rc = /Response codes:\s+(.*)/.exec(out);
  if (rc) for (const part of rc[1]!.split(',')) {
    const m = /(\w+) (\d+)/.exec(part.trim());
    if (m) rcodes[m[1]!] = Number(m[2]);
  }
  return {
    qps: num(/Queries per second:\s+([\d.]+)/),
    sent: num(/Queries sent:\s+(\d+)/),
    completed: num(/Queries completed:\s+(\d+)/),
    lost: num(/Queries lost:\s+(\d+)/),
    avgLatencyMs: lat ? Number(lat[1]) * 1000 : NaN,
    minLatencyMs: lat ? Number(lat[2]) * 1000 : NaN,
    maxLatencyMs: lat ? Number(lat[3]) * 1000 : NaN,
    rcodes,
  };
}
