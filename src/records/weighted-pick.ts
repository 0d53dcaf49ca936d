/**
 * The per-query choice for a weighted answer. `random` returns a number in
 * [0, 1) (Math.random in production, a seeded PRNG in tests).
 *
 * Targets with weight > 0 are picked in proportion to their weight; weight-0
 * targets are picked (evenly) only when every weight is 0.
 */

/** The index picked, or -1 for an empty pool. */
export function pickWeightedIndex(weights: readonly number[], random: () => number): number {
  const n = weights.length;
  if (n === 0) return -1;
  let total = 0;
  for (let i = 0; i < n; i++) total += Math.max(0, weights[i] ?? 0);
  if (total <= 0) return Math.min(n - 1, Math.floor(random() * n));
  let r = random() * total;
  let lastPositive = -1;
  for (let i = 0; i < n; i++) {
    const w = Math.max(0, weights[i] ?? 0);
    if (w <= 0) continue;
    lastPositive = i;
    if (r < w) return i;
    r -= w;
  }
  return lastPositive; // float rounding at the top end
}

/** The id picked from `ids` (weights parallel to it), or undefined for an empty pool. */
export function pickWeighted(ids: readonly string[], weights: readonly number[], random: () => number): string | undefined {
  const i = pickWeightedIndex(ids.map((_, k) => weights[k] ?? 0), random);
  return i < 0 ? undefined : ids[i];
}
