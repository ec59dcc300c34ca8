import { describe, expect, it } from 'vitest';
import { collate, IGNORE_INDEX, pairLength, planSteps, shuffledIndices } from '../../lib/data/batch.js';
import { Rng } from '../../lib/run/rng.js';
import type { TokenizedPair } from '../../lib/data/tokenize.js';
import { buildVocabMap } from '../../lib/data/vocab.js';

function pair(id: string, context: number[], chosen: number[], rejected: number[], ref?: [number, number]): TokenizedPair {
  return {
    id,
    kind: 'intervened',
    context: Int32Array.from(context),
    chosen: Int32Array.from(chosen),
    rejected: Int32Array.from(rejected),
    chosenEnded: true,
    rejectedEnded: true,
    cut: { context: 0, chosen: 0, rejected: 0 },
    ...(ref ? { ref } : {}),
  };
}

const X = IGNORE_INDEX;

describe('collate', () => {
  it('lays out [chosen...; rejected...] with causally shifted labels (hand-worked)', () => {
    // pair a: context [1 2 3], chosen [4 5], rejected [6]; pair b: context [7], chosen [8], rejected [9 10 11]
    const b = collate([pair('a', [1, 2, 3], [4, 5], [6]), pair('b', [7], [8], [9, 10, 11])], { padId: 0 });
    expect(b.pairs).toBe(2);
    expect(b.seqLen).toBe(4); // longest sequence: 3 + 2 = 5 tokens (or 1 + 3 = 4) -> 5 - 1 rows
    // row 0: a chosen   tokens 1 2 3 4 5 -> inputs 1 2 3 4, labels: row t scores token t+1 if t+1 >= 3
    // row 1: b chosen   tokens 7 8       -> inputs 7 pad.., label row 0 = 8
    // row 2: a rejected tokens 1 2 3 6   -> inputs 1 2 3, label row 2 = 6
    // row 3: b rejected tokens 7 9 10 11 -> inputs 7 9 10, labels 9 10 11
    expect(Array.from(b.inputIds)).toEqual([1, 2, 3, 4, 7, 0, 0, 0, 1, 2, 3, 0, 7, 9, 10, 0]);
    expect(Array.from(b.labels)).toEqual([X, X, 4, 5, 8, X, X, X, X, X, 6, X, 9, 10, 11, X]);
    expect(Array.from(b.lengths)).toEqual([4, 1, 3, 3]);
    expect(b.ids).toEqual(['a', 'b']);
    expect(b.refLogps).toBeUndefined();
  });

  it('labels select exactly the segment tokens: a log-softmax oracle over random logits', () => {
    const rng = new Rng(7);
    const V = 13;
    const pairs = [pair('a', [1, 2, 3, 4], [5, 6, 7], [8, 9]), pair('b', [10, 11], [12], [3, 2, 1, 0])];
    const b = collate(pairs);
    const logits = Float64Array.from({ length: 2 * b.pairs * b.seqLen * V }, () => rng.next() * 6 - 3);
    const logSoftmax = (row: number, token: number) => {
      const base = row * V;
      let max = -Infinity;
      for (let v = 0; v < V; v++) max = Math.max(max, logits[base + v]);
      let sum = 0;
      for (let v = 0; v < V; v++) sum += Math.exp(logits[base + v] - max);
      return logits[base + token] - max - Math.log(sum);
    };
    // What the loss computes from the batch: sum over rows whose label is not -100.
    const fromLabels = (s: number) => {
      let total = 0;
      for (let t = 0; t < b.seqLen; t++) if (b.labels[s * b.seqLen + t] !== X) total += logSoftmax(s * b.seqLen + t, b.labels[s * b.seqLen + t]);
      return total;
    };
    // What it should be: segment token j (sequence position C + j) predicted from row C + j - 1.
    const expected = (s: number, context: Int32Array, segment: Int32Array) => {
      let total = 0;
      for (let j = 0; j < segment.length; j++) total += logSoftmax(s * b.seqLen + context.length + j - 1, segment[j]);
      return total;
    };
    pairs.forEach((p, i) => {
      expect(fromLabels(i)).toBeCloseTo(expected(i, p.context, p.chosen), 12);
      expect(fromLabels(b.pairs + i)).toBeCloseTo(expected(b.pairs + i, p.context, p.rejected), 12);
    });
    // And the scored-row count equals the segment length: nothing outside the segment is read.
    const scored = (s: number) => b.labels.slice(s * b.seqLen, (s + 1) * b.seqLen).filter((l) => l !== X).length;
    expect([0, 1, 2, 3].map(scored)).toEqual([3, 1, 2, 4]);
  });

  it('maps ids through a compact vocabulary and carries stored reference log-probs', () => {
    const pairs = [pair('a', [100, 7], [55], [9000, 7], [-1.5, -2.5]), pair('b', [7], [100], [55], [-3, -4])];
    const vocab = buildVocabMap(pairs);
    expect(Array.from(vocab.real)).toEqual([-1, 7, 55, 100, 9000]);
    expect(vocab.size).toBe(5);
    const b = collate(pairs, { mapId: vocab.compact });
    // compact: 7->1 55->2 100->3 9000->4; seqLen = 4 tokens (a rejected) - 1 = 3
    // a chosen 100 7 55 | b chosen 7 100 | a rejected 100 7 9000 7 | b rejected 7 55
    expect(b.seqLen).toBe(3);
    expect(Array.from(b.inputIds)).toEqual([3, 1, 0, 1, 0, 0, 3, 1, 4, 1, 0, 0]);
    expect(Array.from(b.labels)).toEqual([X, 2, X, 3, X, X, X, 4, 1, 2, X, X]);
    expect(Array.from(b.refLogps!)).toEqual([-1.5, -3, -2.5, -4]);
    expect(() => vocab.compact(8)).toThrow(/not in the compact vocabulary/);
  });
});

describe('planSteps', () => {
  it('cuts effective batches, sorts each by length into micro-batches', () => {
    const lengths = [5, 1, 9, 3, 7, 2, 8];
    const order = [6, 0, 3, 1, 5, 2, 4];
    const steps = planSteps(order, (i) => lengths[i], 4, 2);
    // step 1: members 6 0 3 1 -> by length 1(1) 3(3) 0(5) 6(8); step 2: members 5 2 4 -> 5(2) 4(7) 2(9)
    expect(steps).toEqual([
      [
        [1, 3],
        [0, 6],
      ],
      [[5, 4], [2]],
    ]);
  });

  it('is a partition of the order whatever the sizes', () => {
    const rng = new Rng(3);
    for (let trial = 0; trial < 20; trial++) {
      const n = 1 + rng.int(50);
      const lengths = Array.from({ length: n }, () => rng.int(30));
      const order = shuffledIndices(n, rng);
      const batch = 1 + rng.int(10);
      const micro = 1 + rng.int(batch);
      const steps = planSteps(order, (i) => lengths[i], batch, micro);
      expect(steps.length).toBe(Math.ceil(n / batch));
      steps.forEach((step, k) => {
        expect(new Set(step.flat())).toEqual(new Set(order.slice(k * batch, (k + 1) * batch)));
        for (const m of step) expect(m.length).toBeLessThanOrEqual(micro);
        const lens = step.flat().map((i) => lengths[i]);
        expect(lens).toEqual([...lens].sort((a, b) => a - b));
      });
    }
  });

  it('pairLength is the longer sequence', () => {
    expect(pairLength(pair('a', [1, 2], [3], [4, 5, 6]))).toBe(5);
  });
});
