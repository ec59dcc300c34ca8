/**
 * The float64 reference of every loss function: readable, unoptimised, the oracle of the parity
 * suite and the fallback backend when the native addon cannot load.
 *
 * For logits row x = logits[s, t, :] with label y (scored when y != -100):
 *   logp(s, t) = x_y - logsumexp(x)
 *   pi_s       = sum over scored t of logp(s, t)                       (sequenceLogprobs)
 * DPO over pairs i (chosen c = i, rejected r = pairs + i), with s_c = pi_c - ref_c, s_r = pi_r - ref_r,
 * h = beta (s_c - s_r), eps = labelSmoothing, n = scored token counts:
 *   sigmoid  -(1-eps) log sig(h) - eps log sig(-h)
 *   robust   (-(1-eps) log sig(h) + eps log sig(-h)) / (1 - 2 eps)
 *   hinge    max(0, 1 - h)
 *   ipo      (s_c/n_c - s_r/n_r - 1/(2 beta))^2
 *   loss     = mean_i L_i + sftWeight * (sum of -logp over scored chosen tokens) / (their count)
 * Gradient: d loss / d x_j = coef_s * (onehot(y)_j - softmax(x)_j), coef_s = d loss / d pi_s.
 */
import { encode, elementReader } from './dtype.js';
import type { DpoInput, DpoOptions, DpoResult, LogitsInput } from './types.js';
import { IGNORE_INDEX } from './types.js';
import { checkDpo, checkGradOut, checkInput, checkOptions, nonFiniteError, type CheckedInput } from './validate.js';

const logSigmoid = (x: number): number => -(Math.max(-x, 0) + Math.log1p(Math.exp(-Math.abs(x))));
const sigmoid = (x: number): number => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));

interface RowStats {
  lse: Float64Array; // per row (NaN where not scored)
  logp: Float64Array; // per row, 0 where not scored
}

function rowStats(x: CheckedInput): RowStats {
  const { seqLen, vocab, labels, sequences } = x;
  const read = elementReader(x.logits, x.dtype);
  const rows = sequences * seqLen;
  const lse = new Float64Array(rows).fill(NaN);
  const logp = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    const label = labels[r];
    if (label === IGNORE_INDEX) continue;
    const base = r * vocab;
    let max = -Infinity;
    for (let j = 0; j < vocab; j++) {
      const v = read(base + j);
      if (!Number.isFinite(v)) throw nonFiniteError(Math.floor(r / seqLen), r % seqLen);
      if (v > max) max = v;
    }
    let sum = 0;
    for (let j = 0; j < vocab; j++) sum += Math.exp(read(base + j) - max);
    lse[r] = max + Math.log(sum);
    logp[r] = read(base + label) - lse[r];
  }
  return { lse, logp };
}

export function referenceTokenLogprobs(input: LogitsInput): Float32Array {
  const x = checkInput(input);
  return Float32Array.from(rowStats(x).logp);
}

function sequenceSums(x: CheckedInput, logp: Float64Array): Float64Array {
  const sums = new Float64Array(x.sequences);
  for (let r = 0; r < logp.length; r++) sums[Math.floor(r / x.seqLen)] += logp[r];
  return sums;
}

export function referenceSequenceLogprobs(input: LogitsInput): Float32Array {
  const x = checkInput(input);
  return Float32Array.from(sequenceSums(x, rowStats(x).logp));
}

/** Per-pair loss and d L_i / d s_c, d L_i / d s_r. */
function pairLoss(
  lossType: NonNullable<DpoOptions['lossType']>,
  beta: number,
  eps: number,
  sC: number,
  sR: number,
  nC: number,
  nR: number,
): { loss: number; dC: number; dR: number } {
  const h = beta * (sC - sR);
  switch (lossType) {
    case 'sigmoid': {
      const dh = -(1 - eps) * sigmoid(-h) + eps * sigmoid(h);
      return { loss: -(1 - eps) * logSigmoid(h) - eps * logSigmoid(-h), dC: beta * dh, dR: -beta * dh };
    }
    case 'robust': {
      const dh = (-(1 - eps) * sigmoid(-h) - eps * sigmoid(h)) / (1 - 2 * eps);
      return { loss: (-(1 - eps) * logSigmoid(h) + eps * logSigmoid(-h)) / (1 - 2 * eps), dC: beta * dh, dR: -beta * dh };
    }
    case 'hinge': {
      const dh = h < 1 ? -1 : 0;
      return { loss: Math.max(0, 1 - h), dC: beta * dh, dR: -beta * dh };
    }
    case 'ipo': {
      const diff = sC / nC - sR / nR - 1 / (2 * beta);
      return { loss: diff * diff, dC: (2 * diff) / nC, dR: (-2 * diff) / nR };
    }
  }
}

export function referenceDpoLoss(input: DpoInput, options?: DpoOptions): DpoResult {
  const x = checkInput(input);
  const o = checkOptions(options);
  const ref = checkDpo(input, x, o);
  checkGradOut(input, x, o);
  const { lse, logp } = rowStats(x);
  const pi = sequenceSums(x, logp);
  const counts = new Float64Array(x.sequences);
  for (let r = 0; r < x.labels.length; r++) if (x.labels[r] !== IGNORE_INDEX) counts[Math.floor(r / x.seqLen)]++;

  const pairs = x.sequences / 2;
  const result = {
    chosenLogps: new Float32Array(pairs),
    rejectedLogps: new Float32Array(pairs),
    chosenRewards: new Float32Array(pairs),
    rejectedRewards: new Float32Array(pairs),
    margins: new Float32Array(pairs),
  };
  const coef = new Float64Array(x.sequences);
  let lossSum = 0;
  let correct = 0;
  let chosenNll = 0;
  let chosenTokens = 0;
  for (let i = 0; i < pairs; i++) {
    const c = i;
    const r = pairs + i;
    const sC = pi[c] - ref[c];
    const sR = pi[r] - ref[r];
    const { loss, dC, dR } = pairLoss(o.lossType, o.beta, o.labelSmoothing, sC, sR, counts[c], counts[r]);
    lossSum += loss;
    coef[c] = dC / pairs;
    coef[r] = dR / pairs;
    const rewardC = o.beta * sC;
    const rewardR = o.beta * sR;
    result.chosenLogps[i] = pi[c];
    result.rejectedLogps[i] = pi[r];
    result.chosenRewards[i] = rewardC;
    result.rejectedRewards[i] = rewardR;
    result.margins[i] = rewardC - rewardR;
    if (rewardC - rewardR > 0) correct++;
    chosenNll -= pi[c];
    chosenTokens += counts[c];
  }
  let loss = lossSum / pairs;
  if (o.sftWeight > 0) {
    loss += (o.sftWeight * chosenNll) / chosenTokens;
    for (let i = 0; i < pairs; i++) coef[i] -= o.sftWeight / chosenTokens;
  }

  let gradLogits: Float32Array | Uint16Array | undefined;
  if (o.grad !== 'none') {
    const read = elementReader(x.logits, x.dtype);
    const grad = new Float64Array(x.logits.length);
    for (let row = 0; row < x.labels.length; row++) {
      const label = x.labels[row];
      if (label === IGNORE_INDEX) continue;
      const cs = coef[Math.floor(row / x.seqLen)];
      const base = row * x.vocab;
      for (let j = 0; j < x.vocab; j++) grad[base + j] = -cs * Math.exp(read(base + j) - lse[row]);
      grad[base + label] = -cs * Math.expm1(logp[row]);
    }
    const encoded = encode(grad, x.dtype);
    if (o.grad === 'inplace' || o.gradOut) {
      const target = o.gradOut ?? x.logits;
      target.set(encoded as never);
      gradLogits = target;
    } else {
      gradLogits = encoded;
    }
  }
  return { loss, ...result, accuracy: correct / pairs, ...(gradLogits ? { gradLogits } : {}) };
}
