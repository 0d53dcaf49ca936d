/**
 * NSD (Debian's nsd) as a secondary of failoverd on a loopback port: it
 * transfers its zone from the primary (request-xfr), takes NOTIFY from it
 * (allow-notify), optionally with a TSIG key. Started by pid, stopped with
 * SIGTERM (then SIGKILL), its folder removed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dig, type DigResult } from './dig.ts';
import { waitUntilAnswering } from './raw-dns.ts';

export interface NsdSecondaryOptions {
  /** The port NSD listens on (UDP and TCP), picked by the caller (failoverd's config names it). */
  port: number;
  zone: string;
  primaryPort: number;
  key?: { name: string; algorithm: string; secret: string };
}

export interface NsdSecondary {
  port: number;
  pid: number;
  /** What NSD printed on stderr (verbosity 2: transfers and NOTIFY). */
  log(): string;
  query(name: string, type?: string): Promise<DigResult>;
  stop(): Promise<void>;
}

export async function startNsdSecondary(o: NsdSecondaryOptions): Promise<NsdSecondary> {
  const dir = mkdtempSync(join(tmpdir(), 'failoverd-nsd2-'));
  const keyRef = o.key ? o.key.name : 'NOKEY';
  writeFileSync(
    join(dir, 'nsd.conf'),
    `server:
  ip-address: 127.0.0.1@${o.port}
  port: ${o.port}
  username: ""
  chroot: ""
  database: ""
  zonelistfile: "${dir}/zone.list"
  xfrdfile: "${dir}/xfrd.state"
  xfrdir: "${dir}"
  pidfile: "${dir}/nsd.pid"
  zonesdir: "${dir}"
  server-count: 1
  xfrd-reload-timeout: 0
  zonefiles-write: 0
  hide-version: yes
  hide-identity: yes
  verbosity: 2
remote-control:
  control-enable: no
${o.key ? `key:\n  name: ${o.key.name}\n  algorithm: ${o.key.algorithm}\n  secret: "${o.key.secret}"\n` : ''}zone:
  name: ${o.zone}
  zonefile: ${o.zone}.zone
  request-xfr: 127.0.0.1@${o.primaryPort} ${keyRef}
  allow-notify: 127.0.0.1 ${keyRef}
`,
  );
  const child: ChildProcess = spawn('nsd', ['-d', '-c', join(dir, 'nsd.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise((r) => child.once('exit', r));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      process.kill(child.pid!, 'SIGTERM');
      const t = setTimeout(() => child.exitCode === null && process.kill(child.pid!, 'SIGKILL'), 3000);
      await exited;
      clearTimeout(t);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  // Up when it answers on its port (REFUSED/SERVFAIL until the zone has transferred).
  await waitUntilAnswering({ name: 'nsd (secondary)', port: o.port, child, stderr: () => stderr, stop }, [o.zone], { authoritative: false });
  return { port: o.port, pid: child.pid!, log: () => stderr, query: (name, type = 'A') => dig(o.port, name, type), stop };
}
