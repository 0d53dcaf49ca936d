/**
 * Authoritative servers that take RFC 2136 UPDATE signed with TSIG, each run
 * by the test on a free loopback port with its config written to a fresh
 * folder: Knot (knotd, acl with action: update), BIND (named, update-policy
 * with the key) and PowerDNS (pdns_server with the gsqlite3 backend,
 * dnsupdate=yes, allow-dnsupdate-from, TSIG-ALLOW-DNSUPDATE metadata). The
 * server-side configs are the ones README and docs/configuration.md show.
 *
 * stop() ends the process and keeps its folder (zone data, journal,
 * database); start() runs it again on the same port; remove() ends it and
 * deletes the folder.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { knotServerSection } from './knot.ts';
import { stopChild } from './nsd.ts';
import { freePort } from './ports.ts';
import { waitUntilAnswering } from './raw-dns.ts';

export type UpdateServerKind = 'knot' | 'bind' | 'pdns';

export interface TsigKeySpec {
  name: string;
  algorithm: string;
  /** Base64. */
  secret: string;
}

export interface UpdateServerOptions {
  zone: string;
  /** The zone file's text. */
  zoneText: string;
  /** Signs UPDATE. */
  updateKey: TsigKeySpec;
  /** Signs SOA queries and IXFR/AXFR. */
  readKey: TsigKeySpec;
  /** Knot only: a secondary to NOTIFY (it may transfer without a key). */
  notify?: { port: number };
}

export interface UpdateServer {
  kind: UpdateServerKind;
  port: number;
  dir: string;
  /** What the process printed on stderr since it was last started. */
  stderr(): string;
  start(): Promise<void>;
  stop(): Promise<void>;
  remove(): Promise<void>;
}

/** The command each kind needs, and the Debian package it comes from. */
export const UPDATE_SERVER_TOOLS: Record<UpdateServerKind, { command: string; pkg: string }> = {
  knot: { command: 'knotd', pkg: 'knot' },
  bind: { command: 'named', pkg: 'bind9' },
  pdns: { command: 'pdns_server', pkg: 'pdns-server' },
};

/** Where Debian's pdns-backend-sqlite3 puts the schema. */
export const PDNS_SQLITE_SCHEMA = ['/usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql', '/usr/share/doc/pdns-backend-sqlite3/schema.sqlite3.sql'];

export function knotConf(dir: string, port: number, o: UpdateServerOptions): string {
  return `${knotServerSection(dir, port, 'warning')}key:
  - id: ${o.updateKey.name}
    algorithm: ${o.updateKey.algorithm}
    secret: ${o.updateKey.secret}
  - id: ${o.readKey.name}
    algorithm: ${o.readKey.algorithm}
    secret: ${o.readKey.secret}
${o.notify ? `remote:\n  - id: secondary\n    address: 127.0.0.1@${o.notify.port}\n` : ''}acl:
  - id: failoverd-update
    address: 127.0.0.1
    key: ${o.updateKey.name}
    action: update
  - id: failoverd-read
    address: 127.0.0.1
    key: ${o.readKey.name}
    action: transfer
${o.notify ? `  - id: secondary-transfer\n    address: 127.0.0.1\n    action: transfer\n` : ''}zone:
  - domain: ${o.zone}
    storage: "${dir}"
    file: ${o.zone}.zone
    zonefile-sync: 0
    acl: [failoverd-update, failoverd-read${o.notify ? ', secondary-transfer' : ''}]
${o.notify ? '    notify: secondary\n' : ''}`;
}

export function namedConf(dir: string, port: number, o: UpdateServerOptions): string {
  return `options {
  directory "${dir}";
  listen-on port ${port} { 127.0.0.1; };
  listen-on-v6 { none; };
  pid-file "${join(dir, 'named.pid')}";
  session-keyfile "${join(dir, 'session.key')}";
  recursion no;
  notify no;
  allow-transfer { key "${o.readKey.name}"; };
};
controls { };
key "${o.updateKey.name}" { algorithm ${o.updateKey.algorithm}; secret "${o.updateKey.secret}"; };
key "${o.readKey.name}" { algorithm ${o.readKey.algorithm}; secret "${o.readKey.secret}"; };
zone "${o.zone}" {
  type primary;
  file "${o.zone}.zone";
  update-policy { grant ${o.updateKey.name} zonesub ANY; };
};
`;
}

export function pdnsConf(dir: string, port: number): string {
  return `launch=gsqlite3
gsqlite3-database=${join(dir, 'pdns.sqlite3')}
local-address=127.0.0.1
local-port=${port}
socket-dir=${dir}
daemon=no
guardian=no
disable-syslog=yes
loglevel=3
dnsupdate=yes
allow-dnsupdate-from=127.0.0.0/8
disable-axfr=no
allow-axfr-ips=127.0.0.0/8
cache-ttl=0
negquery-cache-ttl=0
query-cache-ttl=0
zone-cache-refresh-interval=0
`;
}

/** PowerDNS' per-zone settings (pdnsutil): the keys, which key may update and transfer, and the serial raised on each UPDATE. */
export function pdnsSetup(o: UpdateServerOptions): string[][] {
  return [
    ['import-tsig-key', o.updateKey.name, o.updateKey.algorithm, o.updateKey.secret],
    ...(o.readKey.name !== o.updateKey.name ? [['import-tsig-key', o.readKey.name, o.readKey.algorithm, o.readKey.secret]] : []),
    ['set-meta', o.zone, 'TSIG-ALLOW-DNSUPDATE', o.updateKey.name],
    ['set-meta', o.zone, 'TSIG-ALLOW-AXFR', o.readKey.name],
    ['set-meta', o.zone, 'SOA-EDIT-DNSUPDATE', 'INCREASE'],
  ];
}

export async function startUpdateServer(kind: UpdateServerKind, o: UpdateServerOptions): Promise<UpdateServer> {
  const dir = mkdtempSync(join(tmpdir(), `failoverd-upd-${kind}-`));
  const port = await freePort();
  writeFileSync(join(dir, `${o.zone}.zone`), o.zoneText);
  let args: string[];
  let command: string;
  if (kind === 'knot') {
    mkdirSync(join(dir, 'db'));
    writeFileSync(join(dir, 'knot.conf'), knotConf(dir, port, o));
    command = 'knotd';
    args = ['-c', join(dir, 'knot.conf')];
  } else if (kind === 'bind') {
    writeFileSync(join(dir, 'named.conf'), namedConf(dir, port, o));
    command = 'named';
    args = ['-g', '-n', '1', '-c', join(dir, 'named.conf')];
  } else {
    writeFileSync(join(dir, 'pdns.conf'), pdnsConf(dir, port));
    const schema = PDNS_SQLITE_SCHEMA.find((p) => existsSync(p));
    if (!schema) throw new Error(`no PowerDNS sqlite3 schema at ${PDNS_SQLITE_SCHEMA.join(' or ')} (Debian package pdns-backend-sqlite3)`);
    execFileSync('sqlite3', [join(dir, 'pdns.sqlite3'), `.read ${schema}`], { stdio: 'pipe' });
    const util = (a: string[]) => execFileSync('pdnsutil', [`--config-dir=${dir}`, ...a], { stdio: 'pipe' });
    util(['load-zone', o.zone, join(dir, `${o.zone}.zone`)]);
    for (const a of pdnsSetup(o)) util(a);
    command = 'pdns_server';
    args = [`--config-dir=${dir}`];
  }
  let child: ChildProcess | undefined;
  let stderr = '';
  const server: UpdateServer = {
    kind,
    port,
    dir,
    stderr: () => stderr,
    async start() {
      stderr = '';
      const c = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      child = c;
      c.stderr!.on('data', (d) => (stderr += d));
      c.stdout!.on('data', (d) => (stderr += d));
      await waitUntilAnswering({ name: command, port, child: c, stderr: () => stderr, stop: () => stopChild(c) }, [o.zone], { authoritative: true });
    },
    async stop() {
      if (child) await stopChild(child);
      child = undefined;
    },
    async remove() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await server.start();
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return server;
}
