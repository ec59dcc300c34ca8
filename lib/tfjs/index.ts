/**
 * `ipo-node/tfjs`: the fused DPO loss as a TensorFlow.js op with a custom gradient.
 *
 *   loss = dpoLossTensor(tf, logits, { labels, refLogps }, { beta, sftWeight })
 *
 * Forward: the logits tensor [2 * pairs, seqLen, vocab] (float32) is read once and handed to
 * `dpoLoss` (native addon or the TypeScript reference), which also returns d loss / d logits.
 * Backward: tf.customGrad hands that buffer back, scaled by the upstream gradient dy, so
 * `tf.variableGrads(() => dpoLossTensor(...).loss)` trains any tfjs model with the fused loss.
 *
 * @tensorflow/tfjs is an optional peer dependency: nothing here imports it at load time. Pass your
 * own `tf` (one tfjs instance per process: tensors from two copies do not mix) or call
 * `loadTensorflow()`, which imports the umbrella package and selects its pure-JS CPU backend (no
 * native TensorFlow download).
 */
import type * as tfjs from '@tensorflow/tfjs';
import { dpoLoss, sequenceLogprobs, type DpoOptions, type DpoResult } from '../loss/index.js';

export type Tf = typeof tfjs;

/** Imports @tensorflow/tfjs and makes sure the CPU backend is active. */
export async function loadTensorflow(): Promise<Tf> {
  let tf: Tf;
  try {
    // A variable specifier keeps bundlers and tsc from treating the optional peer as required.
    const name = '@tensorflow/tfjs';
    tf = (await import(name)) as Tf;
  } catch (err) {
    throw new Error(`ipo-node/tfjs needs the optional peer dependency @tensorflow/tfjs (npm install @tensorflow/tfjs): ${(err as Error).message}`);
  }
  if (tf.getBackend() !== 'cpu') await tf.setBackend('cpu');
  await tf.ready();
  // The CPU backend advertises tfjs-node on its first tensor; that package needs a native download,
  // which is exactly what this adapter avoids, so the hint is dropped (other warnings pass through).
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (!args.some((a) => typeof a === 'string' && a.includes('tfjs-node'))) warn(...args);
  };
  try {
    tf.scalar(0).dispose();
  } finally {
    console.warn = warn;
  }
  return tf;
}

export interface DpoTargets {
  /** [2 * pairs, seqLen] labels (-100 where not scored), as lib/data/batch.ts `collate` writes them. */
  labels: Int32Array;
  /** [2 * pairs] reference log-probs, chosen first. */
  refLogps: Float32Array;
}

/** The loss value as a tensor, and the statistics of the last forward pass (rewards, margins, accuracy). */
export interface DpoLossTensor {
  loss: tfjs.Scalar;
  /** The forward pass's result without the gradient buffer. */
  stats: Omit<DpoResult, 'gradLogits'>;
}

/**
 * DPO loss of `logits` ([2 * pairs, seqLen, vocab], float32) with a gradient that flows back into
 * whatever produced them. Options are `dpoLoss`'s (beta, lossType, labelSmoothing, sftWeight).
 */
export function dpoLossTensor(tf: Tf, logits: tfjs.Tensor, targets: DpoTargets, options: Omit<DpoOptions, 'grad'> = {}): DpoLossTensor {
  const { seqLen, vocab } = shapeOf(logits, targets.labels);
  if (targets.refLogps.length !== logits.shape[0]) {
    throw new RangeError(`refLogps has ${targets.refLogps.length} entries for ${logits.shape[0]} sequences`);
  }
  let stats: Omit<DpoResult, 'gradLogits'> | undefined;
  const op = tf.customGrad((x, save) => {
    void save;
    const data = (x as tfjs.Tensor).dataSync();
    if (!(data instanceof Float32Array)) throw new TypeError(`logits must be float32, got ${(x as tfjs.Tensor).dtype}`);
    const result = dpoLoss({ logits: data, seqLen, vocab, labels: targets.labels, refLogps: targets.refLogps }, { ...options, grad: 'buffer' });
    const { gradLogits, ...rest } = result;
    stats = rest;
    const shape = (x as tfjs.Tensor).shape;
    return {
      value: tf.scalar(result.loss),
      gradFunc: (dy: tfjs.Tensor) => tf.mul(tf.tensor(gradLogits as Float32Array, shape, 'float32'), dy),
    };
  });
  const loss = op(logits) as tfjs.Scalar;
  return { loss, stats: stats as Omit<DpoResult, 'gradLogits'> };
}

/** Summed log-probs of the scored tokens of each sequence (the reference pass), [2 * pairs]. */
export function sequenceLogprobsTensor(logits: tfjs.Tensor, labels: Int32Array): Float32Array {
  const { seqLen, vocab } = shapeOf(logits, labels);
  const data = logits.dataSync();
  if (!(data instanceof Float32Array)) throw new TypeError(`logits must be float32, got ${logits.dtype}`);
  return sequenceLogprobs({ logits: data, seqLen, vocab, labels });
}

function shapeOf(logits: tfjs.Tensor, labels: Int32Array): { seqLen: number; vocab: number } {
  if (logits.rank !== 3) throw new RangeError(`logits must be [sequences, seqLen, vocab], got shape [${logits.shape.join(', ')}]`);
  const [sequences, seqLen, vocab] = logits.shape as [number, number, number];
  if (labels.length !== sequences * seqLen) throw new RangeError(`labels has ${labels.length} entries for logits [${sequences}, ${seqLen}, ${vocab}]`);
  return { seqLen, vocab };
}
