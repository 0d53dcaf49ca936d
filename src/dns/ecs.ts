/**
 * EDNS Client Subnet (RFC 7871): reading the option of a query and what an
 * answer echoes.
 *
 * A query's option is malformed (FORMERR, §6 and §7.1.1 as BIND, Knot and
 * PowerDNS read them) when: FAMILY is not 1 (IPv4) or 2 (IPv6); SOURCE
 * PREFIX-LENGTH exceeds the family's address length; ADDRESS is not exactly
 * ceil(SOURCE/8) octets; ADDRESS has bits set beyond SOURCE; SCOPE
 * PREFIX-LENGTH is not 0 (a query must send 0); the option length is below
 * 4; or there are two ECS options.
 *
 * Never throws: the OPT record is found with wire/reader.ts, which reads
 * anything malformed as undefined.
 */
import { bitsBeyondClear } from '../config/client-networks.ts';
import { TYPE_OPT } from './wire/constants.ts';
import { readMessage } from './wire/reader.ts';

export const OPTION_ECS = 8;

export interface EcsOption {
  /** 1 = IPv4, 2 = IPv6 (RFC 7871 FAMILY). */
  family: 1 | 2;
  sourceBits: number;
  /** The ADDRESS octets as sent (ceil(sourceBits / 8) of them). */
  address: Buffer;
  /** The address padded to 4 or 16 bytes with zeros, for the map lookup. */
  full: Uint8Array;
}

export type EcsRead = { kind: 'none' } | { kind: 'ecs'; ecs: EcsOption } | { kind: 'malformed'; why: string };

const NONE: EcsRead = { kind: 'none' };

/** The ECS option of the query in `raw` (its OPT record in the additional section). */
export function readEcs(raw: Buffer): EcsRead {
  // Most queries: no additional record at all, or an OPT without options.
  if (raw.length < 12 || raw.readUInt16BE(10) === 0) return NONE;
  const msg = readMessage(raw);
  if (!msg) return NONE;
  const opt = msg.records.find((r) => r.section === 'additional' && r.type === TYPE_OPT);
  if (!opt) return NONE;
  let found: EcsRead = NONE;
  for (let at = opt.rdata; at < opt.end; ) {
    if (at + 4 > opt.end) return found;
    const code = raw.readUInt16BE(at);
    const len = raw.readUInt16BE(at + 2);
    const body = at + 4;
    if (body + len > opt.end) return found;
    if (code === OPTION_ECS) {
      if (found.kind !== 'none') return { kind: 'malformed', why: 'two client subnet options' };
      found = parseEcs(raw.subarray(body, body + len));
      if (found.kind === 'malformed') return found;
    }
    at = body + len;
  }
  return found;
}

function parseEcs(b: Buffer): EcsRead {
  if (b.length < 4) return { kind: 'malformed', why: `option length ${b.length} is below 4` };
  const family = b.readUInt16BE(0);
  if (family !== 1 && family !== 2) return { kind: 'malformed', why: `family ${family} is neither 1 (IPv4) nor 2 (IPv6)` };
  const size = family === 1 ? 4 : 16;
  const sourceBits = b[2]!;
  const scopeBits = b[3]!;
  if (sourceBits > size * 8) return { kind: 'malformed', why: `source prefix /${sourceBits} is longer than an IPv${family === 1 ? 4 : 6} address` };
  if (scopeBits !== 0) return { kind: 'malformed', why: `scope prefix /${scopeBits} in a query (must be 0)` };
  const address = b.subarray(4);
  const want = Math.ceil(sourceBits / 8);
  if (address.length !== want) return { kind: 'malformed', why: `address of ${address.length} octets for source prefix /${sourceBits} (must be ${want})` };
  const full = new Uint8Array(size);
  full.set(address);
  if (!bitsBeyondClear(full, sourceBits)) return { kind: 'malformed', why: `address bits set beyond source prefix /${sourceBits}` };
  return { kind: 'ecs', ecs: { family, sourceBits, address: Buffer.from(address), full } };
}

/** An option code of the local/experimental range (RFC 6891 §9), which dns2 has no decoder for and skips. */
const HIDDEN_FROM_DNS2 = 0xfffe;

/**
 * `raw` with its ECS options' code changed so that dns2's parser skips
 * them (a copy; `raw` itself when there are none). dns2's own ECS decoder
 * reads IPv6 addresses in 16-bit steps and fails on the odd octet counts
 * RFC 7871 asks for (a /40 sends 5 octets), losing the whole OPT record;
 * failoverd reads the option itself (readEcs) from the original bytes.
 */
export function hideEcsFromDns2(raw: Buffer): Buffer {
  if (raw.length < 12 || raw.readUInt16BE(10) === 0) return raw;
  const msg = readMessage(raw);
  const opt = msg?.records.find((r) => r.section === 'additional' && r.type === TYPE_OPT);
  if (!opt) return raw;
  let copy: Buffer | undefined;
  for (let at = opt.rdata; at + 4 <= opt.end; ) {
    const len = raw.readUInt16BE(at + 2);
    if (raw.readUInt16BE(at) === OPTION_ECS) {
      copy ??= Buffer.from(raw);
      copy.writeUInt16BE(HIDDEN_FROM_DNS2, at);
    }
    at += 4 + len;
  }
  return copy ?? raw;
}
