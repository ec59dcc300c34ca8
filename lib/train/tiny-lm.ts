/**
 * The demo's causal language model, small enough to train on two CPU cores in TensorFlow.js:
 *
 *   h0 = E[x_t] + P[t]                                   token + learned position embeddings, dim d
 *   h1 = h0 + Wo · softmax(mask(Q K^T / sqrt(d))) V       one causal single-head attention block
 *   h2 = h1 + W2 · relu(W1 · norm(h1) + b1) + b2          one MLP block (width 2d)
 *   logits_t = U · norm(h2) + c                           over the compact vocabulary
 *
 * with Q, K, V = norm(h0) Wq, Wk, Wv, and norm(.) a parameter-free layer normalisation. The causal
 * mask lets row t see positions <= t only, so padding after a sequence never reaches its real rows.
 */
import type * as tfjs from '@tensorflow/tfjs';
import type { Tf } from '../tfjs/index.js';

export interface TinyLmConfig {
  /** Output (and input) vocabulary: the compact vocabulary's size. */
  vocab: number;
  /** Model width d. */
  dim: number;
  /** Longest input the position table covers. */
  maxLen: number;
  /** Seed of the initial weights. */
  seed: number;
}

const SHAPES = (c: TinyLmConfig): Record<string, number[]> => ({
  tokenEmbedding: [c.vocab, c.dim],
  positionEmbedding: [c.maxLen, c.dim],
  wq: [c.dim, c.dim],
  wk: [c.dim, c.dim],
  wv: [c.dim, c.dim],
  wo: [c.dim, c.dim],
  w1: [c.dim, 2 * c.dim],
  b1: [2 * c.dim],
  w2: [2 * c.dim, c.dim],
  b2: [c.dim],
  unembed: [c.dim, c.vocab],
  outBias: [c.vocab],
});

let instances = 0;

export class TinyLm {
  readonly weights: Record<string, tfjs.Variable>;

  /** New weights from the seed, or `initial` (e.g. a checkpoint's) when given. */
  constructor(
    private readonly tf: Tf,
    readonly config: TinyLmConfig,
    initial?: Record<string, tfjs.Tensor>,
  ) {
    this.weights = {};
    instances++;
    let k = 0;
    for (const [name, shape] of Object.entries(SHAPES(config))) {
      let value: tfjs.Tensor;
      if (initial) {
        value = initial[name];
        if (!value || value.shape.join() !== shape.join()) throw new Error(`checkpoint weight ${name} is missing or not shaped [${shape.join(', ')}]`);
      } else if (shape.length === 1) {
        value = tf.zeros(shape);
      } else {
        // Scaled normal init; embeddings at 0.02 as in GPT-2, projections at 1/sqrt(fan-in).
        const std = name.endsWith('Embedding') ? 0.02 : 1 / Math.sqrt(shape[0]);
        value = tf.randomNormal(shape, 0, std, 'float32', config.seed * 101 + ++k);
      }
      // tfjs variable names are global to the engine: number each model's so several can coexist.
      this.weights[name] = tf.variable(value, true, `tinylm${instances}/${name}`);
    }
  }

  get variables(): tfjs.Variable[] {
    return Object.values(this.weights);
  }

  /** Logits [sequences, seqLen, vocab] for inputs [sequences, seqLen] (row-major ids). */
  forward(inputIds: Int32Array, sequences: number, seqLen: number): tfjs.Tensor3D {
    const tf = this.tf;
    const w = this.weights;
    const { dim, vocab, maxLen } = this.config;
    if (seqLen > maxLen) throw new RangeError(`sequence of ${seqLen} inputs exceeds the model's ${maxLen} positions`);
    return tf.tidy(() => {
      const h0 = tf.add(embed(tf, w.tokenEmbedding, inputIds, [sequences, seqLen]), tf.slice(w.positionEmbedding, [0, 0], [seqLen, dim]));
      const flat = (x: tfjs.Tensor) => tf.reshape(x, [sequences * seqLen, -1]);
      const back = (x: tfjs.Tensor) => tf.reshape(x, [sequences, seqLen, -1]);
      const n0 = flat(norm(tf, h0));
      const q = back(tf.matMul(n0, w.wq));
      const k = back(tf.matMul(n0, w.wk));
      const v = back(tf.matMul(n0, w.wv));
      const scores = tf.div(tf.matMul(q, k, false, true), Math.sqrt(dim));
      const mask = tf.linalg.bandPart(tf.ones([seqLen, seqLen]), -1, 0); // lower triangle: t attends to <= t
      const masked = tf.add(scores, tf.mul(tf.sub(1, mask), -1e9));
      const attended = tf.matMul(tf.softmax(masked), v);
      const h1 = tf.add(h0, back(tf.matMul(flat(attended), w.wo)));
      const hidden = tf.relu(tf.add(tf.matMul(flat(norm(tf, h1)), w.w1), w.b1));
      const h2 = tf.add(h1, back(tf.add(tf.matMul(hidden, w.w2), w.b2)));
      const logits = tf.add(tf.matMul(flat(norm(tf, h2)), w.unembed), w.outBias);
      return tf.reshape(logits, [sequences, seqLen, vocab]) as tfjs.Tensor3D;
    });
  }

  /** Forward pass returning plain float32 logits (the reference pass, evaluation). */
  logits(inputIds: Int32Array, sequences: number, seqLen: number): Float32Array {
    const t = this.forward(inputIds, sequences, seqLen);
    const data = t.dataSync() as Float32Array;
    t.dispose();
    return data;
  }

  dispose(): void {
    for (const v of this.variables) v.dispose();
  }
}

/**
 * Embedding lookup table[ids] with a scatter-add gradient written in plain JS. tf.gather's own
 * gradient on the CPU backend (unsortedSegmentSum) costs O(vocab x tokens x dim), seconds per step
 * here; the scatter-add costs O(tokens x dim).
 */
export function embed(tf: Tf, table: tfjs.Variable, ids: Int32Array, shape: [number, number]): tfjs.Tensor {
  const [vocab, dim] = table.shape as [number, number];
  const op = tf.customGrad((t) => {
    const value = tf.reshape(tf.gather(t as tfjs.Tensor, tf.tensor1d(ids, 'int32')), [...shape, dim]);
    const gradFunc = (dy: tfjs.Tensor) => {
      const g = new Float32Array(vocab * dim);
      const d = dy.dataSync();
      for (let i = 0; i < ids.length; i++) {
        const src = i * dim;
        const dst = ids[i] * dim;
        for (let k = 0; k < dim; k++) g[dst + k] += d[src + k];
      }
      return tf.tensor2d(g, [vocab, dim]);
    };
    return { value, gradFunc };
  });
  return op(table);
}

function norm(tf: Tf, x: tfjs.Tensor): tfjs.Tensor {
  const { mean, variance } = tf.moments(x, -1, true);
  return tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-5)));
}
