import { describe, expect, it } from 'vitest';
import { ratio, wilsonInterval } from '../../lib/eval/wilson.js';

describe('wilsonInterval', () => {
  // Newcombe (1998), "Two-sided confidence intervals for the single proportion", Table I, method 3
  // (Wilson score interval without continuity correction), published to 4 decimals.
  it.each([
    [81, 263, 0.2553, 0.3662],
    [15, 148, 0.0624, 0.1605],
    [0, 20, 0.0, 0.1611],
    [1, 29, 0.0061, 0.1718],
  ])('%i/%i matches the published interval', (k, n, low, high) => {
    const [l, h] = wilsonInterval(k, n);
    expect(l).toBeCloseTo(low, 4);
    expect(h).toBeCloseTo(high, 4);
  });

  it('is symmetric: the interval of k/n mirrors that of (n-k)/n', () => {
    const [l, h] = wilsonInterval(3, 11);
    const [l2, h2] = wilsonInterval(8, 11);
    expect(l).toBeCloseTo(1 - h2, 12);
    expect(h).toBeCloseTo(1 - l2, 12);
  });

  it('gives the whole range for no data, and rejects impossible counts', () => {
    expect(wilsonInterval(0, 0)).toEqual([0, 1]);
    expect(() => wilsonInterval(3, 2)).toThrow(RangeError);
    expect(() => wilsonInterval(-1, 2)).toThrow(RangeError);
    expect(() => wilsonInterval(0.5, 2)).toThrow(RangeError);
  });

  it('ratio() carries value, interval, count and n; value null when nothing was judged', () => {
    expect(ratio(1, 4)).toEqual({ value: 0.25, ci95: wilsonInterval(1, 4), count: 1, n: 4 });
    expect(ratio(0, 0).value).toBeNull();
  });
});
