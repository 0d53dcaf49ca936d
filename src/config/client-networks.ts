/**
 * Client networks (CIDR blocks) and the map from them to a value, compiled
 * into a normalised binary trie per address family.
 *
 * The trie partitions the whole address space: every leaf is one block
 * (its depth is the prefix length) with one value, the value of the longest
 * listed network that covers it, or the default value. Sibling leaves with
 * the same value are merged, so the leaf an address falls in is the widest
 * block around it over which the value does not change: that prefix length
 * is the correct EDNS Client Subnet SCOPE (RFC 7871 §7.2.1), as gdnsd's
 * `nets` computes it. A network that holds a more specific one with another
 * value therefore answers for smaller blocks than its own prefix.
 *
 * Plain data (numbers and two-element arrays): it crosses to UDP workers
 * by structured clone unchanged.
 */
import { isIP } from 'node:net';

/** A leaf (the value) or an inner node: [the 0 half, the 1 half]. */
export type ClientTrie = number | [ClientTrie, ClientTrie];

export interface Cidr {
  family: 4 | 6;
  /** 4 or 16 bytes; bits after `bits` are 0. */
  bytes: Uint8Array;
  bits: number;
}

/** The address bytes of an IPv4 or IPv6 address (no zone id), or undefined. */
export function addressBytes(address: string): { family: 4 | 6; bytes: Uint8Array } | undefined {
  const family = isIP(address);
  if (family === 4) return { family: 4, bytes: Uint8Array.from(address.split('.').map(Number)) };
  if (family !== 6 || address.includes('%')) return undefined;
  return { family: 6, bytes: ipv6ToBytes(address) };
}

/** An IPv4 client on an IPv6 socket (::ffff:a.b.c.d) as its IPv4 address; other addresses as they are. */
export function clientAddressBytes(address: string): { family: 4 | 6; bytes: Uint8Array } | undefined {
  if (address.length > 7 && address.charCodeAt(0) === 0x3a && /^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(address)) return addressBytes(address.slice(7));
  return addressBytes(address);
}

function ipv6ToBytes(address: string): Uint8Array {
  let text = address;
  const out = new Uint8Array(16);
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4[1]!.split('.').map(Number);
    text = `${text.slice(0, v4.index)}${((a! << 8) | b!).toString(16)}:${((c! << 8) | d!).toString(16)}`;
  }
  const [head, tail] = text.split('::');
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  groups.forEach((g, i) => {
    const v = parseInt(g, 16);
    out[i * 2] = v >> 8;
    out[i * 2 + 1] = v & 0xff;
  });
  return out;
}

/** "10.0.0.0/8" or "2001:db8::/32" (a bare address is a /32 or /128), or the problem with it. */
export function parseCidr(text: string): Cidr | { problem: string } {
  const slash = text.indexOf('/');
  const addr = slash < 0 ? text : text.slice(0, slash);
  const parsed = addressBytes(addr);
  if (!parsed) return { problem: `${JSON.stringify(text)} is not an IPv4 or IPv6 network (use e.g. 10.0.0.0/8 or 2001:db8::/32)` };
  const max = parsed.family === 4 ? 32 : 128;
  let bits = max;
  if (slash >= 0) {
    const p = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(p) || Number(p) > max) return { problem: `${JSON.stringify(text)} has a bad prefix length /${p}: an IPv${parsed.family} prefix is 0 to ${max}` };
    bits = Number(p);
  }
  if (!bitsBeyondClear(parsed.bytes, bits)) {
    const masked = maskBytes(parsed.bytes, bits);
    return { problem: `${JSON.stringify(text)} has address bits set beyond /${bits}: the network is ${formatCidr({ family: parsed.family, bytes: masked, bits })}` };
  }
  return { family: parsed.family, bytes: parsed.bytes, bits };
}

/** True when every bit of `bytes` after the first `bits` is 0. */
export function bitsBeyondClear(bytes: Uint8Array, bits: number): boolean {
  for (let i = 0; i < bytes.length; i++) {
    const keep = Math.max(0, Math.min(8, bits - i * 8));
    const mask = keep === 0 ? 0 : (0xff << (8 - keep)) & 0xff;
    if ((bytes[i]! & ~mask & 0xff) !== 0) return false;
  }
  return true;
}

function maskBytes(bytes: Uint8Array, bits: number): Uint8Array {
  return bytes.map((b, i) => {
    const keep = Math.max(0, Math.min(8, bits - i * 8));
    return keep === 0 ? 0 : b & ((0xff << (8 - keep)) & 0xff);
  });
}

/** "10.0.0.0/8", "2001:db8::/32" (RFC 5952 spelling). */
export function formatCidr(c: Cidr): string {
  if (c.family === 4) return `${Array.from(c.bytes).join('.')}/${c.bits}`;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((c.bytes[i]! << 8) | c.bytes[i + 1]!).toString(16));
  // The longest run of two or more zero groups becomes "::".
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const text = best < 0 ? groups.join(':') : `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
  return `${text}/${c.bits}`;
}

function bitAt(bytes: Uint8Array, i: number): 0 | 1 {
  return ((bytes[i >> 3]! >> (7 - (i & 7))) & 1) as 0 | 1;
}

/**
 * The normalised trie of one family: `networks` (all of that family, no two
 * identical) with their values, `fallback` everywhere else.
 */
export function buildClientTrie(networks: ReadonlyArray<{ cidr: Cidr; value: number }>, fallback: number): ClientTrie {
  const build = (depth: number, inherited: number, under: ReadonlyArray<{ cidr: Cidr; value: number }>): ClientTrie => {
    let value = inherited;
    const deeper: Array<{ cidr: Cidr; value: number }> = [];
    for (const n of under) {
      if (n.cidr.bits === depth) value = n.value;
      else deeper.push(n);
    }
    if (deeper.length === 0) return value;
    const zero = build(depth + 1, value, deeper.filter((n) => bitAt(n.cidr.bytes, depth) === 0));
    const one = build(depth + 1, value, deeper.filter((n) => bitAt(n.cidr.bytes, depth) === 1));
    return typeof zero === 'number' && zero === one ? zero : [zero, one];
  };
  return build(0, fallback, networks);
}

/** The value of the block `address` falls in, and that block's prefix length (the scope). */
export function lookupClientTrie(trie: ClientTrie, bytes: Uint8Array): { value: number; scope: number } {
  let node = trie;
  let depth = 0;
  while (typeof node !== 'number') {
    node = node[bitAt(bytes, depth)];
    depth++;
  }
  return { value: node, scope: depth };
}
