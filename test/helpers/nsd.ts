/** Runs NSD (Debian's nsd) on a loopback port serving one zone file, for comparisons. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dig } from './dig.ts';
import { freePort } from './ports.ts';

export interface RunningNsd {
  port: number;
  stop(): Promise<void>;
}

/**
 * An nsd.conf for one zone (file zone.txt in `dir`) on 127.0.0.1:port, run
 * in the foreground as the current user. `unlimited` turns response rate
 * limiting off (for benchmarks).
 */
export function nsdConfig(dir: string, port: number, zone: string, opts: { unlimited?: boolean } = {}): string {
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
zone:
  name: ${zone}
  zonefile: zone.txt
`;
}

export async function startNsd(zone: string, zoneText: string): Promise<RunningNsd> {
  const dir = mkdtempSync(join(tmpdir(), 'failoverd-nsd-'));
  const port = await freePort();
  writeFileSync(join(dir, 'zone.txt'), zoneText);
  writeFileSync(join(dir, 'nsd.conf'), nsdConfig(dir, port, zone));
  const child: ChildProcess = spawn('nsd', ['-d', '-c', join(dir, 'nsd.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const stop = async () => {
    if (child.exitCode === null) {
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
    rmSync(dir, { recursive: true, force: true });
  };
  // Wait (bounded) until the zone is loaded and served.
  for (let i = 0; i < 50; i++) {
    try {
      const r = await dig(port, zone, 'SOA');
      if (r.status === 'NOERROR') return { port, stop };
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await stop();
  throw new Error(`nsd did not serve ${zone}: ${stderr}`);
}
