/**
 * DNS over TCP (RFC 1035 §4.2.2, RFC 7766): length-prefixed messages,
 * pipelined on one connection, each answered as it completes, within the
 * bounds of tcp-limits.ts (connections in all and per client, the time one
 * message may take, the idle time). Owned here rather than taken from
 * dns2's TCPServer, which hands its handler a decoded Packet without the
 * bytes (dns2.ts says why failoverd needs them) and bounds neither the
 * connections nor the time a message takes.
 *
 * A connection closes when the client has half-closed and every reply is
 * written, on a framing error (the client half-closes mid-message), when
 * the handler asks (an unreadable message), or at a bound. Replies that the
 * client does not read stop the reading of its further queries (back
 * pressure), so its replies cannot pile up in memory.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { Clock, TimerHandle } from '../clock.ts';
import type { DnsClient } from './dns2.ts';
import type { TcpConnectionLimiter } from './tcp-limits.ts';

/** One connection as the message handler sees it. */
export interface TcpExchange {
  client: DnsClient;
  /** Writes one reply (length-prefixed). */
  send(reply: Buffer): void;
  /** Closes the connection at once (an unreadable message). */
  close(): void;
}

export interface DnsTcpServerOptions {
  /** Called once per complete message, in order; replies are sent through `exchange`. */
  onMessage(raw: Buffer, exchange: TcpExchange): void;
  /** A connection closed on a framing error. */
  onFramingError(err: Error, client: DnsClient): void;
  /** Shared by every listener of a server. */
  limiter: TcpConnectionLimiter;
  clock: Clock;
}

export class DnsTcpServer {
  private readonly server: Server;
  private readonly connections = new Set<TcpConnection>();

  constructor(private readonly opts: DnsTcpServerOptions) {
    // allowHalfOpen: a client that sends its query and half-closes still gets the reply.
    this.server = createServer({ allowHalfOpen: true }, (socket) => this.accept(socket));
  }

  on(event: 'error', listener: (err: Error) => void): this {
    this.server.on(event, listener);
    return this;
  }

  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve((this.server.address() as { port: number }).port);
      });
    });
  }

  /** Stops listening and closes every connection. */
  close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const c of this.connections) c.destroy();
    return closed;
  }

  private accept(socket: Socket): void {
    const client: DnsClient = { address: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 };
    socket.on('error', () => socket.destroy());
    if (this.opts.limiter.admit(client.address) !== undefined) {
      socket.destroy();
      return;
    }
    const conn = new TcpConnection(socket, client, this.opts);
    this.connections.add(conn);
    socket.on('close', () => {
      conn.closed();
      this.connections.delete(conn);
      this.opts.limiter.release(client.address);
    });
  }
}

/** One admitted connection: its framing and its timer (idle, or the message under way). */
class TcpConnection {
  private buffered: Buffer = Buffer.alloc(0);
  private timer: TimerHandle | undefined;
  private state: 'idle' | 'message' | 'closing' = 'idle';
  /** Bytes handed to the kernel when the idle timer was armed: replies still flowing out count as activity. */
  private flushedAtArm = 0;
  private readonly exchange: TcpExchange;

  constructor(
    private readonly socket: Socket,
    client: DnsClient,
    private readonly opts: DnsTcpServerOptions,
  ) {
    this.exchange = {
      client,
      send: (reply) => this.send(reply),
      close: () => socket.destroy(),
    };
    socket.on('data', (chunk: Buffer) => this.received(chunk));
    socket.on('end', () => this.peerEnded());
    socket.on('drain', () => socket.resume());
    this.armIdle();
  }

  destroy(): void {
    this.socket.destroy();
  }

  closed(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }

  private received(chunk: Buffer): void {
    // The first byte of a message starts its clock.
    if (this.state === 'idle') this.arm('message', this.opts.limiter.limits.messageTimeout);
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    let completed = false;
    while (this.buffered.length >= 2 && !this.socket.destroyed) {
      const size = this.buffered.readUInt16BE(0);
      if (this.buffered.length < 2 + size) break;
      const message = this.buffered.subarray(2, 2 + size);
      this.buffered = this.buffered.subarray(2 + size);
      completed = true;
      this.opts.onMessage(message, this.exchange);
    }
    if (this.socket.destroyed || !completed || this.state === 'closing') return;
    // The bytes left over begin the next message: its clock starts now.
    if (this.buffered.length > 0) this.arm('message', this.opts.limiter.limits.messageTimeout);
    else this.armIdle();
  }

  private send(reply: Buffer): void {
    const socket = this.socket;
    if (socket.destroyed || !socket.writable) return;
    const len = Buffer.allocUnsafe(2);
    len.writeUInt16BE(reply.length, 0);
    // Not read by the client yet: read no more of its queries until it is.
    if (!socket.write(Buffer.concat([len, reply]))) socket.pause();
  }

  private peerEnded(): void {
    if (this.buffered.length > 0) {
      this.opts.onFramingError(new Error('TCP message truncated: connection closed mid-message'), this.exchange.client);
      this.socket.destroy();
      return;
    }
    // Every message read so far was answered as it came: close our side too.
    if (!this.socket.destroyed) this.socket.end();
  }

  private armIdle(): void {
    this.flushedAtArm = flushed(this.socket);
    this.arm('idle', this.opts.limiter.limits.idleTimeout);
  }

  private arm(state: 'idle' | 'message', ms: number): void {
    this.timer?.cancel();
    this.state = state;
    this.timer = this.opts.clock.setTimer(ms, () => (state === 'idle' ? this.idleTimedOut() : this.messageTimedOut()));
  }

  private messageTimedOut(): void {
    if (this.socket.destroyed) return;
    this.opts.limiter.count('message-timeout', this.exchange.client.address);
    this.socket.destroy();
  }

  private idleTimedOut(): void {
    const socket = this.socket;
    if (socket.destroyed) return;
    // Replies still flowing out to a client that reads them: not idle.
    if (socket.writableLength > 0 && flushed(socket) > this.flushedAtArm) {
      this.armIdle();
      return;
    }
    this.opts.limiter.count('idle-timeout', this.exchange.client.address);
    // A clean close (RFC 7766 §6.2.3); a client that does not take it is cut off a message-time later.
    this.state = 'closing';
    socket.end();
    this.timer = this.opts.clock.setTimer(this.opts.limiter.limits.messageTimeout, () => socket.destroy());
  }
}

/** Bytes of replies the kernel has taken (bytesWritten counts those still queued too). */
function flushed(socket: Socket): number {
  return socket.bytesWritten - socket.writableLength;
}
