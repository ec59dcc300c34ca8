/**
 * Tokenized pairs to the layout `dpoLoss` reads, and the order in which pairs are visited.
 *
 * Layout of a batch of P pairs: 2P sequences, chosen ones first (rows 0..P-1), then the rejected ones
 * (rows P..2P-1), chosen i paired with rejected i (TRL's concatenated layout). A sequence of n tokens
 * x_0 .. x_{n-1} = context ++ segment feeds the model x_0 .. x_{n-2}; logits row t predicts x_{t+1}
 * (the causal shift), so
 *
 *   labels[s, t] = x_{t+1}  if position t+1 lies in the segment (t+1 >= context length), else -100.
 *
 * The first segment token is thus scored by the row of the last context token, and no row outside
 * the segment is ever read. Rows past a sequence's end are padding: input `padId`, label -100.
 */
import type { Rng } from '../run/rng.js';
import type { TokenizedPair } from './tokenize.js';

import { IGNORE_INDEX } from '../loss/types.js';
export { IGNORE_INDEX };

export interface Batch {
  ids: string[];
  kinds: Array<'intervened' | 'benign'>;
  pairs: number;
  /** Rows per sequence: the longest sequence's length minus one (the causal shift). */
  seqLen: number;
  /** [2 * pairs, seqLen] model inputs, row-major. */
  inputIds: Int32Array;
  /** [2 * pairs, seqLen] the token each logits row scores, or -100. */
  labels: Int32Array;
  /** [2 * pairs] input rows that are real tokens (the rest is padding). */
  lengths: Int32Array;
  /** [2 * pairs] reference log-probs in the same order, when the collate had them. */
  refLogps?: Float32Array;
}

export interface CollateOptions {
  /** Input id written into padding rows (never scored). Default 0. */
  padId?: number;
  /** Maps a tokenizer id to a model id (a compact vocabulary); default identity. */
  mapId?: (id: number) => number;
  /**
   * Reference log-probs of a pair ([chosen, rejected]). Default: the pairs' stored `ref` when every
   * pair has one (then the batch carries `refLogps`), else none.
   */
  reference?: (pair: TokenizedPair) => readonly [number, number];
}

export function collate(pairs: TokenizedPair[], options: CollateOptions = {}): Batch {
  if (pairs.length === 0) throw new RangeError('collate needs at least one pair');
  const padId = options.padId ?? 0;
  const mapId = options.mapId ?? ((id: number) => id);
  const P = pairs.length;
  let longest = 0;
  for (const p of pairs) longest = Math.max(longest, p.context.length + p.chosen.length, p.context.length + p.rejected.length);
  const seqLen = longest - 1;
  const inputIds = new Int32Array(2 * P * seqLen).fill(padId);
  const labels = new Int32Array(2 * P * seqLen).fill(IGNORE_INDEX);
  const lengths = new Int32Array(2 * P);
  const reference = options.reference ?? (pairs.every((p) => p.ref) ? (p: TokenizedPair) => p.ref as [number, number] : undefined);
  const refLogps = reference ? new Float32Array(2 * P) : undefined;
  pairs.forEach((pair, i) => {
    writeSequence(pair.context, pair.chosen, i);
    writeSequence(pair.context, pair.rejected, P + i);
    if (refLogps && reference) {
      const [c, r] = reference(pair);
      refLogps[i] = c;
      refLogps[P + i] = r;
    }
  });
  return { ids: pairs.map((p) => p.id), kinds: pairs.map((p) => p.kind), pairs: P, seqLen, inputIds, labels, lengths, refLogps };

  function writeSequence(context: Int32Array, segment: Int32Array, row: number): void {
    const n = context.length + segment.length;
    const base = row * seqLen;
    const tokenAt = (j: number) => (j < context.length ? context[j] : segment[j - context.length]);
    for (let t = 0; t < n - 1; t++) {
      inputIds[base + t] = mapId(tokenAt(t));
      if (t + 1 >= context.length) labels[base + t] = mapId(tokenAt(t + 1));
    }
    lengths[row] = n - 1;
  }
}

/**
 * One optimizer step's pairs, split into micro-batches for gradient accumulation.
 *
 * `order` (pair indices, already shuffled) is cut into consecutive effective batches of
 * `batchSize` pairs (the last one may be short). Within an effective batch the pairs are sorted by
 * length and cut into micro-batches of `microBatch` pairs: length bucketing that cuts padding
 * without changing which pairs make up a step, so the accumulated gradient is the same as unbucketed.
 */
export function planSteps(order: number[], lengthOf: (index: number) => number, batchSize: number, microBatch: number): number[][][] {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
  if (!Number.isInteger(microBatch) || microBatch < 1) throw new RangeError(`microBatch must be a positive integer, got ${microBatch}`);
  const steps: number[][][] = [];
  for (let start = 0; start < order.length; start += batchSize) {
    const members = order.slice(start, start + batchSize);
    // Stable sort by length; ties keep the shuffled order, so the plan depends only on the seed.
    const sorted = members.map((index, k) => ({ index, k, len: lengthOf(index) })).sort((a, b) => a.len - b.len || a.k - b.k);
    const micro: number[][] = [];
    for (let m = 0; m < sorted.length; m += microBatch) micro.push(sorted.slice(m, m + microBatch).map((x) => x.index));
    steps.push(micro);
  }
  return steps;
}

/** Sequence length that decides a pair's padding: its longer sequence. */
export function pairLength(pair: TokenizedPair): number {
  return pair.context.length + Math.max(pair.chosen.length, pair.rejected.length);
}

/** A seeded permutation of 0..n-1. */
export function shuffledIndices(n: number, rng: Rng): number[] {
  return rng.shuffle(Array.from({ length: n }, (_, i) => i));
}
