/**
 * The gradient-buffer cache behind grad 'buffer' (native/cpu/grad_pool.h), through the public
 * binding: a recycled array must give exactly what a fresh one gives (the float64 reference's
 * gradient, exact zeros on unscored rows) whatever the caller wrote into it and whichever rows
 * earlier calls scored; arrays still referenced are never handed out again.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { decode } from '../../lib/loss/dtype.js';
import { referenceDpoLoss } from '../../lib/loss/reference.js';
import { cpuBinding, normRatio, randomBatch, rng } from './helpers.js';

const native = cpuBinding();
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Collects dropped gradient arrays and lets their finalizers (queued on the event loop) run. */
async function releaseDropped(): Promise<void> {
  for (let i = 0; i < 4; i++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
}

function checkAgainstReference(input: ReturnType<typeof randomBatch>, grad: Float32Array, beta: number): void {
  const ref = referenceDpoLoss(input, { beta, grad: 'buffer' });
  const expected = ref.gradLogits as Float64Array | Float32Array;
  expect(normRatio(grad, expected)).toBeLessThan(1e-5);
  const rows = input.labels.length;
  for (let r = 0; r < rows; r++) {
    if (input.labels[r] !== -100) continue;
    const row = grad.subarray(r * input.vocab, (r + 1) * input.vocab);
    expect(row.every((v) => v === 0)).toBe(true);
  }
}

describe.runIf(process.platform === 'linux')('gradient buffer cache', () => {
  it('recycles dropped arrays, and a recycled array is exact whatever was written into it', async () => {
    const base = randomBatch({ pairs: 2, seqLen: 24, vocab: 3001, dtype: 'float32', scoredShare: 1, seed: 11 });
    const all = base.labels.slice();
    const rand = rng(5);
    await releaseDropped();
    const before = native.gradientCacheInfo();
    for (let round = 0; round < 12; round++) {
      // A new scored segment per sequence every 3 rounds, so pages pass through every state.
      if (round % 3 === 0) {
        base.labels.fill(-100);
        for (let s = 0; s < 4; s++) {
          const from = Math.floor(rand() * 24);
          const to = from + 1 + Math.floor(rand() * (24 - from));
          for (let t = from; t < to; t++) base.labels[s * 24 + t] = all[s * 24 + t];
        }
      }
      const result = native.dpoLoss(base, { beta: 0.1 });
      const grad = result.gradLogits as Float32Array;
      checkAgainstReference(base, grad, 0.1);
      grad.fill(round + 0.5); // the caller scribbles over all of it, unscored rows included, then drops it
      await releaseDropped();
    }
    const after = native.gradientCacheInfo();
    expect(after.hits - before.hits).toBeGreaterThanOrEqual(10);
    expect(after.liveBuffers).toBeLessThanOrEqual(before.liveBuffers + 1); // the last array may still be reachable
  });

  it('never hands out an array that is still referenced', async () => {
    const input = randomBatch({ pairs: 1, seqLen: 16, vocab: 2049, dtype: 'float32', scoredShare: 0.5, seed: 3 });
    await releaseDropped();
    const held = [native.dpoLoss(input, { beta: 0.2 }), native.dpoLoss(input, { beta: 0.3 })];
    const copies = held.map((r) => (r.gradLogits as Float32Array).slice());
    for (let i = 0; i < 4; i++) {
      native.dpoLoss(input, { beta: 0.1 + i }); // dropped at once: its buffer may be recycled
      await releaseDropped();
      const kept = await native.dpoLossAsync(input, { beta: 0.4 });
      expect(kept.gradLogits!.buffer).not.toBe(held[0].gradLogits!.buffer);
      expect(kept.gradLogits!.buffer).not.toBe(held[1].gradLogits!.buffer);
    }
    held.forEach((r, i) => expect(r.gradLogits).toEqual(copies[i]));
  });

  it('gives a previous result\'s array passed as gradOut the same treatment', () => {
    const input = randomBatch({ pairs: 1, seqLen: 30, vocab: 2500, dtype: 'float32', scoredShare: 0.8, seed: 21 });
    const gradOut = native.dpoLoss(input, { beta: 0.1 }).gradLogits as Float32Array;
    for (const share of [0.2, 0.6, 0.1]) {
      const next = randomBatch({ pairs: 1, seqLen: 30, vocab: 2500, dtype: 'float32', scoredShare: share, seed: 22 });
      gradOut.fill(-3);
      const result = native.dpoLoss(next, { beta: 0.1, gradOut });
      expect(result.gradLogits).toBe(gradOut);
      checkAgainstReference(next, gradOut, 0.1);
    }
  });

  it('serves bfloat16 gradients from the same cache, exact on unscored rows', async () => {
    const input = randomBatch({ pairs: 1, seqLen: 20, vocab: 4099, dtype: 'bfloat16', scoredShare: 0.3, seed: 8 });
    for (let round = 0; round < 3; round++) {
      const grad = native.dpoLoss(input, { beta: 0.1 }).gradLogits as Uint16Array;
      const expected = referenceDpoLoss(input, { beta: 0.1, grad: 'buffer' }).gradLogits as Uint16Array;
      expect(normRatio(decode(grad, 'bfloat16'), decode(expected, 'bfloat16'))).toBeLessThan(1e-2);
      for (let r = 0; r < input.labels.length; r++)
        if (input.labels[r] === -100) expect(grad.subarray(r * 4099, (r + 1) * 4099).every((v) => v === 0)).toBe(true);
      grad.fill(0x4000);
      await releaseDropped();
    }
  });

  it('takes the buffer back when a call fails inside the kernel', async () => {
    const bad = randomBatch({ pairs: 1, seqLen: 10, vocab: 3000, dtype: 'float32', scoredShare: 1, seed: 4 });
    bad.labels[7] = 3000; // out of range: caught by the core, after the gradient buffer was taken
    await releaseDropped();
    const before = native.gradientCacheInfo();
    for (let i = 0; i < 6; i++) {
      expect(() => native.dpoLoss(bad)).toThrow(RangeError);
      await expect(native.dpoLossAsync(bad)).rejects.toThrow(RangeError);
    }
    const after = native.gradientCacheInfo();
    expect(after.hits + after.misses - before.hits - before.misses).toBe(12); // every call did take one
    expect(after.liveBuffers).toBe(before.liveBuffers);
    expect(after.refused).toBe(before.refused);
  });

  it('trims idle buffers back to the OS', async () => {
    const input = randomBatch({ pairs: 1, seqLen: 8, vocab: 1000, dtype: 'float32', seed: 2 });
    native.dpoLoss(input);
    await releaseDropped();
    expect(native.gradientCacheInfo().idleBuffers).toBeGreaterThan(0);
    expect(native.trimGradientCache()).toBeGreaterThan(0);
    const info = native.gradientCacheInfo();
    expect(info.idleBuffers).toBe(0);
    expect(info.idleBytes).toBe(0);
  });
});
