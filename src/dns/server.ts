/**
 * The embedded authoritative DNS server: dns2's UDP and TCP servers on each
 * listen address, answering from the current snapshot (swapped whole).
 * It never crashes on a packet: anything that goes wrong inside the handler
 * becomes SERVFAIL, logged rate-limited.
 */
import type { RemoteInfo } from 'node:dgram';
import { isIPv6, type Socket } from 'node:net';
import type { HostPort } from '../config/types.ts';
import { FailoverdError } from '../errors.ts';
import { RateLimitedLog, type Logger } from '../log.ts';
import type { Snapshot } from '../records/snapshot.ts';
import { Packet, TCPServer, UDPServer, type DnsClient, type DnsRequest } from './dns2.ts';
import { OPCODE_NOTIFY, OPCODE_QUERY, readQuery, udpLimit, type QueryInfo } from './query.ts';
import { encodeReply, errorSections, TCP_LIMIT } from './response.ts';
import { fastAnswer, newPlainQuery } from './fast-path.ts';
import { ReplyTemplates } from './reply-templates.ts';
import { resolveWorkers, UdpWorkerPool } from './worker-pool.ts';
import type { Client } from './worker-protocol.ts';
import { QTYPE_AXFR, QTYPE_IXFR, RCODE, resolveQuestion, type WeightedPicker } from './resolve.ts';
import { pickWeightedIndex } from '../failover/weighted-pick.ts';

export type Transport = 'udp' | 'tcp';

export interface DnsServerOptions {
  listen: HostPort[];
  logger: Logger;
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
}

type Send = (reply: Buffer) => unknown;

/** Zone transfers, NOTIFY and TSIG-signed queries (secondaries support) plug in here. */
export interface TransferHandler {
  /** The reply messages, or undefined to let the server answer as usual. */
  handle(req: DnsRequest, info: QueryInfo, ctx: { transport: Transport; client: DnsClient; snapshot: Snapshot | undefined; limit: number }): Buffer[] | undefined;
}

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
  private readonly udp: InstanceType<typeof UDPServer>[] = [];
  private readonly tcp: InstanceType<typeof TCPServer>[] = [];
  private readonly errors: RateLimitedLog;
  private readonly pick: WeightedPicker;
  private readonly connections = new Set<Socket>();
  private transfers: TransferHandler | undefined;
  private pool: UdpWorkerPool | undefined;
  /** Set in a UDP worker: queries for the transfer handler go to the main process. */
  forwardToMain: ((socket: number, client: Client, raw: Buffer) => void) | undefined;

  constructor(private readonly opts: DnsServerOptions) {
    this.errors = new RateLimitedLog(opts.logger);
    this.pick = opts.pick ?? randomWeightedPick;
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
      const udp = this.createUdp(host);
      try {
        await bindUdp(udp, host, port);
      } catch (err) {
        throw new FailoverdError('DNS_LISTEN_FAILED', `cannot listen on udp ${host}:${port}: ${(err as Error).message}`, { cause: err });
      }
      const actual = udp.address().port;
      const tcp = this.createTcp();
      try {
        await listenTcp(tcp, host, actual);
      } catch (err) {
        udp.close();
        if (port === 0 && (err as NodeJS.ErrnoException).code === 'EADDRINUSE') continue;
        throw new FailoverdError('DNS_LISTEN_FAILED', `cannot listen on tcp ${host}:${actual}: ${(err as Error).message}`, { cause: err });
      }
      tcp.on('error', (err: Error) => this.errors.warn('tcp-error', { err: err.message }, 'TCP server error'));
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
      const tcp = this.createTcp();
      try {
        await listenTcp(tcp, host, port);
      } catch (err) {
        throw new FailoverdError('DNS_LISTEN_FAILED', `cannot listen on tcp ${host}:${port}: ${(err as Error).message}`, { cause: err });
      }
      const actual = (tcp.address() as { port: number }).port;
      try {
        await this.pool!.listen(host, actual);
      } catch (err) {
        await new Promise((r) => tcp.close(() => r(undefined)));
        if (port === 0 && (err as NodeJS.ErrnoException).code === 'EADDRINUSE') continue;
        throw new FailoverdError('DNS_LISTEN_FAILED', `cannot listen on udp ${host}:${actual} (workers): ${(err as Error).message}`, { cause: err });
      }
      tcp.on('error', (err: Error) => this.errors.warn('tcp-error', { err: err.message }, 'TCP server error'));
      this.tcp.push(tcp);
      return { host, port: actual };
    }
    throw new FailoverdError('DNS_LISTEN_FAILED', `cannot find a port free on both UDP and TCP at ${host}`);
  }

  /** UDP only, on one address (a worker's sockets); resolves with the socket's index. */
  async bindUdp(host: string, port: number): Promise<number> {
    const udp = this.createUdp(host);
    try {
      await bindUdp(udp, host, port);
    } catch (err) {
      throw new FailoverdError('DNS_LISTEN_FAILED', `cannot listen on udp ${host}:${port}: ${(err as Error).message}`, { cause: err });
    }
    this.udp.push(udp);
    return this.udp.length - 1;
  }

  /** Sends replies computed elsewhere (the main process) from UDP socket `index`. */
  sendUdp(index: number, client: Client, replies: Buffer[]): void {
    const udp = this.udp[index];
    if (!udp) return;
    for (const r of replies) udp.send(r, client.port, client.address);
  }

  /** A query a worker forwarded (raw bytes): the full path here, where the transfer handler is. */
  private answerForwarded(raw: Buffer, client: Client): Buffer[] {
    let req: DnsRequest;
    try {
      req = Packet.parse(raw) as unknown as DnsRequest;
    } catch (err) {
      this.errors.warn('udp-parse', { err: (err as Error).message }, 'dropped an unreadable UDP packet');
      return [];
    }
    const replies: Buffer[] = [];
    this.handle(req, (r) => replies.push(r), 'udp', client);
    return replies;
  }

  private createUdp(host: string): InstanceType<typeof UDPServer> {
    const udp = new UDPServer({ type: isIPv6(host) ? 'udp6' : 'udp4' });
    udp.on('request', (req: DnsRequest, send: Send, rinfo: { address: string; port: number }) => {
      const client = { address: rinfo.address, port: rinfo.port };
      if (this.forwardToMain && req.raw && wantsTransferHandler(req)) {
        this.forwardToMain(this.udp.indexOf(udp), client, req.raw);
        return;
      }
      this.handle(req, send, 'udp', client);
    });
    this.interceptUdp(udp);
    udp.on('requestError', (err: Error) => this.errors.warn('udp-parse', { err: err.message }, 'dropped an unreadable UDP packet'));
    udp.on('error', (err: Error) => this.errors.warn('udp-error', { err: err.message }, 'UDP socket error'));
    return udp;
  }

  private createTcp(): InstanceType<typeof TCPServer> {
    const tcp = new TCPServer();
    tcp.on('request', (req: DnsRequest, send: Send, sock: Socket) => this.handle(req, send, 'tcp', { address: sock.remoteAddress ?? '', port: sock.remotePort ?? 0 }));
    tcp.on('requestError', (err: Error) => this.errors.warn('tcp-parse', { err: err.message }, 'closed a TCP connection with an unreadable message'));
    tcp.on('connection', (sock) => {
      this.connections.add(sock);
      sock.on('error', () => sock.destroy());
      sock.on('close', () => this.connections.delete(sock));
    });
    return tcp;
  }

  /**
   * Puts the fast path in front of dns2: plain queries are answered from
   * the raw bytes; the rest go on to dns2's parser and the full path.
   */
  private interceptUdp(udp: InstanceType<typeof UDPServer>): void {
    const dns2Handle = (udp as unknown as { handle(msg: Buffer, rinfo: RemoteInfo): void }).handle.bind(udp);
    udp.removeAllListeners('message');
    udp.on('message', (msg: Buffer, rinfo: RemoteInfo) => {
      let reply: Buffer | undefined;
      try {
        reply = this.fastAnswer(msg);
      } catch (err) {
        this.errors.warn('fast-path', { err: (err as Error).message }, 'fast path failed; answering on the full path');
      }
      if (reply === undefined) return dns2Handle(msg, rinfo);
      this.fastReplies++;
      this.opts.onReply?.(reply[3]! & 0xf, 'udp');
      // No callback: a send error surfaces as the socket's 'error' event (logged above).
      udp.send(reply, rinfo.port, rinfo.address);
    });
  }

  async stop(): Promise<void> {
    const closing: Promise<unknown>[] = [];
    for (const u of this.udp.splice(0)) closing.push(new Promise((r) => u.close(() => r(undefined))));
    for (const t of this.tcp.splice(0)) {
      closing.push(new Promise((r) => t.close(() => r(undefined))));
    }
    for (const sock of this.connections) sock.destroy();
    const pool = this.pool;
    this.pool = undefined;
    if (pool) closing.push(pool.stop());
    await Promise.race([Promise.all(closing), new Promise((r) => setTimeout(r, 2000).unref())]);
  }

  /** Takes over zone transfers (AXFR/IXFR) and NOTIFY; without one they are refused / not implemented. */
  setTransferHandler(handler: TransferHandler | undefined): void {
    this.transfers = handler;
  }

  /** The replies to one parsed query, as bytes (several only for zone transfers over TCP). */
  answer(req: DnsRequest, transport: Transport, client: DnsClient = { address: '', port: 0 }): Buffer[] {
    const { info, verdict } = readQuery(req);
    if (verdict.kind === 'drop') return [];
    const limit = transport === 'udp' ? udpLimit(info) : TCP_LIMIT;
    const q = info.question;
    // Signed queries (a TSIG record, type 250) go there too: their replies must be signed.
    if (this.transfers && q && wantsTransferHandler(req)) {
      const handled = this.transfers.handle(req, info, { transport, client, snapshot: this.snapshot, limit });
      if (handled) return handled;
    }
    if (verdict.kind === 'error') return [encodeReply(info, errorSections(verdict.rcode), limit, verdict.withQuestion)];
    return [this.answerQuestion(info, transport, limit)];
  }

  private answerQuestion(info: QueryInfo, transport: Transport, limit: number): Buffer {
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
    return encodeReply(info, resolveQuestion(snap, q.name, q.type, this.pick, q.class), limit);
  }

  private handle(req: DnsRequest, send: Send, transport: Transport, client: DnsClient): void {
    let replies: Buffer[];
    try {
      replies = this.answer(req, transport, client);
    } catch (err) {
      this.errors.warn('handler', { err: (err as Error).message, transport }, 'failure while answering; replied SERVFAIL');
      try {
        replies = [encodeReply({ id: req.header?.id ?? 0, opcode: req.header?.opcode ?? 0, rd: !!req.header?.rd }, errorSections(RCODE.SERVFAIL), 512, false)];
      } catch {
        return;
      }
    }
    for (const reply of replies) {
      try {
        this.opts.onReply?.(reply[3]! & 0xf, transport);
        const sent = send(reply);
        if (sent instanceof Promise) sent.catch((err: Error) => this.errors.warn('send', { err: err.message, transport }, 'could not send a reply'));
      } catch (err) {
        this.errors.warn('send', { err: (err as Error).message, transport }, 'could not send a reply');
      }
    }
  }
}

/**
 * Zone transfers, NOTIFY and signed queries (a TSIG record, type 250: their
 * replies must be signed) go to the transfer handler.
 */
function wantsTransferHandler(req: DnsRequest): boolean {
  const opcode = req.header?.opcode;
  const qtype = req.questions?.[0]?.type;
  return opcode === OPCODE_NOTIFY || (opcode === OPCODE_QUERY && (qtype === QTYPE_AXFR || qtype === QTYPE_IXFR)) || (req.additionals ?? []).some((r) => r?.type === 250);
}

function bindUdp(udp: InstanceType<typeof UDPServer>, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    udp.once('error', reject);
    udp.bind(port, host, () => {
      udp.off('error', reject);
      resolve();
    });
  });
}

function listenTcp(tcp: InstanceType<typeof TCPServer>, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    tcp.once('error', reject);
    tcp.listen(port, host, () => {
      tcp.off('error', reject);
      resolve();
    });
  });
}
