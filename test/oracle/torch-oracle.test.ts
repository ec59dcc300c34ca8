/**
 * Parity against an oracle outside this repository's code: PyTorch autograd in float64, computing
 * what TRL's DPOTrainer computes (log_softmax, gather, masked sum, the loss, backward). Runs where
 * /usr/bin/python3 has torch (CI installs Debian's python3-torch); elsewhere it is skipped and says so.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { decode } from '../../lib/loss/dtype.js';
import type { DpoOptions, LogitsDtype, LossType } from '../../lib/loss/types.js';
import { cloneInput, cpuBinding, maxRelError, normRatio, randomBatch, relError } from '../loss/helpers.js';

const PYTHON = process.env.IPO_TORCH_PYTHON ?? '/usr/bin/python3';
const script = fileURLToPath(new URL('./torch_dpo.py', import.meta.url));
const hasTorch = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;
if (!hasTorch) console.warn(`torch oracle skipped: ${PYTHON} cannot import torch (apt-get install python3-torch)`);

const native = cpuBinding();

describe.skipIf(!hasTorch)('native dpoLoss vs PyTorch autograd (float64)', () => {
  const cases: Array<{ dtype: LogitsDtype; lossType: LossType; options: DpoOptions; seed: number; vocab: number }> = [];
  let seed = 500;
  for (const dtype of ['float32', 'bfloat16', 'float16'] as const)
    for (const lossType of ['sigmoid', 'robust', 'hinge', 'ipo'] as const)
      cases.push({ dtype, lossType, options: { beta: 0.1, labelSmoothing: lossType === 'robust' ? 0.2 : lossType === 'sigmoid' ? 0.1 : 0, sftWeight: lossType === 'sigmoid' ? 0.2 : 0 }, seed: seed++, vocab: 97 + (seed % 40) * 41 });

  const inputs = cases.map(({ dtype, seed, vocab }) => randomBatch({ pairs: 3, seqLen: 7, vocab, dtype, seed, scoredShare: 0.6 }));
  let answers: Array<{ loss: number; chosenLogps: number[]; rejectedLogps: number[]; margins: number[]; tokenLogps: number[]; grad: number[] }> = [];

  beforeAll(() => {
    const requests = cases.map(({ dtype, lossType, options }, k) => ({
      logits: Array.from(decode(inputs[k].logits, dtype)),
      seqLen: inputs[k].seqLen,
      vocab: inputs[k].vocab,
      labels: Array.from(inputs[k].labels),
      refLogps: Array.from(inputs[k].refLogps),
      options: { beta: 0.1, labelSmoothing: 0, sftWeight: 0, ...options, lossType },
    }));
    const child = spawnSync(PYTHON, [script], { input: JSON.stringify(requests), encoding: 'utf8', maxBuffer: 1 << 28 });
    if (child.status !== 0) throw new Error(`torch oracle failed: ${child.stderr}`);
    answers = JSON.parse(child.stdout);
  });

  it.each(cases.map((c, k) => ({ ...c, k })))('$dtype $lossType', ({ dtype, lossType, options, k }) => {
    const input = inputs[k];
    const torch = answers[k];

    const ours = native.dpoLoss(cloneInput(input), { ...options, lossType });
    expect(relError(ours.loss, torch.loss, 1e-3)).toBeLessThanOrEqual(1e-5);
    expect(maxRelError(ours.chosenLogps, torch.chosenLogps)).toBeLessThanOrEqual(1e-5);
    expect(maxRelError(ours.rejectedLogps, torch.rejectedLogps)).toBeLessThanOrEqual(1e-5);
    expect(maxRelError(ours.margins, torch.margins, 1e-2)).toBeLessThanOrEqual(1e-4);
    expect(maxRelError(native.tokenLogprobs(input), torch.tokenLogps, 1e-3)).toBeLessThanOrEqual(1e-5);
    expect(normRatio(decode(ours.gradLogits!, dtype), torch.grad)).toBeLessThanOrEqual(dtype === 'float32' ? 1e-5 : 1e-2);
  });
});
