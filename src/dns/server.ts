/**
 * The embedded authoritative DNS server: UDP and TCP on each listen
 * address, answering from the current snapshot (swapped whole). Plain UDP
 * queries take the fast path (fast-path.ts); the rest are decoded with
 * dns2's parser (dns2.ts: why the sockets are failoverd's own) and answered
 * by the full path.
 * It never crashes on a packet: anything that goes wrong inside the handler
 * becomes SERVFAIL, logged rate-limited.
 */
import { createSocket, type RemoteInfo, type Socket as UdpSocket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import type { Clock } from '../clock.ts';
import type { HostPort } from '../config/types.ts';
import { FailoverdError } from '../errors.ts';
import { RateLimitedLog, type Logger } from '../log.ts';
import type { Snapshot } from '../records/snapshot.ts';
import { parseRequest, type DnsClient, type DnsRequest } from './dns2.ts';
import { readQuery, udpLimit, type QueryInfo } from './query.ts';
import { encodeReply, errorSections } from './response.ts';
import { fastAnswer, newPlainQuery } from './fast-path.ts';
import { ReplyTemplates } from './reply-templates.ts';
import { DEFAULT_TCP_LIMITS, TcpConnectionLimiter, type TcpCloseReason, type TcpLimits, type TcpStats } from './tcp-limits.ts';
import { DnsTcpServer, type TcpExchange } from './tcp-server.ts';
import { resolveWorkers, UdpWorkerPool } from './worker-pool.ts';
import { resolveQuestion, type WeightedPicker } from './resolve.ts';
import { MAX_MESSAGE, OPCODE_NOTIFY, OPCODE_QUERY, QTYPE_AXFR, QTYPE_IXFR, RCODE, TYPE_TSIG, UDP_PLAIN_LIMIT } from './wire/constants.ts';
import { pickWeightedIndex } from '../records/weighted-pick.ts';
import { ClientSubnetPolicy, type EcsHonour, type EcsSettings } from './client-subnet.ts';

export type Transport = 'udp' | 'tcp';

export interface DnsServerOptions {
  listen: HostPort[];
  logger: Logger;
  /** Time for rate-limited logs and timers (default: the system clock). */
  clock: Clock;
  /** Picks one record of a weighted RRset per query. */
  pick?: WeightedPicker;
  /** Called once per reply sent (for metrics; with workers, UDP replies are reported about once a second). */
  onReply?: (rcode: number, transport: Transport) => void;
  /**
   * Processes serving UDP: 1 (default) serves everything in this process;
   * N > 1 (or "auto": one per core) forks N UDP workers sharing the port,
   * fed with every snapshot; TCP and zone transfers stay here. Workers pick
   * weighted answers at random (`pick` is not passed to them).
   */
  workers?: number | 'auto';
  /** Bounds on TCP connections (tcp-limits.ts); what is not given takes its default. */
  tcp?: Partial<TcpLimits>;
  /** Called once per TCP connection refused or closed by a bound (for metrics). */
  onTcpClosed?: (reason: TcpCloseReason) => void;
  /** EDNS Client Subnet: whose option is honoured (client-subnet.ts); default: nobody's. */
  ecs?: EcsSettings;
}

type Send = (reply: Buffer) => void;

/** Zone transfers, NOTIFY and TSIG-signed queries (secondaries support) plug in here. */
export interface TransferHandler {
  /** The reply messages, or undefined to let the server answer as usual. */
  handle(req: DnsRequest, info: QueryInfo, ctx: { transport: Transport; client: DnsClient; snapshot: Snapshot | undefined; limit: number }): Buffer[] | undefined;
}

/** The log line of a connection refused or closed by a bound (idle closes are normal and not logged). */
const TCP_CLOSE_LOG: Record<Exclude<TcpCloseReason, 'idle-timeout'>, string> = {
  'max-connections': 'refused a TCP connection: dns.tcp.maxConnections are open',
  'max-per-client': 'refused a TCP connection: dns.tcp.maxPerClient are open from this client',
  'message-timeout': 'closed a TCP connection: a message took longer than dns.tcp.messageTimeout',
};

/** One record of a weighted RRset per query, in proportion to its weight. */
export function randomWeightedPick(weights: readonly number[]): number {
  return pickWeightedIndex(weights, Math.random);
}

export class DnsServer {
  private snapshot: Snapshot | undefined;
  private templates: ReplyTemplates | undefined;
  private readonly scratch = newPlainQuery();
  /** Replies sent by the fast path (for tests and benchmarks). */
  fastReplies = 0;
  private readonly udp: UdpSocket[] = [];
  private readonly tcp: DnsTcpServer[] = [];
  private readonly clock: Clock;
  private readonly errors: RateLimitedLog;
  private readonly pick: WeightedPicker;
  private readonly tcpLimiter: TcpConnectionLimiter;
  private transfers: TransferHandler | undefined;
  private readonly clientSubnet: ClientSubnetPolicy;
  /** Per UDP socket: whose client subnet option it honours. */
  private readonly honour = new Map<UdpSocket, EcsHonour>();
  private pool: UdpWorkerPool | undefined;
  /** Set in a UDP worker: queries for the transfer handler go to the main process. */
  forwardToMain: ((socket: number, client: DnsClient, raw: Buffer) => void) | undefined;

  constructor(private readonly opts: DnsServerOptions) {
    this.clock = opts.clock;
    this.errors = new RateLimitedLog(opts.logger, 10_000, this.clock);
    this.pick = opts.pick ?? randomWeightedPick;
    this.clientSubnet = new ClientSubnetPolicy(opts.ecs);
    this.tcpLimiter = new TcpConnectionLimiter({ ...DEFAULT_TCP_LIMITS, ...opts.tcp }, (reason, client) => {
      if (reason !== 'idle-timeout') this.warn(`tcp-${reason}`, { reason, client }, TCP_CLOSE_LOG[reason]);
      opts.onTcpClosed?.(reason);
    });
  }

  /** TCP connections open now, accepted, and refused or closed by a bound (by reason). */
  tcpStats(): TcpStats {
    return this.tcpLimiter.stats();
  }

  /** Swaps in a new snapshot; queries from now on see only it. */
  setSnapshot(s: Snapshot): void {
    this.snapshot = s;
    this.templates = new ReplyTemplates(s);
    this.pool?.push(s);
  }

  /** With workers: the worker pool (push timings for tests and benchmarks). */
  get workerPool(): UdpWorkerPool | undefined {
    return this.pool;
  }

  /** The fast path's reply to raw UDP query bytes, or undefined when the full path must answer. */
  fastAnswer(msg: Buffer): Buffer | undefined {
    const t = this.templates;
    return t ? fastAnswer(msg, t, this.scratch) : undefined;
  }

  /** Opens UDP and TCP on every listen address (the same port for both). */
  async start(): Promise<Array<{ host: string; port: number }>> {
    const bound: Array<{ host: string; port: number }> = [];
    try {
      const workers = resolveWorkers(this.opts.workers);
      if (workers > 1 && this.opts.listen.length > 0) {
        this.pool = new UdpWorkerPool(workers, {
          logger: this.opts.logger,
          ...(this.opts.ecs ? { ecs: this.opts.ecs } : {}),
          clock: this.clock,
          onForward: (raw, client) => this.answerForwarded(raw, client),
          onReplies: (rcode, count) => {
            const onReply = this.opts.onReply;
            if (onReply) for (let i = 0; i < count; i++) onReply(rcode, 'udp');
          },
        });
        await this.pool.start();
        if (this.snapshot) this.pool.push(this.snapshot);
        for (const l of this.opts.listen) bound.push(await this.listenShared(l.host, l.port));
        return bound;
      }
      for (const l of this.opts.listen) bound.push(await this.listenOn(l.host, l.port));
    } catch (err) {
      await this.stop();
      throw err;
    }
    return bound;
  }

  private async listenOn(host: string, port: number): Promise<{ host: string; port: number }> {
    // With port 0, UDP picks the port and TCP must get the same one; retry a few times.
    for (let attempt = 0; attempt < 10; attempt++) {
      const udp = this.createUdp(host, port);
      try {
        await bindUdp(udp, host, port);
      } catch (err) {
        throw new FailoverdError('DNS_LISTEN_FAILED', `cannot listen on udp ${host}:${port}: ${(err as Error).message}`, { cause: err });
      }
      const actual = udp.address().port;
      const tcp = this.createTcp(this.clientSubnet.honourOn(host, port));
      try {
        await tcp.listen(host, actual);
      } catch (err) {
        udp.close();
        if (port === 0 && (err as NodeJS.ErrnoException).code === 'EADDRINUSE') continue;
        throw new FailoverdError('DNS_LISTEN_FAILED', `cannot listen on tcp ${host}:${actual}: ${(err as Error).message}`, { cause: err });
      }
      tcp.on('error', (err) => this.warn('tcp-error', { err }, 'TCP server error'));
      this.udp.push(udp);
      this.tcp.push(tcp);
      return { host, port: actual };
    }
    throw new FailoverdError('DNS_LISTEN_FAILED', `cannot find a port free on both UDP and TCP at ${host}`);
  }

  /**
   * With workers: TCP here first (port 0 picks the port), then UDP on the
   * same port in every worker, sharing one handle.
   */
  private async listenShared(host: string, port: number): Promise<{ host: string; port: number }> {
    for (let attempt = 0; attempt < 10; attempt++) {
      const tcp = this.createTcp(this.clientSubnet.honourOn(host, port));
      let actual: number;
      try {
        actual = await tcp.listen(host, port);
      } catch (err) {
        throw new FailoverdError('DNS_LISTEN_FAILED', `cannot listen on tcp ${host}:${port}: ${(err as Error).message}`, { cause: err });
      }
      try {
        await this.pool!.listen(host, actual);
      } catch (err) {
        await tcp.close();
        if (port === 0 && (err as NodeJS.ErrnoException).code === 'EADDRINUSE') continue;
        throw new FailoverdError('DNS_LISTEN_FAILED', `cannot listen on udp ${host}:${actual} (workers): ${(err as Error).message}`, { cause: err });
      }
      tcp.on('error', (err) => this.warn('tcp-error', { err }, 'TCP server error'));
      this.tcp.push(tcp);
      return { host, port: actual };
    }
    throw new FailoverdError('DNS_LISTEN_FAILED', `cannot find a port free on both UDP and TCP at ${host}`);
  }

  /** UDP only, on one address (a worker's sockets); resolves with the socket's index. */
  async bindUdp(host: string, port: number): Promise<number> {
    const udp = this.createUdp(host, port);
    try {
      await bindUdp(udp, host, port);
    } catch (err) {
      throw new FailoverdError('DNS_LISTEN_FAILED', `cannot listen on udp ${host}:${port}: ${(err as Error).message}`, { cause: err });
    }
    this.udp.push(udp);
    return this.udp.length - 1;
  }

  /** Sends replies computed elsewhere (the main process) from UDP socket `index`. */
  sendUdp(index: number, client: DnsClient, replies: Buffer[]): void {
    const udp = this.udp[index];
    if (!udp) return;
    for (const r of replies) this.sendDatagram(udp, r, client);
  }

  /** A query a worker forwarded (raw bytes): the full path here, where the transfer handler is. */
  private answerForwarded(raw: Buffer, client: DnsClient): Buffer[] {
    const req = this.parse(raw, 'udp');
    if (!req) return [];
    const replies: Buffer[] = [];
    this.handle(req, (r) => replies.push(r), 'udp', client);
    return replies;
  }

  private createUdp(host: string, port: number): UdpSocket {
    const udp = createSocket(isIPv6(host) ? 'udp6' : 'udp4');
    this.honour.set(udp, this.clientSubnet.honourOn(host, port));
    udp.on('message', (msg: Buffer, rinfo: RemoteInfo) => this.onDatagram(udp, msg, rinfo));
    udp.on('error', (err: Error) => this.warn('udp-error', { err }, 'UDP socket error'));
    return udp;
  }

  /**
   * One UDP query: plain queries are answered from the raw bytes by the
   * fast path; the rest are decoded and go on to the full path.
   */
  private onDatagram(udp: UdpSocket, msg: Buffer, rinfo: RemoteInfo): void {
    let reply: Buffer | undefined;
    try {
      const t = this.templates;
      reply = t ? fastAnswer(msg, t, this.scratch, rinfo.address) : undefined;
    } catch (err) {
      this.warn('fast-path', { err }, 'fast path failed; answering on the full path');
    }
    const client = { address: rinfo.address, port: rinfo.port };
    if (reply !== undefined) {
      this.fastReplies++;
      this.opts.onReply?.(reply[3]! & 0xf, 'udp');
      this.sendDatagram(udp, reply, client);
      return;
    }
    const req = this.parse(msg, 'udp');
    if (!req) return;
    if (this.forwardToMain && wantsTransferHandler(req)) {
      this.forwardToMain(this.udp.indexOf(udp), client, msg);
      return;
    }
    this.handle(req, (r) => this.sendDatagram(udp, r, client), 'udp', client, this.honourOf(udp));
  }

  private sendDatagram(udp: UdpSocket, reply: Buffer, client: DnsClient): void {
    udp.send(reply, client.port, client.address, (err) => {
      if (err) this.warn('send', { err, transport: 'udp' }, 'could not send a reply');
    });
  }

  private createTcp(honour: EcsHonour): DnsTcpServer {
    return new DnsTcpServer({
      onMessage: (raw, exchange) => this.onTcpMessage(raw, exchange, honour),
      onFramingError: (err, client) => this.warn('tcp-parse', { err, client: client.address }, 'closed a TCP connection with an unreadable message'),
      limiter: this.tcpLimiter,
      clock: this.clock,
    });
  }

  private onTcpMessage(raw: Buffer, exchange: TcpExchange, honour: EcsHonour): void {
    const req = this.parse(raw, 'tcp');
    if (!req) {
      exchange.close();
      return;
    }
    this.handle(req, (r) => exchange.send(r), 'tcp', exchange.client, honour);
  }

  private honourOf(udp: UdpSocket): EcsHonour {
    return this.honour.get(udp) ?? 'allow';
  }

  /** Decodes a query the fast path did not take; undefined (logged) when it has no usable header. */
  private parse(raw: Buffer, transport: Transport): DnsRequest | undefined {
    try {
      return parseRequest(raw);
    } catch (err) {
      if (transport === 'udp') this.warn('udp-parse', { err }, 'dropped an unreadable UDP packet');
      else this.warn('tcp-parse', { err }, 'closed a TCP connection with an unreadable message');
      return undefined;
    }
  }

  async stop(): Promise<void> {
    const closing: Promise<unknown>[] = [];
    for (const u of this.udp.splice(0)) closing.push(new Promise((r) => u.close(() => r(undefined))));
    for (const t of this.tcp.splice(0)) closing.push(t.close());
    const pool = this.pool;
    this.pool = undefined;
    if (pool) closing.push(pool.stop());
    let timer: { cancel(): void } | undefined;
    await Promise.race([Promise.all(closing), new Promise((r) => (timer = this.clock.setTimer(2000, () => r(undefined))))]);
    timer?.cancel();
  }

  /** Takes over zone transfers (AXFR/IXFR) and NOTIFY; without one they are refused / not implemented. */
  setTransferHandler(handler: TransferHandler | undefined): void {
    this.transfers = handler;
  }

  /** The replies to one parsed query, as bytes (several only for zone transfers over TCP). */
  answer(req: DnsRequest, transport: Transport, client: DnsClient = { address: '', port: 0 }, honour: EcsHonour = 'allow'): Buffer[] {
    const { info, verdict } = readQuery(req);
    if (verdict.kind === 'drop') return [];
    const limit = transport === 'udp' ? udpLimit(info) : MAX_MESSAGE;
    const q = info.question;
    // Signed queries (a TSIG record) go there too: their replies must be signed.
    if (this.transfers && q && wantsTransferHandler(req)) {
      const handled = this.transfers.handle(req, info, { transport, client, snapshot: this.snapshot, limit });
      if (handled) return handled;
    }
    if (verdict.kind === 'error') return [encodeReply(info, errorSections(verdict.rcode), limit, verdict.withQuestion)];
    return [this.answerQuestion(info, transport, limit, client, honour)];
  }

  private answerQuestion(info: QueryInfo, transport: Transport, limit: number, client: DnsClient, honour: EcsHonour): Buffer {
    const q = info.question!;
    // AXFR is a TCP-only exchange (RFC 5936 §4.2): NOTIMP over UDP, as NSD and Knot.
    if (q.type === QTYPE_AXFR && transport === 'udp') return encodeReply(info, errorSections(RCODE.NOTIMP), limit);
    const snap = this.snapshot;
    if (!snap) return encodeReply(info, errorSections(RCODE.SERVFAIL), limit);
    // Zone transfers only through a transfer handler (and its ACL): without
    // one, NOTAUTH for a name that is no zone's apex, else REFUSED (as NSD).
    if (q.type === QTYPE_AXFR || q.type === QTYPE_IXFR) {
      const apex = snap.zones.some((z) => z.origin === q.name.toLowerCase());
      return encodeReply(info, errorSections(apex ? RCODE.REFUSED : RCODE.NOTAUTH), limit);
    }
    const who = this.clientSubnet.clientOf(info.ecs, client.address, honour);
    const res = resolveQuestion(snap, q.name, q.type, this.pick, q.class, who.choose);
    res.scope = who.scope();
    return encodeReply(info, res, limit);
  }

  private handle(req: DnsRequest, send: Send, transport: Transport, client: DnsClient, honour: EcsHonour = 'allow'): void {
    let replies: Buffer[];
    try {
      replies = this.answer(req, transport, client, honour);
    } catch (err) {
      this.warn('handler', { err, transport }, 'failure while answering; replied SERVFAIL');
      try {
        replies = [encodeReply({ id: req.header?.id ?? 0, opcode: req.header?.opcode ?? 0, rd: !!req.header?.rd }, errorSections(RCODE.SERVFAIL), UDP_PLAIN_LIMIT, false)];
      } catch {
        return;
      }
    }
    for (const reply of replies) {
      try {
        this.opts.onReply?.(reply[3]! & 0xf, transport);
        send(reply);
      } catch (err) {
        this.warn('send', { err, transport }, 'could not send a reply');
      }
    }
  }

  /** A warning at most once per 10 s per key (a flood of bad packets must not flood the log). */
  private warn(key: string, obj: Record<string, unknown>, msg: string): void {
    this.errors.warn(key, obj, msg, this.clock.now());
  }
}

/**
 * Zone transfers, NOTIFY and signed queries (a TSIG record: their replies
 * must be signed) go to the transfer handler.
 */
function wantsTransferHandler(req: DnsRequest): boolean {
  const opcode = req.header?.opcode;
  const qtype = req.questions?.[0]?.type;
  return opcode === OPCODE_NOTIFY || (opcode === OPCODE_QUERY && (qtype === QTYPE_AXFR || qtype === QTYPE_IXFR)) || (req.additionals ?? []).some((r) => r?.type === TYPE_TSIG);
}

function bindUdp(udp: UdpSocket, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    udp.once('error', reject);
    udp.bind(port, host, () => {
      udp.off('error', reject);
      resolve();
    });
  });
}
