/**
 * The DNS server's TransferHandler: answers AXFR, IXFR, incoming NOTIFY and
 * TSIG-signed queries.
 *
 * Order of checks, as NSD and RFC 8945 have them:
 * 1. a TSIG record, if any, is verified first: unknown key or algorithm →
 *    NOTAUTH/BADKEY, wrong MAC → NOTAUTH/BADSIG (both unsigned), outside
 *    the fudge → NOTAUTH/BADTIME (signed, with our time); every later reply
 *    to a good signature is signed.
 * 2. AXFR over UDP → NOTIMP (as NSD); a name that is not a zone apex we
 *    serve → NOTAUTH.
 * 3. the ACL: a valid signature with a configured key, or a client address
 *    in transfer.allow; else REFUSED (nobody by default).
 * Incoming NOTIFY: failoverd is the primary, nobody notifies it; a NOTIFY for
 * a served zone gets REFUSED (as NSD answers one it does not expect), for
 * another zone NOTAUTH.
 */
import type { DnsClient, DnsRequest } from '../dns/dns2.ts';
import { readQuery, type QueryInfo } from '../dns/query.ts';
import { resolveQuestion, type AnswerRR, type WeightedPicker } from '../dns/resolve.ts';
import { encodeReply, errorSections } from '../dns/response.ts';
import type { TransferHandler, Transport } from '../dns/server.ts';
import { MAX_MESSAGE, OPCODE_NOTIFY, QTYPE_AXFR, QTYPE_IXFR, RCODE } from '../dns/wire/constants.ts';
import { readMessage, type WireMessage } from '../dns/wire/reader.ts';
import { systemClock } from '../clock.ts';
import { RateLimitedLog, type Logger } from '../log.ts';
import type { Snapshot } from '../records/snapshot.ts';
import type { AddressAcl } from './acl.ts';
import { axfrRecords } from './axfr.ts';
import { planIxfr, readIxfrSerial } from './ixfr.ts';
import type { Journal } from './journal.ts';
import { encodeMessage, encodeStream, type ReplyHeader, type Signer } from './messages.ts';
import { appendSignedError, appendUnsignedError, readTsig, TSIG_ERROR_NAME, tsigReserve, TsigKeyring, TsigSigner } from '../dns/wire/tsig.ts';

export interface ResponderDeps {
  keyring: TsigKeyring;
  acl: AddressAcl;
  journal: Journal;
  logger: Logger;
  pick: WeightedPicker;
  /** Epoch milliseconds (TSIG times; default: the system clock). */
  nowMs?: () => number;
  /** Called once per transfer served (for metrics and tests). */
  onTransfer?: (e: TransferEvent) => void;
}

export interface TransferEvent {
  client: string;
  zone: string;
  qtype: 'AXFR' | 'IXFR';
  /** full: the whole zone; incremental: journal diffs; current: the SOA alone. */
  kind: 'full' | 'incremental' | 'current' | 'tc';
  serial: number;
  clientSerial?: number;
  records: number;
  messages: number;
  key?: string;
  transport: Transport;
}

interface Ctx {
  transport: Transport;
  client: DnsClient;
  snapshot: Snapshot | undefined;
  limit: number;
}

/** A reply's signer: the TSIG of the request, verified. */
interface Signing {
  signer: Signer;
  keyName: string;
  reserve: number;
}

export class TransferResponder implements TransferHandler {
  private readonly warn: RateLimitedLog;
  private readonly now: () => number;

  constructor(private readonly deps: ResponderDeps) {
    this.warn = new RateLimitedLog(deps.logger);
    this.now = deps.nowMs ?? systemClock.now;
  }

  handle(req: DnsRequest, info: QueryInfo, ctx: Ctx): Buffer[] | undefined {
    const msg = readMessage(req.raw);
    if (!msg) return [this.error(info, RCODE.FORMERR)];
    const read = readTsig(msg);
    if (read.kind === 'malformed') return [this.error(info, RCODE.FORMERR)];
    let signing: Signing | undefined;
    if (read.kind === 'tsig') {
      const v = this.deps.keyring.verify(msg, read.tsig);
      if (v.kind === 'formerr') return [this.error(info, RCODE.FORMERR)];
      if (v.kind === 'error') {
        this.warn.warn(`tsig-${ctx.client.address}`, { client: ctx.client.address, key: v.tsig.keyName, algorithm: v.tsig.algorithm, tsigError: TSIG_ERROR_NAME[v.error] }, 'TSIG verification failed; replied NOTAUTH');
        const reply = this.error(info, RCODE.NOTAUTH);
        return [v.key ? appendSignedError(reply, v.key, v.tsig, v.error, this.now()) : appendUnsignedError(reply, v.tsig, v.error, this.now())];
      }
      signing = { signer: new TsigSigner(v.key, v.tsig.mac, { nowMs: this.now() }), keyName: v.key.name, reserve: tsigReserve(v.key) };
    }
    const q = info.question;
    if (!q) return [this.error(info, RCODE.FORMERR, signing, false)];
    if (info.opcode === OPCODE_NOTIFY) return [this.incomingNotify(info, ctx, signing)];
    if (q.type === QTYPE_AXFR || q.type === QTYPE_IXFR) return this.transfer(req, msg, info, ctx, signing);
    // Any other signed query: answered as usual, and signed.
    if (!signing) return undefined;
    return [this.signedAnswer(req, info, ctx, signing)];
  }

  private transfer(req: DnsRequest, msg: WireMessage, info: QueryInfo, ctx: Ctx, signing: Signing | undefined): Buffer[] {
    const { verdict } = readQuery(req);
    if (verdict.kind === 'error') return [this.error(info, verdict.rcode, signing, verdict.withQuestion)];
    const q = info.question!;
    const qtype = q.type === QTYPE_AXFR ? 'AXFR' : 'IXFR';
    if (qtype === 'AXFR' && ctx.transport === 'udp') return [this.error(info, RCODE.NOTIMP, signing)];
    const snap = ctx.snapshot;
    if (!snap) return [this.error(info, RCODE.SERVFAIL, signing)];
    const zone = snap.zones.find((z) => z.origin === q.name.toLowerCase());
    if (!zone) return [this.error(info, RCODE.NOTAUTH, signing)];
    if (!signing && !this.deps.acl.allows(ctx.client.address)) {
      this.warn.warn(`refused-${ctx.client.address}`, { client: ctx.client.address, zone: zone.origin, qtype }, 'zone transfer refused: client not in transfer.allow and not signed with a configured key');
      return [this.error(info, RCODE.REFUSED)];
    }
    const head: ReplyHeader = { rcode: RCODE.NOERROR, aa: true };
    const budget = MAX_MESSAGE - (signing?.reserve ?? 0);
    let kind: TransferEvent['kind'] = 'full';
    let records: AnswerRR[];
    let clientSerial: number | undefined;
    let replies: Buffer[];
    if (qtype === 'AXFR') {
      records = axfrRecords(zone);
      replies = encodeStream(info, head, records, budget, signing?.signer);
    } else {
      clientSerial = readIxfrSerial(msg, zone.origin);
      if (clientSerial === undefined) return [this.error(info, RCODE.FORMERR, signing)];
      const plan = planIxfr(zone, clientSerial, this.deps.journal);
      kind = plan.kind;
      records = plan.records;
      if (ctx.transport === 'udp' && plan.kind !== 'current') {
        // RFC 1995 §2: too much for UDP: the current SOA, TC set: ask again over TCP.
        kind = 'tc';
        records = plan.records.slice(0, 1);
        replies = [this.sign(encodeMessage(info, { ...head, tc: true }, records), signing)];
      } else replies = encodeStream(info, head, records, ctx.transport === 'udp' ? ctx.limit - (signing?.reserve ?? 0) : budget, signing?.signer);
    }
    const event: TransferEvent = { client: ctx.client.address, zone: zone.origin, qtype, kind, serial: zone.serial, clientSerial, records: records.length, messages: replies.length, key: signing?.keyName, transport: ctx.transport };
    this.deps.logger.info(event, 'zone transfer');
    this.deps.onTransfer?.(event);
    return replies;
  }

  private incomingNotify(info: QueryInfo, ctx: Ctx, signing: Signing | undefined): Buffer {
    const name = info.question!.name.toLowerCase();
    const ours = ctx.snapshot?.zones.some((z) => z.origin === name);
    this.warn.warn(`notify-${ctx.client.address}`, { client: ctx.client.address, zone: name }, 'NOTIFY received: failoverd is the primary and takes no NOTIFY');
    return this.error(info, ours ? RCODE.REFUSED : RCODE.NOTAUTH, signing);
  }

  private signedAnswer(req: DnsRequest, info: QueryInfo, ctx: Ctx, signing: Signing): Buffer {
    const limit = ctx.limit - signing.reserve;
    const { verdict } = readQuery(req);
    if (verdict.kind === 'error') return this.sign(encodeReply(info, errorSections(verdict.rcode), limit, verdict.withQuestion), signing);
    if (!ctx.snapshot) return this.sign(encodeReply(info, errorSections(RCODE.SERVFAIL), limit), signing);
    const q = info.question!;
    return this.sign(encodeReply(info, resolveQuestion(ctx.snapshot, q.name, q.type, this.deps.pick, q.class), limit), signing);
  }

  /** An error reply (AA clear), signed when the request was. */
  private error(info: QueryInfo, rcode: number, signing?: Signing, withQuestion = true): Buffer {
    const reply = encodeMessage(info, { rcode, aa: false }, [], withQuestion && info.question !== undefined);
    return this.sign(reply, signing);
  }

  private sign(reply: Buffer, signing: Signing | undefined): Buffer {
    return signing ? signing.signer.sign(reply) : reply;
  }
}
