import { describe, expect, it } from 'vitest';
import { Rng } from '../../lib/run/rng.js';

describe('Rng', () => {
  it('is deterministic per seed and differs across seeds', () => {
    const a = Array.from({ length: 5 }, ((r) => () => r.nextUint32())(new Rng(42)));
    const b = Array.from({ length: 5 }, ((r) => () => r.nextUint32())(new Rng(42)));
    const c = Array.from({ length: 5 }, ((r) => () => r.nextUint32())(new Rng(43)));
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
  });

  it('continues the same stream from a saved state (JSON round trip)', () => {
    const r = new Rng(9);
    for (let i = 0; i < 17; i++) r.next();
    const saved = JSON.parse(JSON.stringify(r.state()));
    const expected = Array.from({ length: 10 }, () => r.nextUint32());
    const resumed = new Rng(saved);
    expect(Array.from({ length: 10 }, () => resumed.nextUint32())).toEqual(expected);
  });

  it('int(n) stays in range and is close to uniform (chi-square, 9 dof)', () => {
    const r = new Rng(1);
    const counts = new Array(10).fill(0);
    const N = 20000;
    for (let i = 0; i < N; i++) counts[r.int(10)]++;
    const chi = counts.reduce((s, c) => s + (c - N / 10) ** 2 / (N / 10), 0);
    expect(chi).toBeLessThan(27.9); // p = 0.001 critical value for 9 degrees of freedom
  });

  it('shuffle returns a permutation', () => {
    const items = Array.from({ length: 100 }, (_, i) => i);
    const shuffled = new Rng(5).shuffle([...items]);
    expect([...shuffled].sort((a, b) => a - b)).toEqual(items);
    expect(shuffled).not.toEqual(items);
  });

  it('rejects bad seeds and states', () => {
    expect(() => new Rng(1.5)).toThrow(TypeError);
    expect(() => new Rng([1, 2, 3] as unknown as [number, number, number, number])).toThrow(TypeError);
    expect(() => new Rng(0).int(0)).toThrow(RangeError);
  });
});
