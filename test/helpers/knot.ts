/** Runs Knot DNS (Debian's knot: knotd) on a loopback port serving zone files, for comparisons. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stopChild, type ServedZone } from './nsd.ts';
import { freePort } from './ports.ts';
import { waitUntilAnswering } from './raw-dns.ts';

export interface RunningKnot {
  port: number;
  stop(): Promise<void>;
}

/**
 * A knot.conf on 127.0.0.1:port with everything in `dir`: one worker of
 * each kind, the zone files loaded whole and never written back, no
 * journal, semantic checks off (the zones are generated to be served, not
 * linted; NSD gets the same files). Rate limiting is off by default in Knot.
 */
export function knotConfig(dir: string, port: number, zones: Array<{ name: string; file: string }>): string {
  return `server:
    listen: 127.0.0.1@${port}
    rundir: "${dir}"
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
database:
    storage: "${join(dir, 'db')}"
control:
    listen: "${join(dir, 'knot.sock')}"
log:
  - target: stderr
    any: error
template:
  - id: default
    storage: "${dir}"
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
    semantic-checks: off
zone:
${zones.map((z) => `  - domain: "${z.name === '' ? '.' : z.name}"\n    file: "${z.file}"\n`).join('')}`;
}

/** knotd serving every zone given; resolves once each answers its SOA. */
export async function startKnot(zones: ServedZone[]): Promise<RunningKnot> {
  const dir = mkdtempSync(join(tmpdir(), 'failoverd-knot-'));
  mkdirSync(join(dir, 'db'));
  const port = await freePort();
  const files = zones.map((z, i) => ({ name: z.origin, file: `zone${i}.txt` }));
  zones.forEach((z, i) => writeFileSync(join(dir, files[i]!.file), z.text));
  writeFileSync(join(dir, 'knot.conf'), knotConfig(dir, port, files));
  const child: ChildProcess = spawn('knotd', ['-c', join(dir, 'knot.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const stop = async () => {
    await stopChild(child);
    rmSync(dir, { recursive: true, force: true });
  };
  await waitUntilAnswering({ name: 'knotd', port, child, stderr: () => stderr, stop }, zones.map((z) => z.origin), { authoritative: true });
  return { port, stop };
}
