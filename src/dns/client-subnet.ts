/**
 * Whose EDNS Client Subnet option (RFC 7871) the server honours, and the
 * client address and scope a query's answer is decided with.
 *
 * Per listener (`dns.ecs.listeners`, keyed by the dns.listen entry):
 * - `allow` (the default): honoured from sources in `dns.ecs.allow` (the
 *   resolvers one trusts to send their clients' subnets), as large
 *   operators do;
 * - `any`: honoured from every source;
 * - `off`: never honoured.
 * An option that is not honoured still is echoed (the query had one), with
 * SCOPE 0: the answer was decided by the source address, the resolver's,
 * and holds for every client behind it (RFC 7871 §7.2.1: a SCOPE of 0 says
 * the answer is valid for all addresses; not echoing would read as "ECS not
 * supported" and make the resolver stop sending it).
 * An answer that does not depend on the client (every name but policy
 * topology ones) echoes SCOPE 0 too.
 */
import { lookupClientMap } from '../config/client-map.ts';
import { buildClientTrie, clientAddressBytes, lookupClientTrie, parseCidr, type ClientTrie } from '../config/client-networks.ts';
import type { NodeTopology } from '../records/snapshot.ts';
import type { EcsOption } from './ecs.ts';
import type { ListChooser } from './resolve.ts';

export type EcsHonour = 'allow' | 'any' | 'off';

export interface EcsSettings {
  /** Networks of resolvers whose option is honoured on `allow` listeners. */
  allow: string[];
  /** Per listen address as written in dns.listen ("127.0.0.1:53", "[::1]:53"); `allow` when not given. */
  listeners?: Record<string, EcsHonour>;
}

/** How one query's answer reads the client. */
export interface ClientOfQuery {
  choose: ListChooser;
  /** The SCOPE PREFIX-LENGTH to echo: the widest block the answer holds for; 0 when the option was not honoured or nothing depended on it. */
  scope(): number;
}

export class ClientSubnetPolicy {
  private readonly allowV4: ClientTrie;
  private readonly allowV6: ClientTrie;

  constructor(private readonly settings: EcsSettings = { allow: [] }) {
    const nets = settings.allow.flatMap((text) => {
      const c = parseCidr(text);
      return 'problem' in c ? [] : [{ cidr: c, value: 1 }];
    });
    this.allowV4 = buildClientTrie(nets.filter((n) => n.cidr.family === 4), 0);
    this.allowV6 = buildClientTrie(nets.filter((n) => n.cidr.family === 6), 0);
  }

  /** The setting of the listener on host:port (as configured). */
  honourOn(host: string, port: number): EcsHonour {
    const l = this.settings.listeners;
    if (!l) return 'allow';
    return l[host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`] ?? 'allow';
  }

  /** True when `source` may send client subnets on a listener with this setting. */
  honours(source: string, honour: EcsHonour): boolean {
    if (honour === 'any') return true;
    if (honour === 'off') return false;
    const a = clientAddressBytes(source);
    if (!a) return false;
    return lookupClientTrie(a.family === 4 ? this.allowV4 : this.allowV6, a.bytes).value === 1;
  }

  clientOf(ecs: EcsOption | undefined, source: string, honour: EcsHonour): ClientOfQuery {
    // SOURCE PREFIX-LENGTH 0: the resolver gives no client information; the source decides and the scope is 0 (as gdnsd).
    const useEcs = ecs !== undefined && ecs.sourceBits > 0 && this.honours(source, honour);
    const addr: { family: 4 | 6; bytes: Uint8Array } | undefined = useEcs ? { family: ecs.family === 1 ? 4 : 6, bytes: ecs.full } : clientAddressBytes(source);
    let scope = 0;
    return {
      choose: (t: NodeTopology) => {
        if (!addr) return 0;
        const r = lookupClientMap(t, addr.family, addr.bytes);
        if (r.scope > scope) scope = r.scope;
        return r.value;
      },
      scope: () => (useEcs ? scope : 0),
    };
  }
}
