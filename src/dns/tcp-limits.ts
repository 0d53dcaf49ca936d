/**
 * Bounds on DNS over TCP, so that clients cannot use up the process's file
 * descriptors (each connection holds one; at the limit, probes, the admin
 * API and state writes fail with EMFILE):
 * - at most `maxConnections` open at once, and at most `maxPerClient` from
 *   one client address: a connection over either is closed as soon as it
 *   is accepted;
 * - a message must arrive whole within `messageTimeout` of its first
 *   byte, so a client dribbling a byte every few seconds (which resets any
 *   idle timer) cannot hold a connection;
 * - a connection with no message under way closes after `idleTimeout`
 *   (RFC 7766 §6.2.3).
 * Every connection refused or closed by a bound is counted by reason.
 */

import { DNS_TCP_DEFAULTS } from '../config/schema.ts';
import type { Config } from '../config/types.ts';

/** As in the config (dns.tcp); durations in milliseconds. */
export type TcpLimits = Config['dns']['tcp'];

/** The config's defaults. */
export const DEFAULT_TCP_LIMITS: TcpLimits = DNS_TCP_DEFAULTS;

/** Why a connection was refused (the first two) or closed by the server. */
export type TcpCloseReason = 'max-connections' | 'max-per-client' | 'message-timeout' | 'idle-timeout';

export interface TcpStats {
  /** Connections open now. */
  open: number;
  /** Connections accepted (and kept) since the start. */
  accepted: number;
  /** Connections refused or closed by a bound, by reason, since the start. */
  closed: Record<TcpCloseReason, number>;
}

/** The connection counts of every TCP listener of a server (descriptors are per process). */
export class TcpConnectionLimiter {
  private open = 0;
  private accepted = 0;
  private readonly perClient = new Map<string, number>();
  private readonly closed: Record<TcpCloseReason, number> = { 'max-connections': 0, 'max-per-client': 0, 'message-timeout': 0, 'idle-timeout': 0 };

  constructor(
    readonly limits: TcpLimits,
    private readonly onClosed?: (reason: TcpCloseReason, address: string) => void,
  ) {}

  /** Takes a slot for a new connection from `address`, or says why there is none (counted). */
  admit(address: string): TcpCloseReason | undefined {
    const key = clientKey(address);
    const mine = this.perClient.get(key) ?? 0;
    const refused = this.open >= this.limits.maxConnections ? 'max-connections' : mine >= this.limits.maxPerClient ? 'max-per-client' : undefined;
    if (refused) {
      this.count(refused, address);
      return refused;
    }
    this.open++;
    this.accepted++;
    this.perClient.set(key, mine + 1);
    return undefined;
  }

  /** Gives back the slot of a connection that `admit` let in. */
  release(address: string): void {
    const key = clientKey(address);
    const mine = this.perClient.get(key) ?? 0;
    if (mine <= 1) this.perClient.delete(key);
    else this.perClient.set(key, mine - 1);
    if (this.open > 0) this.open--;
  }

  /** A connection refused or closed by a bound. */
  count(reason: TcpCloseReason, address: string): void {
    this.closed[reason]++;
    this.onClosed?.(reason, address);
  }

  stats(): TcpStats {
    return { open: this.open, accepted: this.accepted, closed: { ...this.closed } };
  }
}

/** IPv4 clients on a dual-stack socket (::ffff:a.b.c.d) count as their IPv4 address. */
function clientKey(address: string): string {
  return address.startsWith('::ffff:') ? address.slice(7) : address.toLowerCase();
}
