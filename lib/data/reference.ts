/**
 * The reference pass: run the reference model once over the dataset, keep the summed log-probs of
 * every segment, and store them beside the pairs. Training then needs only these 2 numbers per pair,
 * never the reference model itself.
 *
 *   ref(pair) = [ sum_{t in chosen segment} log p_ref(x_t | x_<t),  same for rejected ]
 *
 * computed by `sequenceLogprobs` over the logits the user's forward function returns for each
 * micro-batch (the same labels `dpoLoss` will read, so policy and reference score the same tokens).
 */
import { readFileSync } from 'node:fs';
import { sequenceLogprobs } from '../loss/index.js';
import { collate, pairLength, type Batch, type CollateOptions } from './batch.js';
import type { TokenizedPair } from './tokenize.js';
import { writeFileAtomic } from '../run/files.js';

/** The model's forward pass: logits [2 * pairs, seqLen, vocab] (float32, row-major) for a batch's inputs. */
export type ForwardFn = (batch: Batch) => Float32Array | Promise<Float32Array>;

export interface ReferenceOptions extends Omit<CollateOptions, 'reference'> {
  /** Pairs per forward call. Default 8. */
  microBatch?: number;
  /** Called after every micro-batch with the pairs done so far. */
  onProgress?: (done: number, total: number) => void;
}

/**
 * Computes and attaches `pair.ref` for every pair (in place); returns the pairs. Pairs are visited
 * in length order so that micro-batches carry little padding; the result does not depend on it.
 */
export async function computeReferenceLogps(pairs: TokenizedPair[], forward: ForwardFn, options: ReferenceOptions = {}): Promise<TokenizedPair[]> {
  const microBatch = options.microBatch ?? 8;
  if (!Number.isInteger(microBatch) || microBatch < 1) throw new RangeError(`microBatch must be a positive integer, got ${microBatch}`);
  const order = lengthOrder(pairs);
  let done = 0;
  for (let start = 0; start < order.length; start += microBatch) {
    const members = order.slice(start, start + microBatch).map((i) => pairs[i]);
    const batch = collate(members, { padId: options.padId, mapId: options.mapId, reference: () => [0, 0] });
    const logits = await forward(batch);
    const rows = 2 * batch.pairs * batch.seqLen;
    const vocab = logits.length / rows;
    if (!Number.isInteger(vocab) || vocab < 1) {
      throw new RangeError(`forward returned ${logits.length} logits, not a multiple of ${rows} rows (2 * ${batch.pairs} pairs * seqLen ${batch.seqLen})`);
    }
    const logps = sequenceLogprobs({ logits, seqLen: batch.seqLen, vocab, labels: batch.labels });
    members.forEach((pair, i) => {
      pair.ref = [logps[i], logps[batch.pairs + i]];
    });
    done += members.length;
    options.onProgress?.(done, pairs.length);
  }
  return pairs;
}

/**
 * Pair indices by increasing length (ties by position). Evaluations that batch the same way see
 * bit-identical logits, so an untrained policy's margins against its own reference are exactly 0.
 */
export function lengthOrder(pairs: TokenizedPair[]): number[] {
  return pairs.map((_, i) => i).sort((a, b) => pairLength(pairs[a]) - pairLength(pairs[b]) || a - b);
}

interface ReferenceLine {
  index: number;
  id: string;
  unit?: string;
  chosen: number;
  rejected: number;
}

/** Writes the pairs' `ref` as JSONL (one line a pair, in dataset order), atomically. */
export function writeReferenceLogps(path: string, pairs: TokenizedPair[]): void {
  const lines = pairs.map((p, index) => {
    if (!p.ref) throw new Error(`pair ${p.id} has no reference log-probs to write`);
    const line: ReferenceLine = { index, id: p.id, ...(p.unit !== undefined ? { unit: p.unit } : {}), chosen: p.ref[0], rejected: p.ref[1] };
    return JSON.stringify(line) + '\n';
  });
  writeFileAtomic(path, lines.join(''));
}

/** Reads a file written by `writeReferenceLogps` back onto the same pairs; throws if they do not match. */
export function readReferenceLogps(path: string, pairs: TokenizedPair[]): TokenizedPair[] {
  const lines = readFileSync(path, 'utf8').split('\n').filter((l) => l.trim());
  if (lines.length !== pairs.length) throw new Error(`${path}: ${lines.length} reference lines for ${pairs.length} pairs`);
  lines.forEach((text, i) => {
    const line = JSON.parse(text) as ReferenceLine;
    const pair = pairs[i];
    if (line.index !== i || line.id !== pair.id || line.unit !== pair.unit) {
      throw new Error(`${path}:${i + 1}: reference for pair ${JSON.stringify(line.id)} where pair ${JSON.stringify(pair.id)} was expected`);
    }
    if (!Number.isFinite(line.chosen) || !Number.isFinite(line.rejected)) throw new Error(`${path}:${i + 1}: reference log-probs are not finite`);
    pair.ref = [line.chosen, line.rejected];
  });
  return pairs;
}
