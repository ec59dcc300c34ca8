/**
 * Loss parity with TRL as an outside oracle: `dpoLoss` (every loss type, with and without the SFT
 * term) against TRL 1.13's own `DPOTrainer._compute_loss` on the same logits, labels and reference
 * log-probs, with the trainer settings the TRL engine itself builds (ipo_node.trl_trainer.dpo_config:
 * sftWeight w -> loss_type [type, "sft"], loss_weights [1, w]). Both sides compute in float32.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dpoLoss, type LossType } from '../../../lib/loss/index.js';
import { Rng } from '../../../lib/run/rng.js';
import { env, runPython } from './helpers.js';

interface Case {
  sequences: number;
  seqLen: number;
  vocab: number;
  logits: number[];
  labels: number[];
  refLogps: number[];
  options: { beta: number; lossType: LossType; labelSmoothing: number; sftWeight: number };
}

/** Pairs with contexts and segments of different lengths; logits of real-model scale (sd ~3). */
function makeCase(seed: number, options: Case['options']): Case {
  const rng = new Rng(seed);
  const pairs = 3;
  const seqLen = 9;
  const vocab = 500;
  const sequences = 2 * pairs;
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());
  const logits = Array.from({ length: sequences * seqLen * vocab }, () => 3 * gauss());
  const labels: number[] = [];
  for (let s = 0; s < sequences; s++) {
    const context = 1 + rng.int(4);
    const segment = 1 + rng.int(seqLen - context);
    for (let t = 0; t < seqLen; t++) labels.push(t >= context && t < context + segment ? rng.int(vocab) : -100);
  }
  const refLogps = Array.from({ length: sequences }, () => -20 + 10 * rng.next());
  return { sequences, seqLen, vocab, logits, labels, refLogps, options };
}

const lossTypes: Array<{ lossType: LossType; labelSmoothing: number }> = [
  { lossType: 'sigmoid', labelSmoothing: 0 }, // TRL's "sigmoid" has no label smoothing: eps 0 only
  { lossType: 'robust', labelSmoothing: 0.1 },
  { lossType: 'hinge', labelSmoothing: 0 },
  { lossType: 'ipo', labelSmoothing: 0 },
];
const cases: Case[] = [];
lossTypes.forEach((t, i) => {
  for (const sftWeight of [0, 0.2]) cases.push(makeCase(100 + 10 * i + (sftWeight ? 1 : 0), { beta: 0.1, sftWeight, ...t }));
});
// A large beta so that hinge and sigmoid are far from their easy regions.
cases.push(makeCase(7, { beta: 2, lossType: 'hinge', labelSmoothing: 0, sftWeight: 0.5 }));

/** float32 rounding: a few ulps of the larger magnitude (sums of ~10 log-probs of size ~10). */
const close = (a: number, b: number) => Math.abs(a - b) <= 2e-6 * Math.max(1, Math.abs(a), Math.abs(b));

describe.skipIf(!env.python)('dpoLoss equals TRL 1.13 DPOTrainer._compute_loss', () => {
  it('every loss type, with and without the SFT term, to float32 rounding', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ipo-trl-parity-'));
    writeFileSync(join(dir, 'cases.json'), JSON.stringify(cases));
    const trl = JSON.parse(runPython('trl_loss_oracle.py', [join(dir, 'cases.json')])) as Array<Record<string, number | string[] | number[]>>;
    expect(trl).toHaveLength(cases.length);
    cases.forEach((c, i) => {
      const ours = dpoLoss(
        { logits: Float32Array.from(c.logits), seqLen: c.seqLen, vocab: c.vocab, labels: Int32Array.from(c.labels), refLogps: Float32Array.from(c.refLogps) },
        { ...c.options, grad: 'none' },
      );
      const t = trl[i];
      const what = `${c.options.lossType} sft ${c.options.sftWeight}`;
      // The engine's mapping, as TRL received it.
      expect(t.lossTypes, what).toEqual(c.options.sftWeight > 0 ? [c.options.lossType, 'sft'] : [c.options.lossType]);
      expect(t.lossWeights, what).toEqual(c.options.sftWeight > 0 ? [1, c.options.sftWeight] : [1]);
      const mean = (xs: Float32Array) => xs.reduce((a, b) => a + b, 0) / xs.length;
      for (const [name, a, b] of [
        ['loss', ours.loss, t.loss],
        ['margin', mean(ours.margins), t.margin],
        ['chosen logps', mean(ours.chosenLogps), t.chosenLogps],
        ['rejected logps', mean(ours.rejectedLogps), t.rejectedLogps],
      ] as const) {
        expect(close(a, b as number), `${what}: ${name} ${a} vs TRL ${b}`).toBe(true);
      }
      expect(Math.fround(ours.accuracy), what).toBe(Math.fround(t.accuracy as number));
      expect(ours.loss, `${what}: the loss is not trivially 0`).toBeGreaterThan(0.01);
    });
  }, 180_000);
});
