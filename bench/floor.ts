/**
 * The instruction floor of the fused loss: the same call (every position scored, the gradient into a
 * reused gradOut array) on a few rows whose logits and gradient stay in the CPU caches, repeated. Its
 * effective bandwidth, counted like every case's (2 x rows x vocab x bytes / fastest call), is what the
 * arithmetic allows when memory costs nothing; the memory floor is what the copy bandwidth allows when
 * the arithmetic costs nothing. A case cannot beat the lower of the two.
 */
import { fillLogits, makeLabels, makeRefLogps, toBfloat16, type Shape } from './inputs.js';
import type { Library } from './library.js';
import { measure, type Timing } from './measure.js';

/** Logits bytes of the cache-resident block (the gradient doubles it): inside the L2 + L3 of current server CPUs. */
export const FLOOR_LOGITS_BYTES = 4 << 20;
const FLOOR_ITERATIONS = 200;

export interface InstructionFloor {
  dtype: 'float32' | 'bfloat16';
  shape: Shape; // the cache-resident block
  timing: Timing;
  gbs: number;
}

/** Memory passes of the fused loss over the scored bytes: two reads and one write, against copy's one of each. */
export const MEMORY_FLOOR_OF_COPY = 2 / 3;

export async function measureInstructionFloor(
  lib: Library, vocab: number, dtype: 'float32' | 'bfloat16', threads: number, beta: number, seed: number,
): Promise<InstructionFloor> {
  const bytes = dtype === 'float32' ? 4 : 2;
  const seqLen = Math.max(1, Math.floor(FLOOR_LOGITS_BYTES / (2 * vocab * bytes)));
  const shape: Shape = { pairs: 1, seqLen, vocab };
  const f32 = new Float32Array(2 * seqLen * vocab);
  fillLogits(f32, seed);
  const logits = dtype === 'float32' ? f32 : toBfloat16(f32);
  const labels = makeLabels(shape, 1, seed + 1);
  const input = { logits, dtype, seqLen, vocab, labels, refLogps: makeRefLogps(shape, labels, seed) };
  const gradOut = dtype === 'float32' ? new Float32Array(logits.length) : new Uint16Array(logits.length);
  const options = { beta, grad: 'buffer' as const, gradOut, threads };
  const timing = await measure(`instruction floor ${dtype}`, () => lib.dpoLoss(input, options), {
    iterations: FLOOR_ITERATIONS, warmup: 10, quiet: true,
  });
  // The fastest call, not the median: a floor is what the arithmetic allows, and on a shared machine a
  // sub-millisecond call is often preempted. (Against the cases' medians this errs on the strict side.)
  return { dtype, shape, timing, gbs: (2 * 2 * seqLen * vocab * bytes) / (timing.minMs * 1e6) };
}
