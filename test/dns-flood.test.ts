/**
 * A flood of random, truncated and bit-flipped packets over UDP and TCP:
 * afterwards the server still answers a valid query correctly, and the
 * process is alive (it never crashes or stalls on a packet).
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { Resolver } from 'node:dns/promises';
import { after, before, test } from 'node:test';
import { startDns, type RunningDns } from './helpers/dns-fixture.ts';
import { buildQuery, tcpExchange } from './helpers/raw-dns.ts';

let dns: RunningDns;
before(async () => {
  dns = await startDns();
});
after(() => dns.stop());

/** A small deterministic PRNG, so a failure can be replayed. */
function mulberry32(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function mutants(count: number, seed: number): Buffer[] {
  const rnd = mulberry32(seed);
  const seeds = [
    buildQuery('static.example.test', 1),
    buildQuery('big.example.test', 1, { opt: { size: 4096 } }),
    buildQuery('foo.wild.example.test', 255, { opt: { size: 512, options: Buffer.from([0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8]) } }),
    buildQuery('sub.example.test', 2),
  ];
  const out: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const kind = i % 4;
    const base = seeds[i % seeds.length]!;
    if (kind === 0) {
      // pure noise of random length
      const b = Buffer.alloc(Math.floor(rnd() * 600));
      for (let j = 0; j < b.length; j++) b[j] = Math.floor(rnd() * 256);
      out.push(b);
    } else if (kind === 1) {
      out.push(Buffer.from(base.subarray(0, Math.floor(rnd() * base.length))));
    } else if (kind === 2) {
      const b = Buffer.from(base);
      const flips = 1 + Math.floor(rnd() * 6);
      for (let f = 0; f < flips; f++) b[Math.floor(rnd() * b.length)]! ^= 1 << Math.floor(rnd() * 8);
      out.push(b);
    } else {
      // header counts and name pointers forged to point anywhere (loops included)
      const b = Buffer.from(base);
      b.writeUInt16BE(Math.floor(rnd() * 65536), 4 + 2 * Math.floor(rnd() * 4));
      const at = 12 + Math.floor(rnd() * (b.length - 13));
      b[at] = 0xc0;
      b[at + 1] = Math.floor(rnd() * b.length);
      out.push(b);
    }
  }
  return out;
}

async function stillAnswers(): Promise<void> {
  const r = new Resolver({ timeout: 2000, tries: 1 });
  r.setServers([`127.0.0.1:${dns.port}`]);
  assert.deepEqual(await r.resolve4('static.example.test'), ['127.0.0.10']);
}

test('UDP: 4,000 hostile packets, then a valid query is answered', async () => {
  const sock = createSocket('udp4');
  const END = Buffer.from('flood-end');
  let replies = 0;
  let endAnswered: (() => void) | undefined;
  sock.on('message', (m) => (m.includes(END) ? endAnswered?.() : replies++));
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  const packets = mutants(4000, 42);
  for (let i = 0; i < packets.length; i += 200) {
    await Promise.all(packets.slice(i, i + 200).map((p) => new Promise((r) => sock.send(p, dns.port, '127.0.0.1', r))));
    await new Promise((r) => setImmediate(r));
  }
  // The end of the flood: a query of ours from the same socket. The server reads its socket in order, so
  // the reply means every packet before it was read. (UDP: one lost to a full buffer is sent again.)
  const end = buildQuery('flood-end.example.test', 1, { id: 0xbeef });
  let ended = false;
  for (let i = 0; i < 5 && !ended; i++) {
    ended = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 1000);
      endAnswered = () => {
        clearTimeout(timer);
        resolve(true);
      };
      sock.send(end, dns.port, '127.0.0.1');
    });
  }
  sock.close();
  assert.ok(ended, 'the query after the flood is answered');
  assert.ok(replies > 0, 'some packets had a readable header and got FORMERR or an answer');
  await stillAnswers();
});

test('TCP: hostile streams (bad lengths, garbage, abrupt closes), then a valid query is answered', async () => {
  const packets = mutants(1200, 7);
  const rnd = mulberry32(99);
  const hostileConnection = (c: number) =>
    new Promise<void>((resolve) => {
      const sock = connect(dns.port, '127.0.0.1');
      const done = () => {
        clearTimeout(timer);
        sock.destroy();
        resolve();
      };
      const timer = setTimeout(done, 300);
      sock.on('error', done);
      sock.on('close', done);
      sock.on('connect', () => {
        for (let i = 0; i < 20; i++) {
          const p = packets[c * 20 + i]!;
          const len = Buffer.alloc(2);
          // Sometimes lie about the length.
          len.writeUInt16BE(rnd() < 0.2 ? Math.floor(rnd() * 65536) : p.length);
          sock.write(Buffer.concat([len, p]));
        }
        if (rnd() < 0.5) sock.end();
      });
    });
  for (let c = 0; c < 60; c += 10) await Promise.all(Array.from({ length: 10 }, (_, k) => hostileConnection(c + k)));
  const [reply] = await tcpExchange(dns.port, [buildQuery('static.example.test', 1, { id: 77 })], 1);
  assert.ok(reply);
  assert.equal(reply.readUInt16BE(0), 77);
  assert.equal(reply[3]! & 0xf, 0);
  await stillAnswers();
});
