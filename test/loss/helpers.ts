/** Random DPO batches and comparison helpers for the loss parity suites. */
import { encode } from '../../lib/loss/dtype.js';
import { resolveBackend, type NativeBinding } from '../../lib/loss/native.js';
import type { DpoInput, LogitsDtype } from '../../lib/loss/types.js';

/** The CPU addon, or a thrown error: these suites must never pass by silently testing the fallback. */
export function cpuBinding(): NativeBinding {
  const loaded = resolveBackend({ ...process.env, IPO_BACKEND: 'cpu' });
  if (!loaded.binding) throw new Error('the CPU addon did not load');
  if (process.env.IPO_ADDON_PATH) console.info(`testing the addon at ${loaded.path}`);
  return loaded.binding;
}

/** mulberry32: small, seedable, good enough for test data. */
/** The instruction sets this CPU can run the row kernels with (every one the addon knows), in a fixed order. */
export function availableSimdLevels(native: NativeBinding): string[] {
  return ['scalar', 'avx2', 'avx512', 'neon'].filter((name) => {
    try {
      native.selectSimd(name);
      return true;
    } catch {
      return false;
    }
  });
}

export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface BatchSpec {
  pairs: number;
  seqLen: number;
  vocab: number;
  dtype: LogitsDtype;
  /** Share of positions scored per sequence (a contiguous segment, like IPO's divergent part). */
  scoredShare?: number;
  /** Sequences whose rows are all unscored are not allowed in DPO; rows can be. */
  scale?: number;
  seed: number;
  /** Logits that climb along the row, so the blockwise running max is rescaled many times. */
  rising?: boolean;
}

export function randomBatch(spec: BatchSpec): DpoInput & { dtype: LogitsDtype } {
  const rand = rng(spec.seed);
  const sequences = 2 * spec.pairs;
  const n = sequences * spec.seqLen * spec.vocab;
  const values = new Float64Array(n);
  const scale = spec.scale ?? 3;
  for (let i = 0; i < n; i++) {
    const j = i % spec.vocab;
    values[i] = (rand() * 2 - 1) * scale + (spec.rising ? (8 * j) / spec.vocab : 0);
  }
  const labels = new Int32Array(sequences * spec.seqLen).fill(-100);
  const share = spec.scoredShare ?? 0.5;
  for (let s = 0; s < sequences; s++) {
    const len = Math.max(1, Math.round(share * spec.seqLen));
    const start = Math.floor(rand() * (spec.seqLen - len + 1));
    for (let t = start; t < start + len; t++) labels[s * spec.seqLen + t] = Math.floor(rand() * spec.vocab);
  }
  const refLogps = new Float32Array(sequences);
  for (let s = 0; s < sequences; s++) refLogps[s] = -(rand() * 4 + 1) * spec.seqLen * share * 3;
  return { logits: encode(values, spec.dtype), dtype: spec.dtype, seqLen: spec.seqLen, vocab: spec.vocab, labels, refLogps };
}

export function cloneInput<T extends DpoInput>(input: T): T {
  return { ...input, logits: input.logits.slice(), labels: input.labels.slice(), refLogps: input.refLogps.slice() };
}

export function relError(actual: number, expected: number, floor = 1e-6): number {
  return Math.abs(actual - expected) / Math.max(Math.abs(expected), floor);
}

export function maxRelError(actual: ArrayLike<number>, expected: ArrayLike<number>, floor = 1e-6): number {
  let worst = 0;
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, relError(actual[i], expected[i], floor));
  return worst;
}

/** ||a - b|| / ||b|| over float64 decodings. */
export function normRatio(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let diff = 0;
  let ref = 0;
  for (let i = 0; i < expected.length; i++) {
    const d = actual[i] - expected[i];
    diff += d * d;
    ref += expected[i] * expected[i];
  }
  return ref === 0 ? Math.sqrt(diff) : Math.sqrt(diff / ref);
}
