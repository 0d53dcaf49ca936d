/**
 * DNS over TCP (RFC 1035 §4.2.2, RFC 7766): length-prefixed messages,
 * pipelined on one connection, each answered as it completes. Owned here
 * rather than taken from dns2's TCPServer, which hands its handler a decoded
 * Packet without the bytes (dns2.ts says why failoverd needs them).
 *
 * A connection closes when the client has half-closed and every reply is
 * written, on a framing error (the client half-closes mid-message), when
 * the handler asks (an unreadable message), or after `idleTimeoutMs` without
 * traffic (RFC 7766 §6.2.3).
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { DnsClient } from './dns2.ts';

/** RFC 7766 §6.2.3: the recommended minimum idle time before a server closes a connection. */
export const TCP_IDLE_TIMEOUT_MS = 10_000;

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
  idleTimeoutMs?: number;
}

export class DnsTcpServer {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();

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
    for (const s of this.sockets) s.destroy();
    return closed;
  }

  private accept(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    const client: DnsClient = { address: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 };
    const exchange: TcpExchange = {
      client,
      send(reply) {
        if (socket.destroyed || !socket.writable) return;
        const len = Buffer.allocUnsafe(2);
        len.writeUInt16BE(reply.length, 0);
        socket.write(Buffer.concat([len, reply]));
      },
      close: () => socket.destroy(),
    };
    let buffered: Buffer = Buffer.alloc(0);
    socket.setTimeout(this.opts.idleTimeoutMs ?? TCP_IDLE_TIMEOUT_MS);
    socket.on('timeout', () => {
      if (!socket.destroyed) socket.end();
    });
    socket.on('data', (chunk: Buffer) => {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2 && !socket.destroyed) {
        const size = buffered.readUInt16BE(0);
        if (buffered.length < 2 + size) break;
        const message = buffered.subarray(2, 2 + size);
        buffered = buffered.subarray(2 + size);
        this.opts.onMessage(message, exchange);
      }
    });
    socket.on('end', () => {
      if (buffered.length > 0) {
        this.opts.onFramingError(new Error('TCP message truncated: connection closed mid-message'), client);
        socket.destroy();
        return;
      }
      // Every message read so far was answered as it came: close our side too.
      if (!socket.destroyed) socket.end();
    });
    // A reset or a write to a closed peer: nothing more to do for this client.
    socket.on('error', () => socket.destroy());
  }
}
