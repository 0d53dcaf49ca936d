/** Raw DNS packets over UDP and TCP, for what dig and dns.Resolver cannot send. */
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';

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

/** Sends one UDP packet; resolves with the reply, or undefined after `waitMs`. */
export function udpExchange(port: number, packet: Buffer, waitMs = 1000): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const sock = createSocket('udp4');
    const done = (v: Buffer | undefined) => {
      clearTimeout(timer);
      sock.close();
      resolve(v);
    };
    const timer = setTimeout(() => done(undefined), waitMs);
    sock.on('message', (msg) => done(msg));
    sock.on('error', () => done(undefined));
    sock.send(packet, port, '127.0.0.1');
  });
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
