/**
 * The per-query choice for a weighted answer. `random` returns a number in
 * [0, 1) (Math.random in production, a seeded PRNG in tests).
 *
 * Targets with weight > 0 are picked in proportion to their weight; weight-0
 * targets are picked (evenly) only when every weight is 0. Returns undefined
 * for an empty pool.
 */
export function pickWeighted(ids: readonly string[], weights: readonly number[], random: () => number): string | undefined {
  if (ids.length === 0) return undefined;
  let total = 0;
  for (let i = 0; i < ids.length; i++) total += Math.max(0, weights[i] ?? 0);
  if (total <= 0) return ids[Math.min(ids.length - 1, Math.floor(random() * ids.length))];
  let r = random() * total;
  let lastPositive = -1;
  for (let i = 0; i < ids.length; i++) {
    const w = Math.max(0, weights[i] ?? 0);
    if (w <= 0) continue;
    lastPositive = i;
    if (r < w) return ids[i];
    r -= w;
  }
  return ids[lastPositive]; // float rounding at the top end
}
