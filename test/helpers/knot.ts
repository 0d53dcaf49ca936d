/** Runs Knot DNS (Debian's knot: knotd) on a loopback port serving zone files, for comparisons. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runZoneServer, type ServedZone } from './nsd.ts';

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
  return `${knotServerSection(dir, port, 'error')}template:
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
  return runZoneServer('knotd', zones, (dir, port, files) => {
    mkdirSync(join(dir, 'db'));
    writeFileSync(join(dir, 'knot.conf'), knotConfig(dir, port, files));
    return ['-c', join(dir, 'knot.conf')];
  });
}

/** The server, database, control and log sections of a knotd.conf on one loopback port, one worker of each kind, run files in `dir`. */
export function knotServerSection(dir: string, port: number, logLevel: 'error' | 'warning'): string {
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
    any: ${logLevel}
`;
}
