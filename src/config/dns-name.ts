/**
 * Names in failoverd.yaml: one rule for every DNS name (record set names,
 * route53.zone and adopt, secondaries' zones) and one for host names (CNAME
 * targets), so a name that cannot go on the wire is refused at validation.
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import { canonicalName } from '../dns-model/names.ts';
import { nameProblem } from '../zones/name.ts';

/** A DNS name, canonical (lower case, no trailing dot): labels of 1 to 63 octets, at most 255 octets. */
export const dnsNameSchema = z
  .string()
  .min(1)
  .transform(canonicalName)
  .superRefine((name, ctx) => {
    const problem = nameProblem(name);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
  });

const HOST_LABEL = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/i;

/** A host name: labels of letters, digits, hyphens and underscores (RFC 952/1123, plus _ for service names); one trailing dot allowed. */
export function isHostName(s: string): boolean {
  const n = s.endsWith('.') ? s.slice(0, -1) : s;
  return n.length > 0 && n.length <= 253 && n.split('.').every((l) => HOST_LABEL.test(l));
}

/**
 * True when a name reads as an IP address: an IP literal, or a last label
 * of digits (or 0x hex), which resolvers and getaddrinfo take as an IPv4
 * address ("127.1", "10.0.0.1."). Such a name is no host name (RFC 1123 §2.1).
 */
export function readsAsIpAddress(s: string): boolean {
  const n = s.endsWith('.') ? s.slice(0, -1) : s;
  return isIP(n) !== 0 || /(?:^|\.)(?:[0-9]+|0x[0-9a-f]*)$/i.test(n);
}
