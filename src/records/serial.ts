/** SOA serial arithmetic (RFC 1982) for 32-bit serials. */

/** True when serial a is greater than b in RFC 1982 sequence space. */
export function serialGreater(a: number, b: number): boolean {
  a >>>= 0;
  b >>>= 0;
  return a !== b && ((a > b && a - b < 0x80000000) || (a < b && b - a > 0x80000000));
}

/** The serial after `prev`: the zone file's serial if the operator moved it ahead, else prev + 1. */
export function nextSerial(prev: number, fileSerial: number): number {
  if (serialGreater(fileSerial, prev)) return fileSerial >>> 0;
  const n = (prev + 1) >>> 0;
  return n === 0 ? 1 : n;
}
