/**
 * NOTIFY (RFC 1996) to secondaries: at each serial change, one NOTIFY per
 * (secondary, zone), retried with doubling timeouts until acknowledged or
 * `maxAttempts` is reached. Bursts coalesce: while a NOTIFY is waiting for
 * its answer, newer serials only update what is wanted; when the answer
 * comes and the secondary was told an older serial, one more NOTIFY follows.
 * Signed with the secondary's TSIG key when it has one; a signed NOTIFY's
 * answer must carry a valid signature to count.
 */
import { createSocket, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import type { Clock, TimerHandle } from '../clock.ts';
import { CLASS_IN, FLAG_AA, OPCODE_NOTIFY, RCODE, RCODE_NAME } from '../dns/wire/constants.ts';
import { readHeader } from '../dns/wire/reader.ts';
import { WireWriter } from '../dns/wire/writer.ts';
import type { Logger } from '../log.ts';
import type { ZoneView } from '../records/snapshot.ts';
import { RR_TYPE_CODE } from '../dns-model/records.ts';
import type { TsigKey } from '../config/transfer.ts';
import { signRequest, verifyResponse } from '../dns/wire/tsig.ts';

export interface NotifyTarget {
  host: string;
  port: number;
  key?: TsigKey;
}

export interface NotifyOptions {
  logger: Logger;
  clock: Clock;
  /** The first attempt's wait for an answer; each retry waits twice as long. */
  timeoutMs?: number;
  maxAttempts?: number;
  /** Called when a NOTIFY is acknowledged (for metrics and tests). */
  onAck?: (e: { secondary: string; zone: string; serial: number; ms: number; attempts: number }) => void;
}

/** The last answer (or the lack of one) of a secondary to a NOTIFY for a zone. */
export interface NotifyAnswer {
  /** Epoch ms of the answer, of the last timeout or of the send error. */
  at: number;
  serial: number;
  attempts: number;
  /** acknowledged (NOERROR), refused (another rcode), unanswered (every attempt timed out), tsig-failed (an answer whose TSIG did not verify), send-error. */
  outcome: 'acknowledged' | 'refused' | 'unanswered' | 'tsig-failed' | 'send-error';
  /** The answer's rcode name, when there was an answer. */
  rcode?: string;
  /** Time from the first attempt to the answer. */
  ms?: number;
  error?: string;
}

/** One (secondary, zone) the sender has notified: its last answer and the NOTIFY waiting now, if any. */
export interface NotifyStatus {
  secondary: string;
  zone: string;
  last?: NotifyAnswer;
  waiting?: { serial: number; attempt: number; since: number };
}

interface InFlight {
  id: number;
  serial: number;
  attempt: number;
  firstSentAt: number;
  timer: TimerHandle;
  mac?: Buffer;
}

interface Pending {
  target: NotifyTarget;
  label: string;
  zone: ZoneView;
  inflight?: InFlight;
  last?: NotifyAnswer;
}

export class NotifySender {
  private readonly clock: Clock;
  private readonly timeoutMs: number;
  private readonly maxAttempts: number;
  private readonly pending = new Map<string, Pending>();
  private readonly byId = new Map<number, Pending>();
  private readonly sockets: { udp4?: Socket; udp6?: Socket } = {};
  private stopped = false;

  constructor(private readonly opts: NotifyOptions) {
    this.clock = opts.clock;
    this.timeoutMs = opts.timeoutMs ?? 1000;
    this.maxAttempts = opts.maxAttempts ?? 5;
  }

  /** Tells `target` that `zone` is at its serial now. */
  notify(target: NotifyTarget, zone: ZoneView): void {
    if (this.stopped) return;
    const label = labelOf(target);
    const k = `${label}/${zone.origin}`;
    let p = this.pending.get(k);
    if (!p) {
      p = { target, label, zone };
      this.pending.set(k, p);
    }
    p.zone = zone;
    p.target = target;
    if (!p.inflight) this.send(p, 1, this.clock.now());
    else this.opts.logger.debug({ secondary: label, zone: zone.origin, serial: zone.serial, waitingFor: p.inflight.serial }, 'NOTIFY coalesced: one is already waiting for an answer');
  }

  /** Forgets (and stops retrying) every secondary not among `targets`: one a reload removed. */
  keepOnly(targets: NotifyTarget[]): void {
    const labels = new Set(targets.map(labelOf));
    for (const [k, p] of this.pending) {
      if (labels.has(p.label)) continue;
      p.inflight?.timer.cancel();
      if (p.inflight) this.byId.delete(p.inflight.id);
      this.pending.delete(k);
    }
  }

  /** Every (secondary, zone) notified so far, with its last answer. */
  status(): NotifyStatus[] {
    return [...this.pending.values()].map((p) => ({
      secondary: p.label,
      zone: p.zone.origin,
      ...(p.last ? { last: { ...p.last } } : {}),
      ...(p.inflight ? { waiting: { serial: p.inflight.serial, attempt: p.inflight.attempt, since: p.inflight.firstSentAt } } : {}),
    }));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const p of this.pending.values()) p.inflight?.timer.cancel();
    this.pending.clear();
    this.byId.clear();
    const closing: Promise<void>[] = [];
    for (const s of [this.sockets.udp4, this.sockets.udp6]) if (s) closing.push(new Promise((r) => s.close(() => r())));
    await Promise.all(closing);
  }

  private send(p: Pending, attempt: number, firstSentAt: number): void {
    const zone = p.zone;
    let id: number;
    do id = Math.floor(Math.random() * 0x10000);
    while (this.byId.has(id));
    let msg = notifyMessage(id, zone);
    let mac: Buffer | undefined;
    if (p.target.key) ({ signed: msg, mac } = signRequest(msg, p.target.key, this.clock.now()));
    const wait = this.timeoutMs * 2 ** (attempt - 1);
    const timer = this.clock.setTimer(wait, () => this.timedOut(p, id));
    p.inflight = { id, serial: zone.serial, attempt, firstSentAt, timer, mac };
    this.byId.set(id, p);
    this.socket(p.target.host).send(msg, p.target.port, p.target.host, (err) => {
      if (!err) return;
      p.last = { at: this.clock.now(), serial: zone.serial, attempts: attempt, outcome: 'send-error', error: err.message };
      this.opts.logger.warn({ secondary: p.label, zone: zone.origin, err }, 'could not send NOTIFY');
    });
    this.opts.logger.debug({ secondary: p.label, zone: zone.origin, serial: zone.serial, attempt, signed: !!p.target.key }, 'NOTIFY sent');
  }

  private timedOut(p: Pending, id: number): void {
    const f = p.inflight;
    if (!f || f.id !== id || this.stopped) return;
    this.byId.delete(id);
    p.inflight = undefined;
    if (f.attempt < this.maxAttempts) {
      this.send(p, f.attempt + 1, f.firstSentAt);
      return;
    }
    p.last = { at: this.clock.now(), serial: f.serial, attempts: f.attempt, outcome: 'unanswered' };
    this.opts.logger.warn({ secondary: p.label, zone: p.zone.origin, serial: f.serial, attempts: f.attempt }, 'NOTIFY not acknowledged; giving up until the next change');
  }

  private received(msg: Buffer, from: { address: string; port: number }): void {
    const h = readHeader(msg);
    if (!h) return;
    const p = this.byId.get(h.id);
    if (!p || !p.inflight || !h.qr || h.opcode !== OPCODE_NOTIFY) return;
    if (from.port !== p.target.port || !sameHost(from.address, p.target.host)) return;
    const f = p.inflight;
    const rcode = h.rcode;
    if (p.target.key) {
      const check = verifyResponse(msg, p.target.key, f.mac!, this.clock.now());
      if (check !== 'ok') {
        // Not a valid answer: keep waiting (the timer retries).
        p.last = { at: this.clock.now(), serial: f.serial, attempts: f.attempt, outcome: 'tsig-failed', rcode: RCODE_NAME[rcode] ?? String(rcode), error: `TSIG ${check}` };
        this.opts.logger.warn({ secondary: p.label, zone: p.zone.origin, rcode: RCODE_NAME[rcode] ?? rcode, tsig: check, key: p.target.key.name }, 'NOTIFY answer failed TSIG verification');
        return;
      }
    }
    f.timer.cancel();
    this.byId.delete(f.id);
    p.inflight = undefined;
    const ms = this.clock.now() - f.firstSentAt;
    p.last = { at: this.clock.now(), serial: f.serial, attempts: f.attempt, outcome: rcode === RCODE.NOERROR ? 'acknowledged' : 'refused', rcode: RCODE_NAME[rcode] ?? String(rcode), ms };
    if (rcode !== RCODE.NOERROR) {
      this.opts.logger.warn({ secondary: p.label, zone: p.zone.origin, serial: f.serial, rcode: RCODE_NAME[rcode] ?? rcode }, 'NOTIFY refused by the secondary; not retried');
      return;
    }
    this.opts.logger.info({ secondary: p.label, zone: p.zone.origin, serial: f.serial, attempts: f.attempt, ms }, 'NOTIFY acknowledged');
    this.opts.onAck?.({ secondary: p.label, zone: p.zone.origin, serial: f.serial, ms, attempts: f.attempt });
    // Changes that came while waiting: tell the newest serial.
    if (p.zone.serial !== f.serial && !this.stopped) this.send(p, 1, this.clock.now());
  }

  private socket(host: string): Socket {
    const family = isIPv6(host) ? 'udp6' : 'udp4';
    let s = this.sockets[family];
    if (!s) {
      s = createSocket(family);
      s.on('message', (msg, rinfo) => this.received(msg, rinfo));
      s.on('error', (err) => this.opts.logger.warn({ err }, 'NOTIFY socket error'));
      s.bind(0);
      s.unref();
      this.sockets[family] = s;
    }
    return s;
  }
}

/** A NOTIFY request: AA set, the zone's SOA question, and its SOA in the answer (RFC 1996 §3.7). */
export function notifyMessage(id: number, zone: ZoneView): Buffer {
  const w = new WireWriter(256);
  w.u16(id);
  w.u16((OPCODE_NOTIFY << 11) | FLAG_AA);
  w.u16(1);
  w.u16(1);
  w.u16(0);
  w.u16(0);
  w.question({ name: zone.origin, type: RR_TYPE_CODE.SOA, class: CLASS_IN });
  w.rr(zone.origin, zone.soaTtl, { type: 'SOA', ...zone.soa });
  return w.toBuffer();
}

function sameHost(a: string, b: string): boolean {
  const strip = (s: string) => s.replace(/^::ffff:/i, '').toLowerCase();
  return strip(a) === strip(b);
}

function labelOf(target: NotifyTarget): string {
  return `${isIPv6(target.host) ? `[${target.host}]` : target.host}:${target.port}`;
}
