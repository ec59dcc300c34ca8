/**
 * The PyTorch bridge (python/ipo_node) in the project's Python environment: `dpo_loss` against the
 * float64 oracle (scripts/gpu/reference.py) and by-name errors (bridge_parity.py), and the TRL subclass
 * against TRL 1.13's own DPOTrainer, loss case by loss case and in real training steps of a 2-layer
 * Qwen3 (trl_parity.py). The Python scripts measure and print JSON; the assertions live here.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { pythonEnv, repoRoot } from '../support/python-env';

const env = pythonEnv();
const here = join(repoRoot, 'test', 'python');

function runScript(script: string): any {
  const child = spawnSync(env.python!, [join(here, script)], {
    encoding: 'utf8', cwd: here, maxBuffer: 64 << 20, timeout: 600_000,
    env: { ...process.env, OMP_NUM_THREADS: '2', TOKENIZERS_PARALLELISM: 'false' },
  });
  if (child.status !== 0) throw new Error(`${script} exited ${child.status}: ${child.stderr.slice(-3000)}`);
  return JSON.parse(child.stdout.trim().split('\n').pop()!);
}

describe.skipIf(!env.python)('ipo_node.dpo_loss (PyTorch bridge over the C ABI)', () => {
  let r: any;
  beforeAll(() => { r = runScript('bridge_parity.py'); }, 300_000);

  it('loads the library built beside the addon', () => {
    expect(r.library[0], r.library[1]).toBe(true);
    expect(r.library[1]).toMatch(/libipo(_cuda)?\.so \(ipo-node \d/);
  });

  it('says exactly why a library did not load (IPO_LIB missing, not a shared library)', () => {
    const probe = (lib: string) => {
      const child = spawnSync(env.python!, ['-c',
        'import json, ipo_node; print(json.dumps(ipo_node.library_status()))'],
      { encoding: 'utf8', cwd: join(repoRoot, 'python'), env: { ...process.env, IPO_LIB: lib } });
      expect(child.status, child.stderr).toBe(0);
      return JSON.parse(child.stdout) as [boolean, string];
    };
    expect(probe('/nonexistent/libipo.so')).toEqual([false, 'IPO_LIB=/nonexistent/libipo.so: no such file']);
    const notElf = probe(join(repoRoot, 'package.json'));
    expect(notElf[0]).toBe(false);
    expect(notElf[1]).toMatch(/^IPO_LIB=.*package\.json: dlopen failed: .*(invalid ELF header|too short)/);
  });

  it('matches the float64 oracle: every loss type, with and without sft_weight, float32 and bfloat16', () => {
    expect(r.cases.length).toBe(30);
    for (const c of r.cases) {
      const bf16 = c.dtype === 'bfloat16';
      for (const key of ['loss', 'chosenLogps', 'rejectedLogps', 'chosenRewards', 'rejectedRewards', 'margins']) {
        // 16-bit inputs accumulate in float32, so the scalars are float32-exact on the rounded logits.
        expect(c[key], `${c.name}: ${key}`).toBeLessThan(1e-6);
      }
      expect(c.accuracyDiff, c.name).toBeLessThan(1e-6);
      // The gradient is written in the input dtype: bf16 rounding (2^-9 relative) bounds it.
      expect(c.grad, `${c.name}: gradient`).toBeLessThan(bf16 ? 5e-3 : 1e-6);
      expect(c.gradDtype, c.name).toBe(c.dtype);
      expect(c.unscoredGradZero, `${c.name}: unscored rows get exactly 0`).toBe(true);
    }
    const names = r.cases.map((c: any) => c.name).join('|');
    for (const t of ['sigmoid', 'robust', 'hinge', 'ipo', 'odd vocab 31', 'grad_output 2.5', 'logits[:, :-1]', 'logits[:, 1:]']) {
      expect(names).toContain(t);
    }
  });

  it('gives the same loss and gradient bit for bit with 1 and 2 threads', () => {
    expect(r.threads).toEqual({ lossEqual: true, gradEqual: true });
  });

  it('recycles large gradient buffers: scribbled-over buffers still give exact zeros and the oracle\'s gradient', () => {
    expect(r.recycled.grad).toBeLessThan(1e-6);
    expect(r.recycled.unscoredGradZero).toBe(true);
  });

  it('runs without a gradient under no_grad, and gives the reference-pass log-probs', () => {
    expect(r.noGrad.noGradFn).toBe(true);
    expect(r.noGrad.noGradLoss).toBeLessThan(1e-6);
    expect(r.noGrad.sequenceLogprobs).toBeLessThan(1e-6);
    expect(r.noGrad.tokenLogprobs).toBeLessThan(1e-6);
  });

  it('builds causal labels as TRL shifts them: row t scores token t+1 of the completion', () => {
    // input_ids [5,6,7,8,0] with completion mask [0,0,1,1,0]: rows 1 and 2 score tokens 7 and 8.
    expect(r.causalLabels).toEqual([[-100, 7, 8, -100, -100], [9, 9, -100, -100, -100]]);
  });

  it('raises errors that name the argument (and the first bad sequence and position)', () => {
    const e = r.errors;
    const expectError = (k: string, type: string, argument: string, code: string) => {
      expect(e[k], k).not.toBeNull();
      expect(e[k].bases, k).toContain(type);
      expect([e[k].argument, e[k].code], k).toEqual([argument, code]);
      expect(e[k].message, k).toContain(argument);
    };
    expectError('logitsNotTensor', 'TypeError', 'logits', 'IPO_ERR_TYPE');
    expectError('logitsInt', 'TypeError', 'logits', 'IPO_ERR_TYPE');
    expectError('logits2d', 'ValueError', 'logits', 'IPO_ERR_RANGE');
    expectError('labelsShape', 'ValueError', 'labels', 'IPO_ERR_RANGE');
    expectError('labelsFloat', 'TypeError', 'labels', 'IPO_ERR_TYPE');
    expectError('labelOutOfRange', 'ValueError', 'labels', 'IPO_ERR_RANGE');
    expect([e.labelOutOfRange.sequence, e.labelOutOfRange.position]).toEqual([1, 3]);
    expectError('refLength', 'ValueError', 'ref_logps', 'IPO_ERR_RANGE');
    expectError('beta', 'ValueError', 'beta', 'IPO_ERR_RANGE');
    expectError('betaType', 'TypeError', 'beta', 'IPO_ERR_TYPE');
    expectError('lossType', 'TypeError', 'loss_type', 'IPO_ERR_TYPE');
    expectError('labelSmoothing', 'ValueError', 'label_smoothing', 'IPO_ERR_RANGE');
    expectError('sftWeight', 'ValueError', 'sft_weight', 'IPO_ERR_RANGE');
    expectError('oddSequences', 'ValueError', 'labels', 'IPO_ERR_RANGE');
    expect(e.oddSequences.message).toContain('odd number');
    expectError('emptySequence', 'ValueError', 'labels', 'IPO_ERR_RANGE');
    expect(e.emptySequence.sequence).toBe(3);
    expectError('nanInScoredRow', 'ValueError', 'logits', 'IPO_ERR_NONFINITE');
    expect([e.nanInScoredRow.sequence, e.nanInScoredRow.position]).toEqual([2, 4]);
    expect(e.nanInUnscoredRowIsFine).toBeNull();
    expect(e.backwardTwice.type).toBe('RuntimeError');
    expect(e.backwardTwice.message).toContain('backward ran twice');
  });
});

describe.skipIf(!env.python)('ipo_node.trl_fused: DPOTrainer with the fused loss vs TRL 1.13', () => {
  let r: any;
  beforeAll(() => { r = runScript('trl_parity.py'); }, 600_000);

  it('is a subclass of the trainer class it was given', () => {
    expect(r.isSubclass).toBe(true);
    expect(r.fusedClass).toBe('FusedPretokenizedDPOTrainer');
    expect(r.unscoredShare).toBeGreaterThan(0.2); // prompt and padding rows are in the batch, unscored
  });

  it('computes TRL\'s loss and gradient on the same logits, every kernel loss type, with and without "sft"', () => {
    expect(r.loss.length).toBe(20);
    for (const c of r.loss) {
      const bf16 = c.dtype === 'bfloat16';
      expect(c.fusedLossVsOracle, c.name).toBeLessThan(1e-6);
      expect(c.trlLossVsOracle, `${c.name}: the oracle reproduces TRL`).toBeLessThan(bf16 ? 2e-2 : 1e-5);
      expect(c.fusedLossVsTrl, c.name).toBeLessThan(bf16 ? 2e-2 : 1e-5);
      expect(c.fusedGradVsOracle, c.name).toBeLessThan(bf16 ? 5e-3 : 1e-6);
      expect(c.fusedGradVsTrl, c.name).toBeLessThan(bf16 ? 2e-2 : 1e-5);
      // TRL's bf16 path runs log_softmax in bf16; the kernel accumulates in float32, so it is closer.
      expect(c.fusedGradVsOracle, c.name).toBeLessThanOrEqual(c.trlGradVsOracle * 1.5);
      expect(c.gradDtypes[0], c.name).toBe(c.gradDtypes[1]);
      const keys = Object.keys(c.metrics);
      expect(keys.sort(), c.name).toEqual(['entropy', 'logits/chosen', 'logits/rejected', 'logps/chosen',
        'logps/rejected', 'mean_token_accuracy', 'num_tokens', 'rewards/accuracies', 'rewards/chosen',
        'rewards/margins', 'rewards/rejected']);
      // The same rows in both (the fused path gathers the completion rows first): summation order only.
      for (const k of ['entropy', 'logits/chosen', 'logits/rejected']) expect(c.metrics[k], `${c.name}: ${k}`).toBeLessThan(1e-6);
      for (const k of ['mean_token_accuracy', 'num_tokens', 'rewards/accuracies']) expect(c.metrics[k], `${c.name}: ${k}`).toBe(0);
      if (!bf16) for (const k of keys) expect(c.metrics[k], `${c.name}: ${k}`).toBeLessThan(1e-5);
    }
  });

  it('trains a 2-layer Qwen3 as plain DPOTrainer does (reference model, precomputed, sft, LoRA): gradients, logs, weights', () => {
    expect(r.train.map((t: any) => t.name)).toEqual(['reference model', 'precomputed reference', 'sigmoid+sft',
      'LoRA adapter']);
    for (const t of r.train) {
      expect(t.steps, t.name).toBe(2);
      expect(t.logKeysFused, t.name).toEqual(t.logKeysTrl);
      expect(t.gradParams[0], t.name).toBe(t.gradParams[1]);
      // every weight of the 2-layer model (25 tensors), or the LoRA A/B of q, v (2 layers) and lm_head
      expect(t.gradParams[0], t.name).toBe(t.name === 'LoRA adapter' ? 10 : 25);
      expect(Math.abs(t.loss0[0] - t.loss0[1]) / t.loss0[1], t.name).toBeLessThan(1e-5);
      expect(t.gradMaxRel, `${t.name}: first-step parameter gradients`).toBeLessThan(1e-5);
      expect(t.weightsMaxRel, `${t.name}: weights after 2 steps`).toBeLessThan(1e-4);
      if (t.name === 'precomputed reference') {
        // compute_ref_log_probs (fused sequence_logprobs) against TRL's selective_log_softmax
        expect(t.precomputedRefRel).not.toBeNull();
        expect(t.precomputedRefRel).toBeLessThan(1e-6);
      } else expect(t.precomputedRefRel).toBeNull();
      for (const [k, v] of Object.entries(t.historyMaxRel)) {
        // At the first step the policy equals the reference: every reward is ~0 and which of two
        // ties "wins" (rewards/accuracies) is float noise, so it is compared on the loss cases above.
        // With the LoRA adapter (random-init B) the policy differs from the reference from the start.
        if (k === 'rewards/accuracies' && t.name !== 'LoRA adapter') continue;
        // rewards are ~1e-7 at step 1: relative to a 1e-3 floor.
        expect(v as number, `${t.name}: logged ${k}`).toBeLessThan(1e-3);
      }
    }
  });
});
