import { beforeAll, describe, expect, it } from 'vitest';
import { loadTensorflow, type Tf } from '../../lib/tfjs/index.js';
import { TinyLm } from '../../lib/train/tiny-lm.js';
import { Rng } from '../../lib/data/rng.js';

let tf: Tf;
beforeAll(async () => {
  tf = await loadTensorflow();
});

describe('TinyLm', () => {
  const config = { vocab: 9, dim: 6, maxLen: 8, seed: 3 };

  it('is causal: later tokens (or padding) never change earlier logits', () => {
    const model = new TinyLm(tf, config);
    const a = model.logits(Int32Array.from([1, 2, 3, 4, 5, 6]), 1, 6);
    const b = model.logits(Int32Array.from([1, 2, 3, 8, 0, 0]), 1, 6);
    expect(Array.from(b.slice(0, 3 * 9))).toEqual(Array.from(a.slice(0, 3 * 9)));
    expect(Array.from(b.slice(3 * 9, 4 * 9))).not.toEqual(Array.from(a.slice(3 * 9, 4 * 9)));
    model.dispose();
  });

  it('its scatter-add embedding gradient matches central finite differences', () => {
    const model = new TinyLm(tf, config);
    const rng = new Rng(8);
    const ids = Int32Array.from([1, 4, 4, 7, 2, 4]); // repeated id 4: the gradient must add up
    const weights = tf.tensor(Array.from({ length: 2 * 3 * 9 }, () => rng.next() - 0.5), [2, 3, 9]);
    const loss = () => tf.sum(tf.mul(model.forward(ids, 2, 3), weights)) as import('@tensorflow/tfjs').Scalar;
    const { grads } = tf.variableGrads(loss, [model.weights.tokenEmbedding]);
    const g = grads[model.weights.tokenEmbedding.name].dataSync();
    const table = model.weights.tokenEmbedding;
    const base = table.dataSync().slice();
    for (const [row, col] of [
      [4, 0],
      [4, 5],
      [7, 2],
      [0, 1], // id 0 does not occur: gradient exactly 0
    ]) {
      const eps = 1e-2;
      const at = row * config.dim + col;
      const f = (delta: number) => {
        const w = base.slice();
        w[at] += delta;
        table.assign(tf.tensor(w, table.shape));
        return loss().dataSync()[0];
      };
      const numeric = (f(eps) - f(-eps)) / (2 * eps);
      table.assign(tf.tensor(base, table.shape));
      if (row === 0) expect(g[at]).toBe(0);
      else expect(g[at]).toBeCloseTo(numeric, 2);
    }
    model.dispose();
  });

  it('refuses inputs longer than its position table and a checkpoint of the wrong shape', () => {
    const model = new TinyLm(tf, config);
    expect(() => model.forward(new Int32Array(9), 1, 9)).toThrow(/exceeds the model's 8 positions/);
    expect(() => new TinyLm(tf, { ...config, dim: 4 }, { tokenEmbedding: tf.zeros([9, 6]) })).toThrow(/tokenEmbedding/);
    model.dispose();
  });
});
