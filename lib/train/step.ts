/**
 * One optimizer step of the tiny model: gradient accumulation over the step's micro-batches (each
 * weighted by its share of the pairs), one Adam update, and the step's metrics line.
 */
import type * as tfjs from '@tensorflow/tfjs';
import type { Batch } from '../data/batch.js';
import { dpoLossTensor, type Tf } from '../tfjs/index.js';
import type { Adam } from './adam.js';
import type { StepLine } from './metrics.js';
import type { TrainingStep } from './schedule.js';
import type { TinyLm } from './tiny-lm.js';

/** Gradient accumulation over the step's micro-batches (each weighted by its share of the pairs), one Adam update. */
export function trainStep(tf: Tf, model: TinyLm, adam: Adam, step: TrainingStep<Batch>, beta: number): StepLine {
  let accumulated: Record<string, tfjs.Tensor> = {};
  let loss = 0;
  const margins: number[] = [];
  for (const batch of step.microBatches) {
    const weight = batch.pairs / step.pairs;
    let margin: Float32Array = new Float32Array(0);
    const { value, grads } = tf.variableGrads(() => {
      const logits = model.forward(batch.inputIds, 2 * batch.pairs, batch.seqLen);
      const r = dpoLossTensor(tf, logits, { labels: batch.labels, refLogps: batch.refLogps! }, { beta, sftWeight: step.sftWeight });
      margin = r.stats.margins;
      return tf.mul(r.loss, weight) as tfjs.Scalar;
    }, model.variables);
    loss += value.dataSync()[0];
    value.dispose();
    margins.push(...margin);
    const next: Record<string, tfjs.Tensor> = {};
    for (const [name, g] of Object.entries(grads)) {
      next[name] = accumulated[name] ? tf.add(accumulated[name], g) : g;
      if (accumulated[name]) {
        accumulated[name].dispose();
        g.dispose();
      }
    }
    accumulated = next;
  }
  adam.apply(accumulated, step.lr);
  for (const g of Object.values(accumulated)) g.dispose();
  return { stage: step.stage, step: step.step, loss, margin: mean(margins), accuracy: margins.filter((m) => m > 0).length / margins.length, lr: step.lr, epoch: step.epoch, pairs: step.pairs };
}

export function namedWeights(model: TinyLm): Record<string, tfjs.Tensor> {
  const out: Record<string, tfjs.Tensor> = {};
  for (const [name, v] of Object.entries(model.weights)) out[name] = v;
  return out;
}

export function countParams(model: TinyLm): number {
  return model.variables.reduce((n, v) => n + v.size, 0);
}

export function progressLine(step: TrainingStep<Batch>, l: StepLine): string {
  const width = 20;
  const filled = Math.round((width * step.step) / step.stageSteps);
  const bar = '█'.repeat(filled) + '░'.repeat(width - filled);
  const n = String(step.stageSteps).length;
  return `stage ${step.stage} ${bar} ${String(step.step).padStart(n)}/${step.stageSteps}  loss ${l.loss.toFixed(4)}  margin ${signed(l.margin)}  acc ${l.accuracy.toFixed(2)}  lr ${l.lr.toExponential(1)}`;
}

export const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
/** '+0.1234' / '-0.1234'; a value that rounds to zero prints as '+0.0000', never '-0.0000'. */
export function signed(v: number): string {
  const digits = Math.abs(v).toFixed(4);
  return (v < 0 && digits !== '0.0000' ? '-' : '+') + digits;
}

