/**
 * Baseline: the DPO loss and its gradient written the plain way in TypeScript, in float32, single
 * threaded. This is what someone would write without a native core: per scored row a max pass and
 * a sum-of-exp pass, then (once every sequence's log-prob is known) a third pass that writes the
 * gradient. It is a benchmark baseline, not library code: only the sigmoid loss, no validation.
 *
 * Math (TRL's sigmoid DPO, label smoothing 0). For scored row (s, t) with label y:
 *   logp(s, t) = x[y] - m - ln(sum_j exp(x[j] - m)),   m = max_j x[j]
 *   logp_s     = sum over scored t of logp(s, t)
 *   h_i        = beta * ((logp_c - ref_c) - (logp_r - ref_r)),   loss = mean_i -ln sigmoid(h_i)
 *   dL/dh_i    = -sigmoid(-h_i) / pairs,   dL/dlogp_c = beta dL/dh_i,   dL/dlogp_r = -beta dL/dh_i
 *   dL/dx[j]   = dL/dlogp_s * ([j = y] - softmax(x)[j])       (0 on unscored rows)
 */
import { BF16_TO_F32 } from './inputs.js';

export interface PlainInput {
  logits: Float32Array | Uint16Array; // Uint16Array: bfloat16 bits
  seqLen: number;
  vocab: number;
  labels: Int32Array;
  refLogps: Float32Array;
}

export interface PlainResult {
  loss: number;
  chosenLogps: Float32Array;
  rejectedLogps: Float32Array;
  gradLogits: Float32Array | Uint16Array;
}

export function plainDpoLoss(input: PlainInput, beta = 0.1): PlainResult {
  const { logits, seqLen, vocab, labels, refLogps } = input;
  const rows = labels.length;
  const sequences = rows / seqLen;
  const pairs = sequences / 2;
  const bf16 = logits instanceof Uint16Array;

  // Forward: per scored row its log-sum-exp (kept for the gradient pass).
  const rowLse = new Float32Array(rows);
  const seqLogps = new Float64Array(sequences);
  for (let r = 0; r < rows; r++) {
    const label = labels[r];
    if (label === -100) continue;
    const offset = r * vocab;
    const stats = bf16 ? rowStatsBf16(logits, offset, vocab) : rowStatsF32(logits as Float32Array, offset, vocab);
    rowLse[r] = stats.lse;
    const x = bf16 ? BF16_TO_F32[logits[offset + label]] : logits[offset + label];
    seqLogps[Math.floor(r / seqLen)] += Math.fround(x - stats.lse);
  }

  // Loss and d loss / d logp per sequence.
  let loss = 0;
  const coef = new Float64Array(sequences);
  for (let i = 0; i < pairs; i++) {
    const h = beta * (seqLogps[i] - refLogps[i] - (seqLogps[pairs + i] - refLogps[pairs + i]));
    loss += softplus(-h) / pairs;
    const dh = -sigmoid(-h) / pairs;
    coef[i] = beta * dh;
    coef[pairs + i] = -beta * dh;
  }

  // Backward: a fresh zeroed buffer, written only on scored rows.
  const grad = bf16 ? new Uint16Array(logits.length) : new Float32Array(logits.length);
  for (let r = 0; r < rows; r++) {
    const label = labels[r];
    if (label === -100) continue;
    const c = coef[Math.floor(r / seqLen)];
    const offset = r * vocab;
    if (bf16) rowGradBf16(logits, grad as Uint16Array, offset, vocab, rowLse[r], c, label);
    else rowGradF32(logits as Float32Array, grad as Float32Array, offset, vocab, rowLse[r], c, label);
  }

  return {
    loss,
    chosenLogps: Float32Array.from(seqLogps.subarray(0, pairs)),
    rejectedLogps: Float32Array.from(seqLogps.subarray(pairs)),
    gradLogits: grad,
  };
}

function rowStatsF32(x: Float32Array, offset: number, vocab: number): { max: number; lse: number } {
  let max = -Infinity;
  for (let j = offset; j < offset + vocab; j++) if (x[j] > max) max = x[j];
  let sum = 0;
  for (let j = offset; j < offset + vocab; j++) sum += Math.fround(Math.exp(x[j] - max));
  return { max, lse: Math.fround(max + Math.log(sum)) };
}

function rowStatsBf16(x: Uint16Array, offset: number, vocab: number): { max: number; lse: number } {
  let max = -Infinity;
  for (let j = offset; j < offset + vocab; j++) {
    const v = BF16_TO_F32[x[j]];
    if (v > max) max = v;
  }
  let sum = 0;
  for (let j = offset; j < offset + vocab; j++) sum += Math.fround(Math.exp(BF16_TO_F32[x[j]] - max));
  return { max, lse: Math.fround(max + Math.log(sum)) };
}

function rowGradF32(x: Float32Array, g: Float32Array, offset: number, vocab: number, lse: number, c: number, label: number): void {
  for (let j = offset; j < offset + vocab; j++) g[j] = -c * Math.exp(x[j] - lse);
  // The label entry in float32 from 1 - p directly: (softmax - 1) would cancel.
  g[offset + label] = c * (1 - Math.exp(x[offset + label] - lse));
}

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

function rowGradBf16(x: Uint16Array, g: Uint16Array, offset: number, vocab: number, lse: number, c: number, label: number): void {
  for (let j = offset; j < offset + vocab; j++) {
    f32Scratch[0] = -c * Math.exp(BF16_TO_F32[x[j]] - lse);
    const b = u32Scratch[0];
    g[j] = (b + 0x7fff + ((b >>> 16) & 1)) >>> 16; // round to nearest even
  }
  f32Scratch[0] = c * (1 - Math.exp(BF16_TO_F32[x[offset + label]] - lse));
  const b = u32Scratch[0];
  g[offset + label] = (b + 0x7fff + ((b >>> 16) & 1)) >>> 16;
}

function softplus(z: number): number {
  return z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
}

function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}
