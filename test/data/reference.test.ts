import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Batch } from '../../lib/data/batch.js';
import { computeReferenceLogps, readReferenceLogps, writeReferenceLogps } from '../../lib/data/reference.js';
import { Rng } from '../../lib/run/rng.js';
import type { TokenizedPair } from '../../lib/data/tokenize.js';

const V = 11;
const rng = new Rng(21);
// A bigram "model": the logits of row t depend only on the input token at t.
const table = Float32Array.from({ length: V * V }, () => rng.next() * 4 - 2);
const bigramForward = (batch: Batch) => {
  const out = new Float32Array(batch.inputIds.length * V);
  batch.inputIds.forEach((id, row) => out.set(table.subarray(id * V, (id + 1) * V), row * V));
  return out;
};
const logProb = (prev: number, next: number) => {
  const row = Array.from(table.subarray(prev * V, (prev + 1) * V), Number);
  const max = Math.max(...row);
  return row[next] - max - Math.log(row.reduce((s, x) => s + Math.exp(x - max), 0));
};
/** Oracle straight from the token lists: sum of log p(segment_j | previous token). */
const oracle = (context: Int32Array, segment: Int32Array) => {
  const seq = [...context, ...segment];
  let total = 0;
  for (let j = context.length; j < seq.length; j++) total += logProb(seq[j - 1], seq[j]);
  return total;
};

function randomPairs(n: number): TokenizedPair[] {
  const ids = (len: number) => Int32Array.from({ length: len }, () => rng.int(V));
  return Array.from({ length: n }, (_, i) => ({
    id: `p${i}`,
    kind: 'intervened' as const,
    context: ids(1 + rng.int(6)),
    chosen: ids(1 + rng.int(5)),
    rejected: ids(1 + rng.int(5)),
    chosenEnded: true,
    rejectedEnded: true,
    cut: { context: 0, chosen: 0, rejected: 0 },
  }));
}

describe('reference pass', () => {
  it('stores each segment’s summed log-probs, whatever the micro-batch size and padding', async () => {
    const pairs = randomPairs(13);
    for (const microBatch of [1, 3, 8, 20]) {
      const progress: number[] = [];
      await computeReferenceLogps(pairs, bigramForward, { microBatch, onProgress: (d) => progress.push(d) });
      expect(progress[progress.length - 1]).toBe(13);
      for (const p of pairs) {
        expect(p.ref![0]).toBeCloseTo(oracle(p.context, p.chosen), 4);
        expect(p.ref![1]).toBeCloseTo(oracle(p.context, p.rejected), 4);
      }
    }
  });

  it('writes beside the pairs and reads back onto the same pairs only', async () => {
    const pairs = randomPairs(5);
    await computeReferenceLogps(pairs, bigramForward);
    const dir = mkdtempSync(join(tmpdir(), 'ipo-ref-'));
    const file = join(dir, 'ref.jsonl');
    writeReferenceLogps(file, pairs);
    const copy = pairs.map((p) => ({ ...p, ref: undefined }));
    readReferenceLogps(file, copy);
    expect(copy.map((p) => p.ref)).toEqual(pairs.map((p) => p.ref));
    expect(() => readReferenceLogps(file, copy.slice(1))).toThrow(/5 reference lines for 4 pairs/);
    expect(() => readReferenceLogps(file, [copy[1], copy[0], ...copy.slice(2)])).toThrow(/expected/);
    writeFileSync(file, '');
    expect(() => writeReferenceLogps(file, [{ ...pairs[0], ref: undefined }])).toThrow(/no reference/);
  });

  it('rejects a forward pass of the wrong size', async () => {
    await expect(computeReferenceLogps(randomPairs(2), () => new Float32Array(7))).rejects.toThrow(/not a multiple/);
  });
});
