/**
 * Bad input: every case gets a TypeError or RangeError naming the argument, from the native addon and
 * from the TypeScript reference alike, and never a crash.
 */
import { describe, expect, it } from 'vitest';
import { referenceDpoLoss, referenceSequenceLogprobs, referenceTokenLogprobs } from '../../lib/loss/reference.js';
import type { DpoInput, DpoOptions } from '../../lib/loss/types.js';
import { cloneInput, cpuBinding, randomBatch } from './helpers.js';

const native = cpuBinding();
const base = () => randomBatch({ pairs: 2, seqLen: 4, vocab: 10, dtype: 'float32', seed: 1, scoredShare: 0.5 });

type Case = [name: string, make: () => [any, DpoOptions?], error: typeof TypeError | typeof RangeError, argument: string];

const cases: Case[] = [
  ['input not an object', () => [42], TypeError, 'input'],
  ['logits a plain array', () => [{ ...base(), logits: [1, 2, 3] }], TypeError, 'logits'],
  ['logits a Float64Array', () => [{ ...base(), logits: new Float64Array(160) }], TypeError, 'logits'],
  ['Uint16Array without dtype', () => [{ ...base(), dtype: undefined, logits: new Uint16Array(160) }], TypeError, 'dtype'],
  ['Uint16Array with dtype float32', () => [{ ...base(), logits: new Uint16Array(160), dtype: 'float32' }], TypeError, 'logits'],
  ['Float32Array with dtype bfloat16', () => [{ ...base(), dtype: 'bfloat16' }], TypeError, 'logits'],
  ['unknown dtype', () => [{ ...base(), dtype: 'float8' }], TypeError, 'dtype'],
  ['seqLen 0', () => [{ ...base(), seqLen: 0 }], RangeError, 'seqLen'],
  ['seqLen fractional', () => [{ ...base(), seqLen: 2.5 }], RangeError, 'seqLen'],
  ['seqLen a string', () => [{ ...base(), seqLen: '4' }], TypeError, 'seqLen'],
  ['vocab negative', () => [{ ...base(), vocab: -10 }], RangeError, 'vocab'],
  ['labels an Array', () => [{ ...base(), labels: [1, 2] }], TypeError, 'labels'],
  ['labels not a multiple of seqLen', () => [{ ...base(), labels: new Int32Array(15) }], RangeError, 'labels'],
  ['logits too short', () => [{ ...base(), logits: new Float32Array(159) }], RangeError, 'logits'],
  ['logits too long', () => [{ ...base(), logits: new Float32Array(161) }], RangeError, 'logits'],
  ['size product overflows', () => [{ ...base(), vocab: 2 ** 52 }], RangeError, 'logits'],
  ['label == vocab', () => { const b = base(); b.labels[b.labels.findIndex((l) => l !== -100)] = 10; return [b]; }, RangeError, 'labels'],
  ['label -1', () => { const b = base(); b.labels[0] = -1; return [b]; }, RangeError, 'labels'],
  ['refLogps wrong length', () => [{ ...base(), refLogps: new Float32Array(3) }], RangeError, 'refLogps'],
  ['refLogps a Float64Array', () => [{ ...base(), refLogps: new Float64Array(4) }], TypeError, 'refLogps'],
  ['refLogps NaN', () => { const b = base(); b.refLogps[2] = NaN; return [b]; }, RangeError, 'refLogps'],
  ['odd number of sequences', () => { const b = base(); return [{ ...b, logits: b.logits.subarray(0, 120), labels: b.labels.subarray(0, 12), refLogps: b.refLogps.subarray(0, 3) }]; }, RangeError, 'labels'],
  ['a sequence with no scored token', () => { const b = base(); b.labels.fill(-100, 4, 8); return [b]; }, RangeError, 'labels'],
  ['beta 0', () => [base(), { beta: 0 }], RangeError, 'beta'],
  ['beta negative', () => [base(), { beta: -0.1 }], RangeError, 'beta'],
  ['beta NaN', () => [base(), { beta: NaN }], RangeError, 'beta'],
  ['beta a string', () => [base(), { beta: '0.1' as never }], TypeError, 'beta'],
  ['labelSmoothing 0.5', () => [base(), { labelSmoothing: 0.5 }], RangeError, 'labelSmoothing'],
  ['labelSmoothing negative', () => [base(), { labelSmoothing: -0.01 }], RangeError, 'labelSmoothing'],
  ['sftWeight negative', () => [base(), { sftWeight: -1 }], RangeError, 'sftWeight'],
  ['unknown lossType', () => [base(), { lossType: 'kto' as never }], TypeError, 'lossType'],
  ['unknown grad mode', () => [base(), { grad: 'copy' as never }], TypeError, 'grad'],
  ['threads fractional', () => [base(), { threads: 1.5 }], RangeError, 'threads'],
  ['NaN in a scored row', () => { const b = base(); const r = b.labels.findIndex((l) => l !== -100); (b.logits as Float32Array)[r * 10 + 3] = NaN; return [b]; }, RangeError, 'logits'],
  ['+Infinity in a scored row', () => { const b = base(); const r = b.labels.findLastIndex((l) => l !== -100); (b.logits as Float32Array)[r * 10] = Infinity; return [b]; }, RangeError, 'logits'],
];

function argumentOf(fn: () => unknown): { error: unknown } {
  try {
    fn();
  } catch (error) {
    return { error };
  }
  return { error: undefined };
}

describe('bad input to dpoLoss', () => {
  it.each(cases)('%s', (_name, make, ErrorClass, argument) => {
    const [input, options] = make();
    for (const [backend, fn] of [
      ['native', () => native.dpoLoss(input, options)],
      ['reference', () => referenceDpoLoss(input as DpoInput, options)],
    ] as const) {
      const { error } = argumentOf(fn);
      expect(error, `${backend} did not throw`).toBeInstanceOf(ErrorClass);
      const message = (error as Error).message;
      expect((error as { argument?: string }).argument ?? message, `${backend}: ${message}`).toContain(argument);
      expect(message.length).toBeGreaterThan(10);
    }
  });

  it('reports the first non-finite sequence and position', () => {
    const b = base();
    const scored = Array.from(b.labels.keys()).filter((r) => b.labels[r] !== -100);
    const row = scored[5];
    (b.logits as Float32Array)[row * 10 + 9] = NaN;
    (b.logits as Float32Array)[scored[6] * 10] = NaN;
    for (const fn of [() => native.dpoLoss(cloneInput(b)), () => referenceDpoLoss(cloneInput(b))]) {
      const { error } = argumentOf(fn);
      expect(error).toMatchObject({ sequence: Math.floor(row / 4), position: row % 4 });
      expect((error as Error).message).toContain(`sequence ${Math.floor(row / 4)}, position ${row % 4}`);
    }
  });

  it('a failed in-place call leaves the logits untouched', () => {
    const b = base();
    const r = b.labels.findLastIndex((l) => l !== -100);
    (b.logits as Float32Array)[r * 10 + 1] = NaN;
    const before = Array.from(b.logits);
    expect(() => native.dpoLoss(b, { grad: 'inplace' })).toThrow(RangeError);
    expect(Array.from(b.logits)).toEqual(before);
  });

  it('the async form rejects with the same error', async () => {
    await expect(native.dpoLossAsync(base(), { beta: -1 })).rejects.toBeInstanceOf(RangeError);
    await expect(native.dpoLossAsync({ ...base(), labels: new Int32Array(3) } as DpoInput)).rejects.toBeInstanceOf(RangeError);
    const b = base();
    b.labels[0] = 99;
    await expect(native.dpoLossAsync(b)).rejects.toMatchObject({ argument: 'labels' });
  });
});

describe('bad input to the log-prob functions', () => {
  it('tokenLogprobs and sequenceLogprobs validate like dpoLoss', () => {
    const bad = { ...base(), labels: new Int32Array(16).fill(10) };
    for (const fn of [native.tokenLogprobs, native.sequenceLogprobs, referenceTokenLogprobs, referenceSequenceLogprobs])
      expect(() => fn(bad)).toThrow(RangeError);
    for (const fn of [native.tokenLogprobs, native.sequenceLogprobs, referenceTokenLogprobs, referenceSequenceLogprobs])
      expect(() => fn({ ...base(), logits: new Float32Array(3) })).toThrow(RangeError);
  });

  it('an odd number of sequences or unscored sequences are fine outside DPO', () => {
    const b = base();
    const three = { ...b, logits: b.logits.subarray(0, 120), labels: b.labels.slice(0, 12).fill(-100, 0, 4) };
    const sums = native.sequenceLogprobs(three);
    expect(sums[0]).toBe(0);
    expect(Array.from(sums)).toEqual(Array.from(referenceSequenceLogprobs(three)).map((v) => Math.fround(v)));
  });
});
