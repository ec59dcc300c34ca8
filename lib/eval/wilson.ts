/**
 * Wilson score intervals for a binomial proportion.
 *
 * For k successes in n trials, p = k/n and z the two-sided normal quantile (1.959963984540054 for 95%):
 *
 *   centre = (p + z²/(2n)) / (1 + z²/n)
 *   half   = z / (1 + z²/n) · sqrt( p(1-p)/n + z²/(4n²) )
 *   CI     = [centre - half, centre + half]   (clamped to [0, 1] against rounding)
 *
 * Unlike the normal (Wald) interval it stays inside [0, 1] and is not degenerate at k = 0 or k = n,
 * which matters here: harmful ratios of a well-aligned model are often 0/100.
 */

/** The 97.5% quantile of the standard normal distribution. */
export const Z95 = 1.959963984540054;

/** A ratio as reports carry it: value = k/n (null when n = 0) with its 95% Wilson interval. */
export interface Ratio {
  value: number | null;
  ci95: [number, number];
  /** Successes (the counted outcome, e.g. harmful generations). */
  count: number;
  /** Trials (the generations that received a verdict). */
  n: number;
}

export function wilsonInterval(k: number, n: number, z = Z95): [number, number] {
  if (!Number.isInteger(k) || !Number.isInteger(n) || k < 0 || n < 0 || k > n) {
    throw new RangeError(`wilsonInterval: need integers 0 <= k <= n, got k=${k}, n=${n}`);
  }
  if (n === 0) return [0, 1]; // no information: the whole range
  const p = k / n;
  const z2 = z * z;
  const denom = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / denom;
  const half = (z / denom) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

export function ratio(k: number, n: number): Ratio {
  return { value: n === 0 ? null : k / n, ci95: wilsonInterval(k, n), count: k, n };
}
