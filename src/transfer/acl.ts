/**
 * The transfer ACL: address blocks (CIDR) that may transfer without a key.
 * IPv4 clients on an IPv6 socket (::ffff:a.b.c.d) match IPv4 blocks.
 */
import { isIP } from 'node:net';
import { ipv6Bytes } from '../dns/wire/writer.ts';

interface Block {
  family: 4 | 6;
  bytes: Buffer;
  bits: number;
}

export class AddressAcl {
  private readonly blocks: Block[];

  /** `entries` are validated by the config schema ("10.0.0.0/8", "::1", ...). */
  constructor(readonly entries: readonly string[]) {
    this.blocks = entries.map(parseBlock);
  }

  get empty(): boolean {
    return this.blocks.length === 0;
  }

  allows(address: string): boolean {
    const addr = addressBytes(address);
    if (!addr) return false;
    return this.blocks.some((b) => b.family === addr.family && prefixMatch(b.bytes, addr.bytes, b.bits));
  }
}

function parseBlock(entry: string): Block {
  const [a, bits] = entry.split('/');
  const addr = addressBytes(a!);
  if (!addr) throw new Error(`not an address block: ${entry}`);
  return { ...addr, bits: bits === undefined ? addr.bytes.length * 8 : Number(bits) };
}

function addressBytes(address: string): { family: 4 | 6; bytes: Buffer } | undefined {
  const a = address.replace(/%.*$/, '');
  const v4mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(a);
  if (v4mapped) return addressBytes(v4mapped[1]!);
  const family = isIP(a);
  if (family === 4) return { family: 4, bytes: Buffer.from(a.split('.').map(Number)) };
  if (family === 6) return { family: 6, bytes: ipv6Bytes(a) };
  return undefined;
}

function prefixMatch(a: Buffer, b: Buffer, bits: number): boolean {
  const full = bits >> 3;
  for (let i = 0; i < full; i++) if (a[i] !== b[i]) return false;
  const rest = bits & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (a[full]! & mask) === (b[full]! & mask);
}
