/** Matches an HTTP status against check.expect.status entries like "200" or "200-399". */
export function statusMatches(status: number, ranges: readonly string[]): boolean {
  for (const r of ranges) {
    const [lo, hi = lo] = r.split('-', 2).map(Number);
    if (lo !== undefined && hi !== undefined && status >= lo && status <= hi) return true;
  }
  return false;
}
