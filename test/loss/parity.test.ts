/**
 * Parity of the native CPU kernels (every instruction set this machine has) with the float64
 * TypeScript reference: log-probs, loss, statistics and gradient, for every dtype and loss type,
 * awkward shapes and options at their limits.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { decode } from '../../lib/loss/dtype.js';
import { referenceDpoLoss, referenceSequenceLogprobs, referenceTokenLogprobs } from '../../lib/loss/reference.js';
import type { DpoOptions, LogitsDtype, LossType } from '../../lib/loss/types.js';
import { availableSimdLevels, cloneInput, cpuBinding, maxRelError, normRatio, randomBatch, relError, type BatchSpec } from './helpers.js';

const native = cpuBinding();
const simdLevels = availableSimdLevels(native);
afterAll(() => native.selectSimd('auto'));

const dtypes: LogitsDtype[] = ['float32', 'bfloat16', 'float16'];
const lossTypes: LossType[] = ['sigmoid', 'robust', 'hinge', 'ipo'];
const gradTolerance = (dtype: LogitsDtype) => (dtype === 'float32' ? 1e-5 : 1e-2);

const shapes: Array<Omit<BatchSpec, 'dtype' | 'seed'> & { name: string }> = [
  { name: 'one pair, seqLen 1, vocab 1', pairs: 1, seqLen: 1, vocab: 1, scoredShare: 1 },
  { name: 'vocab 7 (below a vector)', pairs: 2, seqLen: 3, vocab: 7 },
  { name: 'vocab 33 (odd tail)', pairs: 3, seqLen: 9, vocab: 33, scoredShare: 0.3 },
  { name: 'vocab 2049 (block + 1)', pairs: 2, seqLen: 4, vocab: 2049, rising: true },
  { name: 'vocab 5003, rising rows', pairs: 1, seqLen: 6, vocab: 5003, rising: true, scoredShare: 0.7 },
  { name: 'mostly unscored rows', pairs: 2, seqLen: 16, vocab: 100, scoredShare: 0.07 },
  { name: 'wide logits (scale 40)', pairs: 2, seqLen: 5, vocab: 257, scale: 40 },
];

function checkAgainstReference(spec: BatchSpec, options: DpoOptions) {
  const input = randomBatch(spec);
  const expected = referenceDpoLoss(cloneInput(input), { ...options, grad: 'buffer' });
  const actual = native.dpoLoss(cloneInput(input), { ...options, grad: 'buffer' });
  const where = `${JSON.stringify(spec)} ${JSON.stringify(options)}`;
  expect(relError(actual.loss, expected.loss, 1e-3), `loss ${where}`).toBeLessThanOrEqual(1e-5);
  expect(maxRelError(actual.chosenLogps, expected.chosenLogps), `chosenLogps ${where}`).toBeLessThanOrEqual(1e-5);
  expect(maxRelError(actual.rejectedLogps, expected.rejectedLogps), `rejectedLogps ${where}`).toBeLessThanOrEqual(1e-5);
  expect(maxRelError(actual.margins, expected.margins, 1e-3), `margins ${where}`).toBeLessThanOrEqual(1e-4);
  expect(actual.accuracy).toBe(expected.accuracy);
  const g = decode(actual.gradLogits!, spec.dtype);
  const ref = decode(expected.gradLogits!, spec.dtype);
  expect(normRatio(g, ref), `gradient ${where}`).toBeLessThanOrEqual(gradTolerance(spec.dtype));
  // Unscored rows are exactly zero.
  for (let r = 0; r < input.labels.length; r++) {
    if (input.labels[r] !== -100) continue;
    for (let j = 0; j < spec.vocab; j++) if (g[r * spec.vocab + j] !== 0) throw new Error(`unscored row ${r} has a nonzero gradient (${where})`);
  }
}

describe.each(simdLevels)('native CPU kernels (%s) vs float64 reference', (simd) => {
  it.each(dtypes)('log-probs, %s', (dtype) => {
    native.selectSimd(simd);
    for (const [k, shape] of shapes.entries()) {
      const input = randomBatch({ ...shape, dtype, seed: 100 + k });
      const tokens = native.tokenLogprobs(input);
      const refTokens = referenceTokenLogprobs(input);
      expect(maxRelError(tokens, refTokens), shape.name).toBeLessThanOrEqual(1e-5);
      for (let r = 0; r < input.labels.length; r++) if (input.labels[r] === -100) expect(tokens[r]).toBe(0);
      expect(maxRelError(native.sequenceLogprobs(input), referenceSequenceLogprobs(input)), shape.name).toBeLessThanOrEqual(1e-5);
    }
  });

  it.each(dtypes)('dpoLoss, every loss type and shape, %s', (dtype) => {
    native.selectSimd(simd);
    for (const [k, shape] of shapes.entries())
      for (const lossType of lossTypes) checkAgainstReference({ ...shape, dtype, seed: 7 * k + lossTypes.indexOf(lossType) }, { lossType, beta: 0.1 });
  });

  it('options at their limits', () => {
    native.selectSimd(simd);
    const spec: BatchSpec = { pairs: 3, seqLen: 6, vocab: 71, dtype: 'float32', seed: 99 };
    const limits: DpoOptions[] = [
      { beta: 1e-6 },
      { beta: 50 },
      { labelSmoothing: 0.49, lossType: 'sigmoid' },
      { labelSmoothing: 0.49, lossType: 'robust' },
      { labelSmoothing: 0.25, lossType: 'robust', sftWeight: 0.2 },
      { sftWeight: 0.2 },
      { sftWeight: 5, lossType: 'ipo', beta: 0.05 },
      { threads: 1 },
      { threads: 7 },
    ];
    for (const options of limits) checkAgainstReference(spec, options);
  });
});

describe('native CPU gradient modes and determinism', () => {
  it('inplace writes the gradient over the logits (zeros on unscored rows) and returns that array', () => {
    for (const dtype of dtypes) {
      const input = randomBatch({ pairs: 2, seqLen: 8, vocab: 300, dtype, seed: 5, scoredShare: 0.4 });
      const buffered = native.dpoLoss(cloneInput(input), { grad: 'buffer' });
      const target = cloneInput(input);
      const inplace = native.dpoLoss(target, { grad: 'inplace' });
      expect(inplace.gradLogits).toBe(target.logits);
      expect(Array.from(inplace.gradLogits!)).toEqual(Array.from(buffered.gradLogits!));
      expect(inplace.loss).toBe(buffered.loss);
    }
  });

  it("grad 'none' returns the same statistics and no gradient", () => {
    const input = randomBatch({ pairs: 2, seqLen: 4, vocab: 50, dtype: 'float32', seed: 6 });
    const full = native.dpoLoss(cloneInput(input));
    const none = native.dpoLoss(cloneInput(input), { grad: 'none' });
    expect(none.gradLogits).toBeUndefined();
    expect(none.loss).toBe(full.loss);
    expect(Array.from(none.margins)).toEqual(Array.from(full.margins));
  });

  it('results do not depend on the thread count, and the async call matches the sync one', async () => {
    const input = randomBatch({ pairs: 3, seqLen: 12, vocab: 3001, dtype: 'bfloat16', seed: 8 });
    const one = native.dpoLoss(cloneInput(input), { threads: 1 });
    const many = native.dpoLoss(cloneInput(input), { threads: 4 });
    const later = await native.dpoLossAsync(cloneInput(input), { threads: 2 });
    for (const other of [many, later]) {
      expect(other.loss).toBe(one.loss);
      expect(Array.from(other.gradLogits!)).toEqual(Array.from(one.gradLogits!));
    }
  });

  it('large rows with streamed stores (gradient buffer over 64 MB) match the reference', () => {
    // 2 pairs x 32 positions x 128256 vocab float32 = 65.7 MB, only 6 rows scored: streaming path, cheap reference.
    const vocab = 128256;
    const seqLen = 32;
    const spec: BatchSpec = { pairs: 2, seqLen, vocab, dtype: 'float32', seed: 11, scoredShare: 0.05 };
    const input = randomBatch(spec);
    const expected = referenceDpoLoss(cloneInput(input));
    const actual = native.dpoLoss(cloneInput(input));
    expect(relError(actual.loss, expected.loss)).toBeLessThanOrEqual(1e-5);
    expect(normRatio(actual.gradLogits!, expected.gradLogits!)).toBeLessThanOrEqual(1e-5);
    // The same into a poisoned, reused buffer: unscored rows are zero-filled with streaming stores.
    const gradOut = new Float32Array(input.logits.length).fill(-7);
    native.dpoLoss(input, { gradOut });
    expect(normRatio(gradOut, expected.gradLogits!)).toBeLessThanOrEqual(1e-5);
    expect(gradOut.some((v) => v === -7)).toBe(false);
  });

  it('a NaN in an unscored row is ignored; its gradient row is zero', () => {
    const input = randomBatch({ pairs: 1, seqLen: 4, vocab: 20, dtype: 'float32', seed: 12, scoredShare: 0.5 });
    const row = Array.from(input.labels).findIndex((l) => l === -100);
    (input.logits as Float32Array).fill(NaN, row * 20, row * 20 + 20);
    const result = native.dpoLoss(input);
    expect(Number.isFinite(result.loss)).toBe(true);
    expect(Array.from(result.gradLogits!.subarray(row * 20, row * 20 + 20))).toEqual(new Array(20).fill(0));
  });
});

describe('gradOut: a caller-owned gradient buffer', () => {
  it('a poisoned reused buffer gets exactly the buffered gradient, unscored rows zeroed', () => {
    for (const dtype of dtypes) {
      const input = randomBatch({ pairs: 2, seqLen: 8, vocab: 300, dtype, seed: 21, scoredShare: 0.4 });
      const expected = native.dpoLoss(cloneInput(input));
      const out = dtype === 'float32' ? new Float32Array(input.logits.length).fill(123) : new Uint16Array(input.logits.length).fill(0x4000);
      for (const backend of [native.dpoLoss, referenceDpoLoss]) {
        out.fill(dtype === 'float32' ? 123 : 0x4000);
        const result = backend(cloneInput(input), { gradOut: out });
        expect(result.gradLogits).toBe(out);
        const got = decode(out, dtype);
        const want = decode(expected.gradLogits!, dtype);
        expect(normRatio(got, want)).toBeLessThanOrEqual(gradTolerance(dtype));
        for (let r = 0; r < input.labels.length; r++)
          if (input.labels[r] === -100) for (let j = 0; j < 300; j++) expect(got[r * 300 + j]).toBe(0);
      }
    }
  });

  it('rejects a mismatched, overlapping or misplaced gradOut, naming it', () => {
    const input = randomBatch({ pairs: 1, seqLen: 4, vocab: 10, dtype: 'float32', seed: 22 });
    const shared = new Float32Array(input.logits.length * 2);
    shared.set(input.logits);
    const overlapping = { ...input, logits: shared.subarray(0, input.logits.length) };
    const bad: Array<[object, object, typeof TypeError | typeof RangeError]> = [
      [input, { gradOut: new Uint16Array(input.logits.length) }, TypeError],
      [input, { gradOut: new Float32Array(3) }, RangeError],
      [input, { gradOut: new Float32Array(input.logits.length), grad: 'inplace' }, TypeError],
      [overlapping, { gradOut: shared.subarray(5, 5 + input.logits.length) }, RangeError],
    ];
    for (const [x, options, ErrorClass] of bad)
      for (const backend of [native.dpoLoss, referenceDpoLoss]) {
        // Not cloned: the overlap case needs the shared buffer; every case throws before writing.
        let error: unknown;
        try {
          backend(x as never, options);
        } catch (err) {
          error = err;
        }
        expect(error).toBeInstanceOf(ErrorClass);
        expect((error as { argument?: string }).argument).toBe('gradOut');
      }
  });
});

describe('concurrent calls', () => {
  it('many dpoLossAsync calls in flight at once (and a sync call among them) give the sync results', async () => {
    const inputs = [0, 1, 2, 3, 4, 5].map((k) => randomBatch({ pairs: 2, seqLen: 16, vocab: 4000 + k, dtype: k % 2 ? 'bfloat16' : 'float32', seed: 300 + k }));
    const expected = inputs.map((x) => native.dpoLoss(cloneInput(x)));
    const pending = inputs.map((x) => native.dpoLossAsync(cloneInput(x), { threads: 2 }));
    const syncAgain = native.dpoLoss(cloneInput(inputs[0]));
    const results = await Promise.all(pending);
    expect(syncAgain.loss).toBe(expected[0].loss);
    results.forEach((r, k) => {
      expect(r.loss).toBe(expected[k].loss);
      expect(Array.from(r.gradLogits!)).toEqual(Array.from(expected[k].gradLogits!));
    });
  });
});
