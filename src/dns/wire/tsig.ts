/**
 * TSIG (RFC 8945): HMAC signatures on DNS messages with shared keys.
 * Verifies requests (BADKEY, BADSIG, BADTIME, BADTRUNC), signs responses
 * (every message of a multi-message transfer, each chained to the one
 * before, §5.3.1), signs requests (outgoing NOTIFY, RFC 2136 UPDATE,
 * SOA and transfer queries) and verifies their responses, a multi-message
 * transfer's included. Shared by transfer/ and rfc2136/, so it lives in the
 * wire layer. Secrets never leave the TsigKey they live in.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { systemClock } from '../../clock.ts';
import { CLASS_ANY, TYPE_TSIG } from './constants.ts';
import { readMessage, readName, type WireMessage } from './reader.ts';
import { WireWriter } from './writer.ts';
import type { TsigAlgorithm, TsigKey } from '../../config/transfer.ts';

export const TSIG_ERROR = { NOERROR: 0, BADSIG: 16, BADKEY: 17, BADTIME: 18, BADTRUNC: 22 } as const;
export const TSIG_ERROR_NAME: Record<number, string> = { 0: 'NOERROR', 16: 'BADSIG', 17: 'BADKEY', 18: 'BADTIME', 22: 'BADTRUNC' };
export const DEFAULT_FUDGE = 300;

const HASH: Record<TsigAlgorithm, { hash: string; size: number }> = {
  'hmac-sha1': { hash: 'sha1', size: 20 },
  'hmac-sha224': { hash: 'sha224', size: 28 },
  'hmac-sha256': { hash: 'sha256', size: 32 },
  'hmac-sha384': { hash: 'sha384', size: 48 },
  'hmac-sha512': { hash: 'sha512', size: 64 },
};

/** Bytes a TSIG record may add to a message signed with this key (for size budgets). */
export function tsigReserve(key: TsigKey): number {
  return key.name.length + 2 + key.algorithm.length + 2 + 10 + 16 + HASH[key.algorithm].size + 6 + 6;
}

export interface TsigRecord {
  /** Key name, lower case, no trailing dot. */
  keyName: string;
  algorithm: string;
  /** Seconds since the epoch (48 bits). */
  timeSigned: number;
  fudge: number;
  mac: Buffer;
  originalId: number;
  error: number;
  other: Buffer;
  /** Where the TSIG record starts: the signed part of the message is before it. */
  start: number;
}

export type TsigRead = { kind: 'none' } | { kind: 'tsig'; tsig: TsigRecord } | { kind: 'malformed' };

/** The TSIG record of a message: it must be the last additional record, class ANY, TTL 0. */
export function readTsig(msg: WireMessage): TsigRead {
  const idx = msg.records.findIndex((r) => r.type === TYPE_TSIG);
  if (idx < 0) return { kind: 'none' };
  const r = msg.records[idx]!;
  if (idx !== msg.records.length - 1 || r.section !== 'additional' || r.class !== CLASS_ANY || r.ttl !== 0 || r.end !== msg.buf.length) return { kind: 'malformed' };
  const buf = msg.buf;
  const alg = readName(buf, r.rdata);
  if (!alg || alg.next + 10 > r.end) return { kind: 'malformed' };
  let p = alg.next;
  const timeSigned = buf.readUInt16BE(p) * 2 ** 32 + buf.readUInt32BE(p + 2);
  const fudge = buf.readUInt16BE(p + 6);
  const macSize = buf.readUInt16BE(p + 8);
  p += 10;
  if (p + macSize + 6 > r.end) return { kind: 'malformed' };
  const mac = Buffer.from(buf.subarray(p, p + macSize));
  p += macSize;
  const originalId = buf.readUInt16BE(p);
  const error = buf.readUInt16BE(p + 2);
  const otherLen = buf.readUInt16BE(p + 4);
  p += 6;
  if (p + otherLen !== r.end) return { kind: 'malformed' };
  const other = Buffer.from(buf.subarray(p, p + otherLen));
  return { kind: 'tsig', tsig: { keyName: r.name, algorithm: alg.name, timeSigned, fudge, mac, originalId, error, other, start: r.start } };
}

export type TsigVerdict =
  /** Signed with a known key and the MAC is right, in time. */
  | { kind: 'ok'; key: TsigKey; tsig: TsigRecord }
  /** A TSIG error: reply NOTAUTH with this error; signed when `key` is set (BADTIME, BADTRUNC). */
  | { kind: 'error'; error: number; tsig: TsigRecord; key?: TsigKey }
  | { kind: 'formerr' };

export class TsigKeyring {
  private readonly keys = new Map<string, TsigKey>();

  constructor(
    keys: readonly TsigKey[],
    private readonly nowMs: () => number = systemClock.now,
  ) {
    for (const k of keys) this.keys.set(k.name, k);
  }

  get size(): number {
    return this.keys.size;
  }

  get(name: string): TsigKey | undefined {
    return this.keys.get(name);
  }

  /** RFC 8945 §5.2: key, then MAC, then time. */
  verify(msg: WireMessage, tsig: TsigRecord): TsigVerdict {
    const key = this.keys.get(tsig.keyName);
    if (!key || key.algorithm !== tsig.algorithm) return { kind: 'error', error: TSIG_ERROR.BADKEY, tsig };
    const { size } = HASH[key.algorithm];
    const macSize = tsig.mac.length;
    if (macSize > size || macSize < Math.max(10, Math.ceil(size / 2))) return { kind: 'formerr' };
    const expected = mac(key, [requestBytes(msg, tsig), variables(tsig.keyName, tsig.algorithm, tsig.timeSigned, tsig.fudge, tsig.error, tsig.other)]);
    if (!timingSafeEqual(expected.subarray(0, macSize), tsig.mac)) return { kind: 'error', error: TSIG_ERROR.BADSIG, tsig };
    const now = Math.floor(this.nowMs() / 1000);
    if (Math.abs(now - tsig.timeSigned) > tsig.fudge) return { kind: 'error', error: TSIG_ERROR.BADTIME, tsig, key };
    if (macSize < size) return { kind: 'error', error: TSIG_ERROR.BADTRUNC, tsig, key };
    return { kind: 'ok', key, tsig };
  }
}

/**
 * Signs the messages of one response, in order: the first with the request's
 * MAC and the full TSIG variables, each later one with the MAC before it and
 * the timers only (RFC 8945 §5.3.1).
 */
export class TsigSigner {
  private prevMac: Buffer;
  private first = true;
  private readonly timeSigned: number;
  private readonly fudge: number;

  constructor(
    private readonly key: TsigKey,
    requestMac: Buffer,
    opts: { nowMs?: number; timeSigned?: number; fudge?: number } = {},
  ) {
    this.prevMac = requestMac;
    this.timeSigned = opts.timeSigned ?? Math.floor((opts.nowMs ?? systemClock.now()) / 1000);
    this.fudge = opts.fudge ?? DEFAULT_FUDGE;
  }

  /** `message` is complete but without TSIG; returns it with the TSIG record appended. */
  sign(message: Buffer, error = 0, other: Buffer = Buffer.alloc(0)): Buffer {
    const prefix = lengthPrefixed(this.prevMac);
    const tail = this.first ? variables(this.key.name, this.key.algorithm, this.timeSigned, this.fudge, error, other) : timers(this.timeSigned, this.fudge);
    const m = mac(this.key, [prefix, message, tail]);
    this.first = false;
    this.prevMac = m;
    return appendTsig(message, { keyName: this.key.name, algorithm: this.key.algorithm, timeSigned: this.timeSigned, fudge: this.fudge, mac: m, error, other });
  }
}

/** An unsigned TSIG error record (BADKEY, BADSIG: MAC size 0, §5.3.2) appended to `message`. */
export function appendUnsignedError(message: Buffer, tsig: TsigRecord, error: number, nowMs: number): Buffer {
  return appendTsig(message, { keyName: tsig.keyName, algorithm: tsig.algorithm, timeSigned: Math.floor(nowMs / 1000), fudge: tsig.fudge, mac: Buffer.alloc(0), error, other: Buffer.alloc(0) });
}

/** A signed error (BADTIME, BADTRUNC): request MAC chained; BADTIME carries our time in Other Data and the client's Time Signed (§5.2.3). */
export function appendSignedError(message: Buffer, key: TsigKey, tsig: TsigRecord, error: number, nowMs: number): Buffer {
  let other = Buffer.alloc(0);
  if (error === TSIG_ERROR.BADTIME) {
    other = Buffer.alloc(6);
    writeU48(other, 0, Math.floor(nowMs / 1000));
  }
  return new TsigSigner(key, tsig.mac, { timeSigned: tsig.timeSigned, fudge: tsig.fudge }).sign(message, error, other);
}

/** Signs an outgoing request (NOTIFY); returns the signed bytes and the MAC to verify the response with. */
export function signRequest(message: Buffer, key: TsigKey, nowMs: number): { signed: Buffer; mac: Buffer } {
  const timeSigned = Math.floor(nowMs / 1000);
  const m = mac(key, [message, variables(key.name, key.algorithm, timeSigned, DEFAULT_FUDGE, 0, Buffer.alloc(0))]);
  return { signed: appendTsig(message, { keyName: key.name, algorithm: key.algorithm, timeSigned, fudge: DEFAULT_FUDGE, mac: m, error: 0, other: Buffer.alloc(0) }), mac: m };
}

/** Verifies a response to a request we signed: 'ok', or why not. */
export function verifyResponse(buf: Buffer, key: TsigKey, requestMac: Buffer, nowMs: number): 'ok' | 'unsigned' | 'malformed' | 'BADKEY' | 'BADSIG' | 'BADTIME' | string {
  const msg = readMessage(buf);
  if (!msg) return 'malformed';
  const read = readTsig(msg);
  if (read.kind === 'none') return 'unsigned';
  if (read.kind === 'malformed') return 'malformed';
  const t = read.tsig;
  if (t.error !== 0) return TSIG_ERROR_NAME[t.error] ?? `TSIG error ${t.error}`;
  if (t.keyName !== key.name || t.algorithm !== key.algorithm) return 'BADKEY';
  const expected = mac(key, [lengthPrefixed(requestMac), requestBytes(msg, t), variables(t.keyName, t.algorithm, t.timeSigned, t.fudge, t.error, t.other)]);
  if (t.mac.length !== expected.length || !timingSafeEqual(expected, t.mac)) return 'BADSIG';
  if (Math.abs(Math.floor(nowMs / 1000) - t.timeSigned) > t.fudge) return 'BADTIME';
  return 'ok';
}

/**
 * Verifies the messages of a multi-message response (IXFR/AXFR) to a
 * request we signed, in order (RFC 8945 §5.3.1): the first must be signed
 * (request MAC, full variables); a later one may be unsigned (at most 99 in
 * a row), and the next signed one covers them (prior MAC, the unsigned
 * messages, itself, timers only); the last must be signed (finish()).
 */
export class TsigResponseVerifier {
  private prevMac: Buffer;
  private first = true;
  private unsigned: Buffer[] = [];

  constructor(
    private readonly key: TsigKey,
    requestMac: Buffer,
    private readonly nowMs: number,
  ) {
    this.prevMac = requestMac;
  }

  /** 'ok' for a message that verifies (or an unsigned one a later signature may cover), else why not. */
  next(buf: Buffer): 'ok' | 'unsigned' | 'malformed' | 'BADKEY' | 'BADSIG' | 'BADTIME' | string {
    const msg = readMessage(buf);
    if (!msg) return 'malformed';
    const read = readTsig(msg);
    if (read.kind === 'malformed') return 'malformed';
    if (read.kind === 'none') {
      if (this.first || this.unsigned.length >= 99) return 'unsigned';
      this.unsigned.push(buf);
      return 'ok';
    }
    const t = read.tsig;
    if (t.error !== 0) return TSIG_ERROR_NAME[t.error] ?? `TSIG error ${t.error}`;
    if (t.keyName !== this.key.name || t.algorithm !== this.key.algorithm) return 'BADKEY';
    const tail = this.first ? variables(t.keyName, t.algorithm, t.timeSigned, t.fudge, t.error, t.other) : timers(t.timeSigned, t.fudge);
    const expected = mac(this.key, [lengthPrefixed(this.prevMac), ...this.unsigned, requestBytes(msg, t), tail]);
    if (t.mac.length !== expected.length || !timingSafeEqual(expected, t.mac)) return 'BADSIG';
    if (Math.abs(Math.floor(this.nowMs / 1000) - t.timeSigned) > t.fudge) return 'BADTIME';
    this.prevMac = t.mac;
    this.unsigned = [];
    this.first = false;
    return 'ok';
  }

  /** After the last message: 'ok' when it was signed. */
  finish(): 'ok' | 'unsigned' {
    return this.first || this.unsigned.length > 0 ? 'unsigned' : 'ok';
  }
}

// --- wire details ---

function mac(key: TsigKey, parts: Buffer[]): Buffer {
  const h = createHmac(HASH[key.algorithm].hash, key.secret.bytes());
  for (const p of parts) h.update(p);
  return h.digest();
}

/** The message as it was before the TSIG was added: its record removed, ARCOUNT one less, the original ID. */
function requestBytes(msg: WireMessage, tsig: TsigRecord): Buffer {
  const b = Buffer.from(msg.buf.subarray(0, tsig.start));
  b.writeUInt16BE(tsig.originalId, 0);
  b.writeUInt16BE(b.readUInt16BE(10) - 1, 10);
  return b;
}

function lengthPrefixed(b: Buffer): Buffer {
  const out = Buffer.alloc(2 + b.length);
  out.writeUInt16BE(b.length, 0);
  b.copy(out, 2);
  return out;
}

function canonicalNameBytes(name: string): Buffer {
  const w = new WireWriter(64);
  w.name(name.toLowerCase(), false);
  return w.toBuffer();
}

/** TSIG variables (§4.3.3): name, class, TTL, algorithm, time, fudge, error, other. */
function variables(keyName: string, algorithm: string, timeSigned: number, fudge: number, error: number, other: Buffer): Buffer {
  const w = new WireWriter(128);
  w.bytes(canonicalNameBytes(keyName));
  w.u16(CLASS_ANY);
  w.u32(0);
  w.bytes(canonicalNameBytes(algorithm));
  w.bytes(timers(timeSigned, fudge));
  w.u16(error);
  w.u16(other.length);
  w.bytes(other);
  return w.toBuffer();
}

function timers(timeSigned: number, fudge: number): Buffer {
  const b = Buffer.alloc(8);
  writeU48(b, 0, timeSigned);
  b.writeUInt16BE(fudge, 6);
  return b;
}

function writeU48(b: Buffer, off: number, v: number): void {
  b.writeUInt16BE(Math.floor(v / 2 ** 32) & 0xffff, off);
  b.writeUInt32BE(v >>> 0, off + 2);
}

function appendTsig(message: Buffer, t: { keyName: string; algorithm: string; timeSigned: number; fudge: number; mac: Buffer; error: number; other: Buffer }): Buffer {
  const w = new WireWriter(128 + t.mac.length);
  w.name(t.keyName, false);
  w.u16(TYPE_TSIG);
  w.u16(CLASS_ANY);
  w.u32(0);
  const rdlenAt = w.length;
  w.u16(0);
  const start = w.length;
  w.name(t.algorithm, false);
  w.bytes(timers(t.timeSigned, t.fudge));
  w.u16(t.mac.length);
  w.bytes(t.mac);
  w.u16(message.readUInt16BE(0)); // original ID
  w.u16(t.error);
  w.u16(t.other.length);
  w.bytes(t.other);
  w.patchU16(rdlenAt, w.length - start);
  const out = Buffer.concat([message, w.toBuffer()]);
  out.writeUInt16BE(out.readUInt16BE(10) + 1, 10);
  return out;
}
