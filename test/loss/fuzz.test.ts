/**
 * Fuzz: thousands of random valid and invalid calls into the addon. The oracle is the TypeScript
 * reference: both must throw the same error class for the same argument, or both succeed with the
 * same numbers. The test process surviving is itself the check that nothing reads out of bounds.
 */
import { describe, expect, it } from 'vitest';
import { referenceDpoLoss } from '../../lib/loss/reference.js';
import type { DpoOptions, LogitsDtype } from '../../lib/loss/types.js';
import { cloneInput, cpuBinding, randomBatch, relError, rng } from './helpers.js';

const native = cpuBinding();
const ITERATIONS = 3000;

function outcome(fn: () => { loss: number }): { kind: string; argument?: string; loss?: number } {
  try {
    return { kind: 'ok', loss: fn().loss };
  } catch (err) {
    return { kind: (err as Error).constructor.name, argument: (err as { argument?: string }).argument };
  }
}

describe('fuzz', () => {
  it(`${ITERATIONS} random calls: native and reference agree, the process survives`, () => {
    const rand = rng(20261128);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
    const dtypes: LogitsDtype[] = ['float32', 'bfloat16', 'float16'];
    let valid = 0;
    for (let i = 0; i < ITERATIONS; i++) {
      const dtype = pick(dtypes);
      const pairs = 1 + Math.floor(rand() * 3);
      const seqLen = 1 + Math.floor(rand() * 5);
      const vocab = 1 + Math.floor(rand() * 40);
      const input: any = randomBatch({ pairs, seqLen, vocab, dtype, seed: i, scoredShare: rand() });
      const options: DpoOptions = { beta: pick([0.1, 0.5, 1e-3]), lossType: pick(['sigmoid', 'robust', 'hinge', 'ipo'] as const) };
      switch (Math.floor(rand() * 14)) {
        case 0: input.labels[Math.floor(rand() * input.labels.length)] = pick([vocab, -1, -101, 2 ** 31 - 1, -(2 ** 31)]); break;
        case 1: input.logits = input.logits.subarray(0, Math.floor(rand() * input.logits.length)); break;
        case 2: input.seqLen = pick([0, -1, 1.5, NaN, Infinity, 2 ** 60, seqLen + 1]); break;
        case 3: input.vocab = pick([0, -3, vocab + 1, 2 ** 53, NaN]); break;
        case 4: input.refLogps = pick([new Float32Array(0), new Float32Array(2 * pairs + 1), new Float64Array(2 * pairs)]); break;
        case 5: options.beta = pick([0, -1, NaN, Infinity]); break;
        case 6: options.labelSmoothing = pick([0.5, -0.1, NaN, 0.25]); break;
        case 7: { const r = Math.floor(rand() * input.labels.length); input.logits[r * vocab] = dtype === 'float32' ? NaN : 0x7fc0; break; }
        case 8: input.dtype = pick(['float32', 'bfloat16', 'float16', 'int8', undefined]); break;
        case 9: input.labels = input.labels.subarray(0, input.labels.length - 1); break;
        case 10: options.sftWeight = pick([0.2, -1, 3]); break;
        default: break; // valid
      }
      const a = outcome(() => native.dpoLoss(cloneSafe(input), options));
      const b = outcome(() => referenceDpoLoss(cloneSafe(input), options));
      expect(a.kind, `iteration ${i}: native ${JSON.stringify(a)} vs reference ${JSON.stringify(b)}`).toBe(b.kind);
      if (a.kind === 'ok') {
        valid++;
        expect(relError(a.loss!, b.loss!, 1e-3), `iteration ${i}`).toBeLessThanOrEqual(1e-5);
      } else {
        expect(a.argument, `iteration ${i}`).toBeTruthy();
      }
    }
    expect(valid).toBeGreaterThan(ITERATIONS / 10);
    expect(valid).toBeLessThan(ITERATIONS);
  });
});

function cloneSafe(input: any): any {
  try {
    return cloneInput(input);
  } catch {
    return { ...input };
  }
}
