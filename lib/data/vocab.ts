/**
 * A compact vocabulary: the tokenizer ids that occur in a dataset, renumbered 0..size-1.
 *
 * A small demo model cannot afford an output layer over Qwen3's 151,669 ids; it only ever needs the
 * ids its data uses. Compact id 0 is reserved for padding (never scored); the tokenizer ids that
 * occur get 1..size-1 in increasing order of tokenizer id, so the map depends only on the set of ids
 * and is the same whichever order the pairs come in. `real[compact]` maps back (real[0] = -1).
 */
import type { TokenizedPair } from './tokenize.js';

export interface VocabMap {
  size: number;
  /** compact id -> tokenizer id; entry 0 (padding) is -1. */
  real: Int32Array;
  /** tokenizer id -> compact id; throws for an id the map does not hold. */
  compact(id: number): number;
}

export const PAD_COMPACT_ID = 0;

export function buildVocabMap(pairs: Iterable<TokenizedPair>): VocabMap {
  const seen = new Set<number>();
  for (const p of pairs) for (const part of [p.context, p.chosen, p.rejected]) for (const id of part) seen.add(id);
  return vocabFromIds([...seen]);
}

export function vocabFromIds(ids: Iterable<number>): VocabMap {
  const sorted = [...new Set(ids)].sort((a, b) => a - b);
  if (sorted.some((id) => !Number.isInteger(id) || id < 0)) throw new RangeError('vocabulary ids must be non-negative integers');
  const real = Int32Array.from([-1, ...sorted]);
  const index = new Map<number, number>();
  sorted.forEach((id, k) => index.set(id, k + 1));
  return {
    size: real.length,
    real,
    compact(id) {
      const c = index.get(id);
      if (c === undefined) throw new RangeError(`token id ${id} is not in the compact vocabulary`);
      return c;
    },
  };
}

