/** Runs dig against a loopback port and parses what it prints. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface DigResult {
  status: string;
  flags: string[];
  counts: { query: number; answer: number; authority: number; additional: number };
  edns?: { version: number; udp: number; flags: string[] };
  /** The EDNS Client Subnet option the reply echoes, as dig prints it ("192.0.2.0/24/24": address/source/scope). */
  ecs?: string;
  answer: string[];
  authority: string[];
  additional: string[];
  raw: string;
}

export async function dig(port: number, name: string, type = 'A', extra: string[] = []): Promise<DigResult> {
  const args = ['@127.0.0.1', '-p', String(port), name, type, '+norec', '+time=2', '+tries=1', '+nocmd', '+nostats', ...extra];
  const { stdout } = await run('dig', args, { timeout: 10_000 });
  return parseDig(stdout);
}

export function parseDig(out: string): DigResult {
  const header = /status: (\w+)/.exec(out);
  const flags = /;; flags:([^;]*);/.exec(out);
  const counts = /QUERY: (\d+), ANSWER: (\d+), AUTHORITY: (\d+), ADDITIONAL: (\d+)/.exec(out);
  if (!header || !flags || !counts) throw new Error(`dig printed no reply:\n${out}`);
  const edns = /EDNS: version: (\d+), flags:([^;]*); udp: (\d+)/.exec(out);
  const ecs = /CLIENT-SUBNET: (\S+)/.exec(out);
  const section = (title: string): string[] => {
    const m = new RegExp(`;; ${title} SECTION:\\n([\\s\\S]*?)(?:\\n\\n|$)`).exec(out);
    return m ? m[1]!.split('\n').filter((l) => l && !l.startsWith(';')).map((l) => l.replace(/\s+/g, ' ').trim()) : [];
  };
  return {
    status: header[1]!,
    flags: flags[1]!.trim().split(/\s+/).filter(Boolean).sort(),
    counts: { query: +counts[1]!, answer: +counts[2]!, authority: +counts[3]!, additional: +counts[4]! },
    edns: edns ? { version: +edns[1]!, flags: edns[2]!.trim().split(/\s+/).filter(Boolean), udp: +edns[3]! } : undefined,
    ...(ecs ? { ecs: ecs[1]! } : {}),
    answer: section('ANSWER'),
    authority: section('AUTHORITY'),
    additional: section('ADDITIONAL'),
    raw: out,
  };
}
