import { beforeAll, describe, expect, it } from 'vitest';
import { loadTensorflow, type Tf } from '../../lib/tfjs/index.js';
import { embed, TinyLm } from '../../lib/train/tiny-lm.js';
import type { Scalar } from '@tensorflow/tfjs';
import { Rng } from '../../lib/run/rng.js';

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

  it('its scatter-add embedding gradient equals tf.gather’s own gradient', () => {
    const rng = new Rng(8);
    const table = tf.variable(tf.tensor(Array.from({ length: 9 * 6 }, () => rng.next() - 0.5), [9, 6]));
    const ids = Int32Array.from([1, 4, 4, 7, 2, 4]); // repeated id 4: its rows must add up
    const weights = tf.tensor(Array.from({ length: 2 * 3 * 6 }, () => rng.next() - 0.5), [2, 3, 6]);
    const ours = tf.variableGrads(() => tf.sum(tf.mul(embed(tf, table, ids, [2, 3]), weights)) as Scalar, [table]);
    const theirs = tf.variableGrads(() => tf.sum(tf.mul(tf.reshape(tf.gather(table, tf.tensor1d(ids, 'int32')), [2, 3, 6]), weights)) as Scalar, [table]);
    expect(ours.value.dataSync()[0]).toBeCloseTo(theirs.value.dataSync()[0], 6);
    const a = ours.grads[table.name].dataSync();
    const b = theirs.grads[table.name].dataSync();
    a.forEach((v, i) => expect(v).toBeCloseTo(b[i], 6));
    expect(Array.from(a.slice(0, 6))).toEqual([0, 0, 0, 0, 0, 0]); // id 0 does not occur
  });

  it('trains end to end: its loss gradient reaches every weight', () => {
    const model = new TinyLm(tf, config);
    const { grads } = tf.variableGrads(() => tf.mean(tf.logSoftmax(model.forward(Int32Array.from([1, 2, 3, 4]), 1, 4))) as Scalar, model.variables);
    for (const v of model.variables) expect(grads[v.name], v.name).toBeDefined();
    model.dispose();
  });

  it('refuses inputs longer than its position table and a checkpoint of the wrong shape', () => {
    const model = new TinyLm(tf, config);
    expect(() => model.forward(new Int32Array(9), 1, 9)).toThrow(/exceeds the model's 8 positions/);
    expect(() => new TinyLm(tf, { ...config, dim: 4 }, { tokenEmbedding: tf.zeros([9, 6]) })).toThrow(/tokenEmbedding/);
    model.dispose();
  });
});
