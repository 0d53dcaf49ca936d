/**
 * The RFC 2136 sink's DNS client: one signed request to one server and its
 * answer (UDP when the request fits in 512 octets, TCP otherwise or when
 * the answer is truncated), and transfers (IXFR/AXFR over TCP, every
 * message's TSIG checked). Every answer must be signed by the key the
 * request was signed with; a TSIG error in it is reported by its name.
 * Deadlines go through the Clock.
 */
import { createSocket } from 'node:dgram';
import { isIPv6, Socket } from 'node:net';
import type { Clock, TimerHandle } from '../clock.ts';
import type { TsigKey } from '../config/transfer.ts';
import { RCODE_NAME, UDP_PLAIN_LIMIT } from '../dns/wire/constants.ts';
import { readHeader, readMessage, type WireMessage } from '../dns/wire/reader.ts';
import { readTsig, signRequest, TsigResponseVerifier, verifyResponse } from '../dns/wire/tsig.ts';
import { rcodeError, unreachable, type Rfc2136Error } from './errors.ts';

export interface ServerAddress {
  host: string;
  port: number;
}

export function serverLabel(s: ServerAddress): string {
  return `${isIPv6(s.host) ? `[${s.host}]` : s.host}:${s.port}`;
}

export interface ClientOptions {
  clock: Clock;
  timeoutMs: number;
}

/** An answer that verified: the message read, its RCODE by name. */
export interface Answer {
  msg: WireMessage;
  rcode: string;
}

/**
 * Sends `unsigned` (its ID set) signed with `key` to `server`; resolves with
 * the verified answer (any RCODE) or throws an Rfc2136Error (no answer, an
 * answer that fails TSIG, or a TSIG error).
 */
export async function exchange(server: ServerAddress, unsigned: Buffer, key: TsigKey, o: ClientOptions, what: string): Promise<Answer> {
  const { signed, mac } = signRequest(unsigned, key, o.clock.now());
  const id = unsigned.readUInt16BE(0);
  let buf = signed.length <= UDP_PLAIN_LIMIT ? await udpExchange(server, signed, id, o, what) : undefined;
  if (!buf || (readHeader(buf)!.flags & 0x0200) !== 0) {
    const msgs: Buffer[] = [];
    await tcpExchange(server, signed, o, what, (m) => {
      msgs.push(m);
      return true;
    });
    buf = msgs[0]!;
  }
  return verified(buf, id, key, mac, o, what);
}

function verified(buf: Buffer, id: number, key: TsigKey, mac: Buffer, o: ClientOptions, what: string): Answer {
  const msg = readMessage(buf);
  if (!msg || msg.header.id !== id || !msg.header.qr) throw rcodeError('FORMERR', `${what}: unreadable answer`);
  const rcode = RCODE_NAME[msg.header.rcode] ?? String(msg.header.rcode);
  const check = verifyResponse(buf, key, mac, o.clock.now());
  if (check !== 'ok') {
    // A NOTAUTH with an unsigned TSIG error (BADSIG, BADKEY, BADTIME) names the error; an unsigned REFUSED stays REFUSED.
    if (check === 'unsigned' && rcode !== 'NOERROR') throw rcodeError(rcode, `${what} (the answer is not signed: the server may not know key ${key.name} or its secret, or not let it do this)`);
    throw rcodeError(check === 'unsigned' ? 'UNSIGNED' : check, `${what} (answer ${rcode}, TSIG ${check})`);
  }
  return { msg, rcode };
}

/**
 * A transfer (IXFR/AXFR) over TCP: each message is verified in order and
 * handed to `onMessage`, which returns true after the last one.
 */
export async function transfer(server: ServerAddress, unsigned: Buffer, key: TsigKey, o: ClientOptions, what: string, onMessage: (msg: WireMessage) => boolean): Promise<void> {
  const { signed, mac } = signRequest(unsigned, key, o.clock.now());
  const id = unsigned.readUInt16BE(0);
  const verifier = new TsigResponseVerifier(key, mac, o.clock.now());
  let failure: Rfc2136Error | undefined;
  await tcpExchange(server, signed, o, what, (buf) => {
    const msg = readMessage(buf);
    if (!msg || msg.header.id !== id || !msg.header.qr) {
      failure = rcodeError('FORMERR', `${what}: unreadable answer`);
      return true;
    }
    const rcode = RCODE_NAME[msg.header.rcode] ?? String(msg.header.rcode);
    const check = verifier.next(buf);
    if (check !== 'ok') {
      failure = rcodeError(check === 'unsigned' && rcode !== 'NOERROR' ? rcode : check === 'unsigned' ? 'UNSIGNED' : check, `${what} (answer ${rcode}, TSIG ${check})`);
      return true;
    }
    if (rcode !== 'NOERROR') {
      failure = rcodeError(rcode, what);
      return true;
    }
    const done = onMessage(msg);
    if (done && verifier.finish() !== 'ok') failure = rcodeError('UNSIGNED', `${what}: the last message is not signed`);
    return done;
  });
  if (failure) throw failure;
}

/** Whether a message carries a TSIG record (for callers that strip it from record lists). */
export function hasTsig(msg: WireMessage): boolean {
  return readTsig(msg).kind === 'tsig';
}

function udpExchange(server: ServerAddress, signed: Buffer, id: number, o: ClientOptions, what: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const sock = createSocket(isIPv6(server.host) ? 'udp6' : 'udp4');
    const timers: TimerHandle[] = [];
    const done = (err: Error | undefined, buf?: Buffer) => {
      for (const t of timers) t.cancel();
      sock.removeAllListeners('message');
      sock.close();
      if (err) reject(err);
      else resolve(buf!);
    };
    sock.on('error', (err: NodeJS.ErrnoException) => done(unreachable(err.code ?? 'ERROR', what, err)));
    sock.on('message', (buf, from) => {
      if (from.port !== server.port || buf.length < 12 || buf.readUInt16BE(0) !== id) return;
      done(undefined, buf);
    });
    const send = () => sock.send(signed, (err) => err && done(unreachable((err as NodeJS.ErrnoException).code ?? 'ERROR', what, err)));
    sock.connect(server.port, server.host, () => {
      send();
      // One retransmission halfway (a lost datagram); an UPDATE applied twice fails its prerequisites, which is retried.
      timers.push(o.clock.setTimer(o.timeoutMs / 2, send));
    });
    timers.push(o.clock.setTimer(o.timeoutMs, () => done(unreachable('TIMEOUT', what))));
  });
}

/** Writes `signed` with its length prefix and reads framed messages until `onMessage` returns true. */
function tcpExchange(server: ServerAddress, signed: Buffer, o: ClientOptions, what: string, onMessage: (buf: Buffer) => boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    const sock = new Socket();
    let pending = Buffer.alloc(0);
    let finished = false;
    const finish = (err?: Error) => {
      if (finished) return;
      finished = true;
      timer.cancel();
      sock.destroy();
      if (err) reject(err);
      else resolve();
    };
    const timer = o.clock.setTimer(o.timeoutMs, () => finish(unreachable('TIMEOUT', what)));
    sock.on('error', (err: NodeJS.ErrnoException) => finish(unreachable(err.code ?? 'ERROR', what, err)));
    sock.on('close', () => finish(unreachable('ECONNRESET', `${what}: connection closed before the answer ended`)));
    sock.on('data', (chunk) => {
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      while (!finished && pending.length >= 2) {
        const len = pending.readUInt16BE(0);
        if (pending.length < 2 + len) break;
        const msg = Buffer.from(pending.subarray(2, 2 + len));
        pending = pending.subarray(2 + len);
        try {
          if (onMessage(msg)) finish();
        } catch (err) {
          finish(err as Error);
        }
      }
    });
    sock.connect(server.port, server.host, () => {
      const prefix = Buffer.alloc(2);
      prefix.writeUInt16BE(signed.length, 0);
      sock.write(Buffer.concat([prefix, signed]));
    });
  });
}
