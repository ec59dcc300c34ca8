import { beforeAll, describe, expect, it } from 'vitest';
import { dpoLossTensor, loadTensorflow, sequenceLogprobsTensor, type Tf } from '../../lib/tfjs/index.js';
import { Rng } from '../../lib/run/rng.js';

let tf: Tf;
beforeAll(async () => {
  tf = await loadTensorflow();
});

/**
 * The oracle: the same DPO loss written with tfjs's own ops (log-softmax, one-hot gather, masked
 * sums, log-sigmoid) and differentiated by tfjs's autograd, independent of the fused kernel.
 */
function oracleLoss(logits: import('@tensorflow/tfjs').Tensor, labels: Int32Array, refLogps: Float32Array, beta: number, sftWeight: number) {
  const [S, T, V] = logits.shape as [number, number, number];
  const P = S / 2;
  const mask = tf.tensor(Array.from(labels, (l) => (l === -100 ? 0 : 1)), [S, T]);
  const safe = tf.tensor(Array.from(labels, (l) => (l === -100 ? 0 : l)), [S, T], 'int32');
  const logp = tf.sum(tf.mul(tf.logSoftmax(logits), tf.oneHot(safe, V)), -1); // [S, T]
  const seq = tf.sum(tf.mul(logp, mask), -1); // [S]
  const ref = tf.tensor(refLogps);
  const s = tf.sub(seq, ref);
  const h = tf.mul(beta, tf.sub(s.slice(0, P), s.slice(P, P)));
  // -log sigmoid(h) = softplus(-h) (tf.logSigmoid's own gradient fails inside variableGrads in tfjs 4.22)
  const dpo = tf.mean(tf.softplus(tf.neg(h)));
  const chosenMask = mask.slice([0, 0], [P, T]);
  const nll = tf.div(tf.neg(tf.sum(tf.mul(logp.slice([0, 0], [P, T]), chosenMask))), tf.sum(chosenMask));
  return tf.add(dpo, tf.mul(sftWeight, nll)) as import('@tensorflow/tfjs').Scalar;
}

describe('ipo-node/tfjs', () => {
  it('runs on the pure-JS CPU backend', () => {
    expect(tf.getBackend()).toBe('cpu');
  });

  it('gives the loss and, through a model, the same gradients as tfjs autograd on an independent formula', () => {
    const rng = new Rng(4);
    const P = 3;
    const T = 5;
    const V = 7;
    const D = 4;
    const x = tf.tensor(Array.from({ length: 2 * P * T * D }, () => rng.next() - 0.5), [2 * P, T, D]);
    const w = tf.variable(tf.tensor(Array.from({ length: D * V }, () => rng.next() * 2 - 1), [D, V]));
    // Labels: a few scored positions per sequence (never none), the rest -100.
    const labels = new Int32Array(2 * P * T).fill(-100);
    for (let s = 0; s < 2 * P; s++) for (let t = 1 + (s % 2); t < T; t++) labels[s * T + t] = rng.int(V);
    const refLogps = Float32Array.from({ length: 2 * P }, () => -5 - rng.next() * 3);
    for (const sftWeight of [0, 0.2]) {
      const forward = () => tf.reshape(tf.matMul(tf.reshape(x, [2 * P * T, D]), w), [2 * P, T, V]);
      let stats: ReturnType<typeof dpoLossTensor>['stats'] | undefined;
      const fused = tf.variableGrads(() => {
        const r = dpoLossTensor(tf, forward(), { labels, refLogps }, { beta: 0.5, sftWeight });
        stats = r.stats;
        return r.loss;
      });
      const oracle = tf.variableGrads(() => oracleLoss(forward(), labels, refLogps, 0.5, sftWeight));
      expect(fused.value.dataSync()[0]).toBeCloseTo(oracle.value.dataSync()[0], 5);
      const gF = fused.grads[w.name].dataSync();
      const gO = oracle.grads[w.name].dataSync();
      let diff = 0;
      let norm = 0;
      for (let i = 0; i < gF.length; i++) {
        diff += (gF[i] - gO[i]) ** 2;
        norm += gO[i] ** 2;
      }
      expect(norm).toBeGreaterThan(0);
      expect(Math.sqrt(diff / norm)).toBeLessThan(1e-5);
      expect(stats!.margins.length).toBe(P);
      expect(stats!.accuracy).toBe(Array.from(stats!.margins).filter((m) => m > 0).length / P);
    }
    // The reference pass helper reads the same rows.
    const logits = tf.reshape(tf.matMul(tf.reshape(x, [2 * P * T, D]), w), [2 * P, T, V]);
    const seq = sequenceLogprobsTensor(logits, labels);
    const expected = tf.sum(tf.mul(tf.sum(tf.mul(tf.logSoftmax(logits), tf.oneHot(tf.tensor(Array.from(labels, (l) => Math.max(l, 0)), [2 * P, T], 'int32'), V)), -1), tf.tensor(Array.from(labels, (l) => (l === -100 ? 0 : 1)), [2 * P, T])), -1).dataSync();
    Array.from(expected).forEach((e, i) => expect(seq[i]).toBeCloseTo(e, 4));
  });

  it('rejects mismatched shapes with a clear error', () => {
    const logits = tf.zeros([2, 3, 4]);
    expect(() => dpoLossTensor(tf, logits, { labels: new Int32Array(5), refLogps: new Float32Array(2) })).toThrow(/labels has 5 entries/);
    expect(() => dpoLossTensor(tf, logits, { labels: new Int32Array(6), refLogps: new Float32Array(3) })).toThrow(/refLogps has 3/);
    expect(() => dpoLossTensor(tf, tf.zeros([6, 4]), { labels: new Int32Array(6), refLogps: new Float32Array(2) })).toThrow(/\[sequences, seqLen, vocab\]/);
  });
});
