/**
 * A failoverd config at scale: `targets` targets on loopback (127.0.0.1-250
 * times as many ports as needed, one check per port) and `recordSets`
 * failover record sets, set i answering targets i*stride and i*stride+1 (mod
 * targets; stride = targets / recordSets, at least 1), so every target is
 * used and probed once.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../test/helpers/ports.ts';
import { nodeScript, startFailoverd, startProcess, type RunningServer } from './servers.ts';

export const ADDRESSES = 250;

export interface ScaleOptions {
  targets: number;
  recordSets: number;
  kind: 'http' | 'tcp';
  interval: string;
  watch: boolean;
}

export async function scalePorts(targets: number): Promise<number[]> {
  const ports: number[] = [];
  while (ports.length < Math.ceil(targets / ADDRESSES)) {
    const p = await freePort();
    if (!ports.includes(p)) ports.push(p);
  }
  return ports;
}

export function scaleBody(o: ScaleOptions, ports: number[]): string {
  const lines: string[] = ['checks:'];
  ports.forEach((p, i) => lines.push(`  p${i}: { type: ${o.kind}, port: ${p}${o.kind === 'http' ? ', path: /healthz' : ''}, interval: ${o.interval}, fastInterval: 100ms, timeout: 500ms, rise: 2, fall: 2, watch: ${o.watch} }`));
  const target = (t: number): string => `{ address: 127.0.0.${(t % ADDRESSES) + 1}, check: p${Math.floor(t / ADDRESSES)} }`;
  lines.push('records:');
  // Spread the record sets over every target: with fewer record sets than
  // targets, set i starts at target i * stride (else targets past the first
  // recordSets + 1 would never be probed).
  const stride = Math.max(1, Math.floor(o.targets / o.recordSets));
  for (let i = 0; i < o.recordSets; i++) {
    const a = (i * stride) % o.targets;
    const b = (a + 1) % o.targets;
    lines.push(`  - { name: r${i}.example.test, type: A, ttl: 30, targets: [${target(a)}, ${target(b)}] }`);
  }
  return lines.join('\n') + '\n';
}

/** The backend farm for `ports` (pinned to the client core). */
export function startFarm(kind: 'http' | 'tcp', ports: number[]): Promise<RunningServer> {
  return startProcess('backend farm', nodeScript(join('bench', 'lib', 'backend-farm.ts'), [kind, String(ADDRESSES), ports.join(',')]), (out) => (out.includes('ready') ? 0 : undefined), { pin: 'client', timeoutMs: 120_000 });
}

/** Requests the farm has seen so far (its last "count" line). */
export function farmCount(farm: RunningServer): number {
  const all = [...farm.output().matchAll(/count (\d+)/g)];
  return all.length ? Number(all[all.length - 1]![1]) : 0;
}

/**
 * A backend farm and a failoverd daemon configured at scale, for one
 * measurement: `measure` runs while both are up; both stop, and the temp
 * folder goes, whatever happens. `startMs` is the time until it served DNS.
 */
export async function withScaledDaemon(o: ScaleOptions, timeoutMs: number, measure: (fd: RunningServer, farm: RunningServer, startMs: number) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'failoverd-bench-scale-'));
  const ports = await scalePorts(o.targets);
  const farm = await startFarm(o.kind, ports);
  try {
    const t0 = performance.now();
    const fd = await startFailoverd(dir, { body: scaleBody(o, ports) }, { timeoutMs });
    try {
      await measure(fd, farm, performance.now() - t0);
    } finally {
      await fd.stop();
    }
  } finally {
    await farm.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
