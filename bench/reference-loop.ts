/**
 * The reference loop: a bare node:dgram server that answers every query with
 * one cached reply (the answer for the failover name), patching only the ID.
 * It is the ceiling of Node's UDP path; the DNS benchmark compares failoverd
 * with it in the same run.
 *
 * Usage: node --import tsx bench/reference-loop.ts <port>   (prints "ready <port>")
 */
import { createSocket } from 'node:dgram';
import { buildQuery } from '../test/helpers/raw-dns.ts';

/** www.example.test A 127.0.0.1, TTL 30, AA, in the shape failoverd encodes it (no authority). */
function cachedReply(): Buffer {
  const q = buildQuery('www.example.test', 1, { id: 0 });
  const answer = Buffer.from([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 30, 0, 4, 127, 0, 0, 1]);
  const r = Buffer.concat([q, answer]);
  r.writeUInt16BE(0x8400, 2); // QR AA
  r.writeUInt16BE(1, 6); // ANCOUNT
  return r;
}

const port = Number(process.argv[2] ?? 0);
const template = cachedReply();
const sock = createSocket('udp4');
sock.on('message', (msg, rinfo) => {
  const out = Buffer.allocUnsafe(template.length);
  template.copy(out);
  out[0] = msg[0]!;
  out[1] = msg[1]!;
  sock.send(out, rinfo.port, rinfo.address);
});
sock.bind(port, '127.0.0.1', () => process.stdout.write(`ready ${sock.address().port}\n`));
process.on('SIGTERM', () => sock.close(() => process.exit(0)));
