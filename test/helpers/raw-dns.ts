/** Raw DNS packets over UDP and TCP, for what dig and dns.Resolver cannot send. */
import type { ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { scaled } from './eventually.ts';

/** A query packet: one question, optional OPT (udp size, version, options bytes). */
export function buildQuery(name: string, type: number, opts: { id?: number; flags?: number; qdcount?: number; qclass?: number; opt?: { size?: number; version?: number; do?: boolean; options?: Buffer } } = {}): Buffer {
  const labels = name === '' ? [] : name.split('.');
  const parts: Buffer[] = [];
  const header = Buffer.alloc(12);
  header.writeUInt16BE(opts.id ?? 0x1234, 0);
  header.writeUInt16BE(opts.flags ?? 0x0000, 2);
  header.writeUInt16BE(opts.qdcount ?? 1, 4);
  header.writeUInt16BE(opts.opt ? 1 : 0, 10);
  parts.push(header);
  for (const l of labels) parts.push(Buffer.from([l.length]), Buffer.from(l, 'latin1'));
  parts.push(Buffer.from([0]));
  const q = Buffer.alloc(4);
  q.writeUInt16BE(type, 0);
  q.writeUInt16BE(opts.qclass ?? 1, 2);
  parts.push(q);
  if (opts.opt) {
    const o = Buffer.alloc(11);
    o[0] = 0;
    o.writeUInt16BE(41, 1);
    o.writeUInt16BE(opts.opt.size ?? 1232, 3);
    o[5] = 0;
    o[6] = opts.opt.version ?? 0;
    o.writeUInt16BE(opts.opt.do ? 0x8000 : 0, 7);
    const options = opts.opt.options ?? Buffer.alloc(0);
    o.writeUInt16BE(options.length, 9);
    parts.push(o, options);
  }
  return Buffer.concat(parts);
}

/**
 * Sends one UDP packet from a socket connected to 127.0.0.1:port; resolves
 * with the reply, or with why there is none (the port refused it, or no
 * reply within `waitMs`).
 */
export function udpAsk(port: number, packet: Buffer, waitMs = 1000): Promise<{ reply: Buffer } | { problem: string }> {
  return new Promise((resolve) => {
    const sock = createSocket('udp4');
    const done = (v: { reply: Buffer } | { problem: string }) => {
      clearTimeout(timer);
      sock.close();
      resolve(v);
    };
    const timer = setTimeout(() => done({ problem: `no reply within ${waitMs} ms` }), waitMs);
    sock.on('message', (msg) => done({ reply: msg }));
    sock.on('error', (err: NodeJS.ErrnoException) => done({ problem: err.code ?? err.message }));
    sock.connect(port, '127.0.0.1', () => sock.send(packet));
  });
}

/** Sends one UDP packet; resolves with the reply, or undefined (refused, or nothing after `waitMs`). */
export async function udpExchange(port: number, packet: Buffer, waitMs = 1000): Promise<Buffer | undefined> {
  const r = await udpAsk(port, packet, waitMs);
  return 'reply' in r ? r.reply : undefined;
}

/** Sends length-prefixed messages over one TCP connection; collects the replies. */
export function tcpExchange(port: number, packets: Buffer[], expect: number, waitMs = 2000): Promise<Buffer[]> {
  return new Promise((resolve) => {
    const replies: Buffer[] = [];
    let buf = Buffer.alloc(0);
    const sock = connect(port, '127.0.0.1');
    const done = () => {
      clearTimeout(timer);
      sock.destroy();
      resolve(replies);
    };
    const timer = setTimeout(done, waitMs);
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const len = buf.readUInt16BE(0);
        replies.push(buf.subarray(2, 2 + len));
        buf = buf.subarray(2 + len);
      }
      if (replies.length >= expect) done();
    });
    sock.on('error', done);
    sock.on('close', done);
    for (const p of packets) {
      const len = Buffer.alloc(2);
      len.writeUInt16BE(p.length);
      sock.write(Buffer.concat([len, p]));
    }
  });
}

export function rcodeOf(reply: Buffer): number {
  return reply[3]! & 0x0f;
}
export function flagsOf(reply: Buffer): { qr: boolean; aa: boolean; tc: boolean; rd: boolean; ra: boolean; opcode: number } {
  return { qr: !!(reply[2]! & 0x80), opcode: (reply[2]! >> 3) & 0xf, aa: !!(reply[2]! & 0x04), tc: !!(reply[2]! & 0x02), rd: !!(reply[2]! & 0x01), ra: !!(reply[3]! & 0x80) };
}

/** A DNS server process a test started on 127.0.0.1:port. */
export interface ServerProcess {
  /** For errors: e.g. 'nsd', 'knotd'. */
  name: string;
  port: number;
  child: ChildProcess;
  /** What it printed on stderr so far. */
  stderr(): string;
  /** Stops it and removes its files: called before waitUntilAnswering throws. */
  stop(): Promise<void>;
}

/**
 * Waits until a DNS server the test started answers the SOA query of every
 * zone (origin without the trailing dot; '' is the root): `authoritative`,
 * NOERROR with AA (each zone loaded and served); otherwise any reply (the
 * server is up, a zone may still be transferring). Bounded: at most `tries`
 * rounds and `timeoutMs`. A server that exits first, or is not ready in
 * time, is stopped, and the error names it, its port, the last problem seen
 * and its stderr.
 */
export async function waitUntilAnswering(s: ServerProcess, zones: string[], o: { authoritative: boolean; tries?: number; timeoutMs?: number }): Promise<void> {
  const tries = o.tries ?? 200;
  const timeoutMs = scaled(o.timeoutMs ?? 20_000);
  const start = performance.now();
  let last = 'not asked yet';
  for (let i = 0; i < tries && performance.now() - start < timeoutMs; i++) {
    if (s.child.exitCode !== null || s.child.signalCode !== null) {
      await s.stop();
      throw new Error(`${s.name} on port ${s.port} exited (${s.child.exitCode ?? s.child.signalCode}) before answering; last: ${last}; stderr: ${s.stderr()}`);
    }
    last = await soaProblem(s.port, zones, o.authoritative);
    if (last === '') return;
    // Refused or answered but not ready: ask again shortly (no reply at all has waited already).
    if (!last.includes('no reply within')) await new Promise((r) => setTimeout(r, 50));
  }
  await s.stop();
  throw new Error(`${s.name} on port ${s.port} not answering after ${tries} tries or ${timeoutMs} ms; last: ${last}; stderr: ${s.stderr()}`);
}

/** '' when every zone's SOA is answered as wanted, otherwise the first problem. */
async function soaProblem(port: number, zones: string[], authoritative: boolean): Promise<string> {
  for (const zone of zones) {
    const shown = zone === '' ? '.' : zone;
    const r = await udpAsk(port, buildQuery(zone, 6, { id: Math.floor(Math.random() * 0x10000) }), 500);
    if ('problem' in r) return `SOA ${shown}: ${r.problem}`;
    if (!authoritative) continue;
    if (rcodeOf(r.reply) !== 0) return `SOA ${shown}: rcode ${rcodeOf(r.reply)}`;
    if (!flagsOf(r.reply).aa) return `SOA ${shown}: not authoritative`;
  }
  return '';
}
