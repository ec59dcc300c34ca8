/**
 * Adam over tfjs variables with an explicit, saveable state (tfjs's own optimizer hides its
 * learning rate and moments), so the schedule sets the rate per step and a checkpoint resumes exactly.
 *
 *   m <- b1 m + (1 - b1) g,   v <- b2 v + (1 - b2) g^2
 *   w <- w - lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
 *
 * Weight decay 0 (the paper's setting).
 */
import type * as tfjs from '@tensorflow/tfjs';
import type { Tf } from '../tfjs/index.js';

export class Adam {
  /** Updates applied so far (t). */
  step = 0;
  readonly m: Record<string, tfjs.Variable> = {};
  readonly v: Record<string, tfjs.Variable> = {};

  constructor(
    private readonly tf: Tf,
    private readonly params: Record<string, tfjs.Variable>,
    readonly beta1 = 0.9,
    readonly beta2 = 0.999,
    readonly eps = 1e-8,
  ) {
    for (const [name, p] of Object.entries(params)) {
      this.m[name] = tf.variable(tf.zerosLike(p), false);
      this.v[name] = tf.variable(tf.zerosLike(p), false);
    }
  }

  /** One update with learning rate `lr`; `grads` by parameter name. */
  apply(grads: Record<string, tfjs.Tensor>, lr: number): void {
    const tf = this.tf;
    this.step++;
    const c1 = 1 - this.beta1 ** this.step;
    const c2 = 1 - this.beta2 ** this.step;
    tf.tidy(() => {
      for (const [name, p] of Object.entries(this.params)) {
        const g = grads[name];
        if (!g) continue;
        const m = tf.add(tf.mul(this.m[name], this.beta1), tf.mul(g, 1 - this.beta1));
        const v = tf.add(tf.mul(this.v[name], this.beta2), tf.mul(tf.square(g), 1 - this.beta2));
        this.m[name].assign(m);
        this.v[name].assign(v);
        if (lr > 0) p.assign(tf.sub(p, tf.mul(lr, tf.div(tf.div(m, c1), tf.add(tf.sqrt(tf.div(v, c2)), this.eps)))));
      }
    });
  }

  /** Moments by name (`m/<param>`, `v/<param>`) for a checkpoint. */
  namedState(): Record<string, tfjs.Tensor> {
    const out: Record<string, tfjs.Tensor> = {};
    for (const name of Object.keys(this.params)) {
      out[`m/${name}`] = this.m[name];
      out[`v/${name}`] = this.v[name];
    }
    return out;
  }

  restore(step: number, tensors: Record<string, tfjs.Tensor>): void {
    this.step = step;
    for (const name of Object.keys(this.params)) {
      const m = tensors[`m/${name}`];
      const v = tensors[`v/${name}`];
      if (!m || !v) throw new Error(`checkpoint lacks the optimizer moments of ${name}`);
      this.m[name].assign(m);
      this.v[name].assign(v);
    }
  }
}
