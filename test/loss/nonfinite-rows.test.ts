/**
 * The vector kernels find NaN and infinities without a per-element check: an infinity shows in the block's
 * max or min, a NaN makes the block's sum of exponentials NaN. Each of NaN, +Infinity and -Infinity, at
 * every kind of place in a row (the two-vector unrolled loop, the one-vector tail, the scalar tail, the
 * first and a later 2048-element block), in float32 and bfloat16, with every instruction set this machine
 * has, must fail the call with a RangeError naming the row; and the same row without it must not.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { availableSimdLevels, cpuBinding, randomBatch } from './helpers.js';

const native = cpuBinding();
const simdLevels = availableSimdLevels(native);
afterAll(() => native.selectSimd('auto'));

const vocab = 2 * 2048 + 16 + 8 + 5; // two full blocks, then a 16-wide pair, one 8-wide vector and a scalar tail
const positions = [0, 17, 47, 2047, 2048 + 31, 4096, 4096 + 20, 4096 + 27, vocab - 1];
const bad = { NaN: [NaN, 0x7fc0], '+Infinity': [Infinity, 0x7f80], '-Infinity': [-Infinity, 0xff80] } as const;

describe.each(simdLevels)('non-finite logits in long rows (%s)', (simd) => {
  it.each(['float32', 'bfloat16'] as const)('%s: every place in the row is checked', (dtype) => {
    native.selectSimd(simd);
    const batch = randomBatch({ pairs: 1, seqLen: 2, vocab, dtype, seed: 11, scoredShare: 1 });
    expect(() => native.dpoLoss(batch, { beta: 0.1, grad: 'none' })).not.toThrow();
    const row = 3; // sequence 1, position 1
    for (const [name, [f32, bf16]] of Object.entries(bad)) {
      for (const pos of positions) {
        const logits = batch.logits.slice();
        logits[row * vocab + pos] = dtype === 'float32' ? f32 : bf16;
        let error: unknown;
        try {
          native.dpoLoss({ ...batch, logits }, { beta: 0.1, grad: 'none' });
        } catch (e) {
          error = e;
        }
        expect(error, `${name} at ${pos}`).toBeInstanceOf(RangeError);
        expect(error, `${name} at ${pos}`).toMatchObject({ argument: 'logits', sequence: 1, position: 1 });
      }
    }
  });
});
