/** Runs NSD (Debian's nsd) on a loopback port serving zone files, for comparisons. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.ts';
import { waitUntilAnswering } from './raw-dns.ts';

export interface RunningNsd {
  port: number;
  stop(): Promise<void>;
}

/** One zone to serve: its origin (no trailing dot) and master-file text. */
export interface ServedZone {
  origin: string;
  text: string;
}

/**
 * An nsd.conf on 127.0.0.1:port, run in the foreground as the current user,
 * for one zone (file zone.txt in `dir`) or several (`{ name, file }`, files
 * in `dir`). `unlimited` turns response rate limiting off (for benchmarks
 * and query floods).
 */
export function nsdConfig(dir: string, port: number, zone: string | Array<{ name: string; file: string }>, opts: { unlimited?: boolean } = {}): string {
  const zones = typeof zone === 'string' ? [{ name: zone, file: 'zone.txt' }] : zone;
  return `server:
  ip-address: 127.0.0.1@${port}
  port: ${port}
  username: ""
  chroot: ""
  database: ""
  zonelistfile: "${dir}/zone.list"
  xfrdfile: "${dir}/xfrd.state"
  pidfile: "${dir}/nsd.pid"
  zonesdir: "${dir}"
  server-count: 1
  hide-version: yes
  hide-identity: yes
  verbosity: 0
${opts.unlimited ? '  rrl-ratelimit: 0\n  rrl-whitelist-ratelimit: 0\n' : ''}remote-control:
  control-enable: no
${zones.map((z) => `zone:\n  name: "${z.name === '' ? '.' : z.name}"\n  zonefile: ${z.file}\n`).join('')}`;
}

export async function startNsd(zone: string, zoneText: string): Promise<RunningNsd> {
  return startNsdZones([{ origin: zone, text: zoneText }]);
}

/** NSD serving every zone given; resolves once each answers its SOA. */
export async function startNsdZones(zones: ServedZone[], opts: { unlimited?: boolean } = {}): Promise<RunningNsd> {
  return runZoneServer('nsd', zones, (dir, port, files) => {
    writeFileSync(join(dir, 'nsd.conf'), nsdConfig(dir, port, files, opts));
    return ['-d', '-c', join(dir, 'nsd.conf')];
  });
}

/**
 * Runs a DNS server (`command`) on a free loopback port serving `zones`:
 * the zone files (zone0.txt, ...) and whatever `configure` writes go in a
 * fresh folder; `configure` returns the command's arguments. Resolves once
 * every zone answers its SOA authoritatively; stop() ends it and removes
 * the folder.
 */
export async function runZoneServer(command: string, zones: ServedZone[], configure: (dir: string, port: number, files: Array<{ name: string; file: string }>) => string[]): Promise<RunningNsd> {
  const dir = mkdtempSync(join(tmpdir(), `failoverd-${command}-`));
  const port = await freePort();
  const files = zones.map((z, i) => ({ name: z.origin, file: `zone${i}.txt` }));
  zones.forEach((z, i) => writeFileSync(join(dir, files[i]!.file), z.text));
  const child: ChildProcess = spawn(command, configure(dir, port, files), { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const stop = async () => {
    await stopChild(child);
    rmSync(dir, { recursive: true, force: true });
  };
  await waitUntilAnswering({ name: command, port, child, stderr: () => stderr, stop }, zones.map((z) => z.origin), { authoritative: true });
  return { port, stop };
}

/** SIGTERM, then SIGKILL after 3 s; resolves once the process is gone. */
export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  await new Promise((r) => {
    const t = setTimeout(() => {
      child.kill('SIGKILL');
      r(undefined);
    }, 3000);
    child.once('exit', () => {
      clearTimeout(t);
      r(undefined);
    });
  });
}
