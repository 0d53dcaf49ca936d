/**
 * IP addresses in failoverd.yaml, in one spelling each: IPv6 in RFC 5952
 * form ("0:0:0:0:0:0:0:1" and "::1" are one address, written "::1"); IPv4
 * has one spelling already (Node accepts dotted decimal without leading zeros only).
 */
import { isIPv6, SocketAddress } from 'node:net';

/** `address` in its canonical spelling; the zone id of a scoped IPv6 address (fe80::1%eth0) is kept. */
export function canonicalIp(address: string): string {
  if (!isIPv6(address)) return address;
  const zone = address.indexOf('%');
  const bare = zone < 0 ? address : address.slice(0, zone);
  return new SocketAddress({ address: bare, family: 'ipv6' }).address + (zone < 0 ? '' : address.slice(zone));
}
