/**
 * Many processes: `--launcher accelerate --num-processes 2` (torchrun under accelerate, gloo on CPU)
 * with the same global batch as one process (2 pairs a step: 1 process x 2 accumulated micro-batches
 * vs 2 processes x 1) gives the same losses and margins, step by step through both stages (3 steps
 * each, no warm-up, so steps 2 and 3 see weights the previous steps changed).
 *
 * Tolerance: 1e-4 relative. The sums differ only in float32 order (a gloo all-reduce of two
 * gradients vs their accumulation in one process); Adam divides by sqrt(v), which turns a rounding
 * difference in a near-zero gradient into a visible one, so the second step of each stage is not
 * guaranteed bitwise equal. Measured on this machine: bitwise equal (docs/train-trl.md).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../support/python-env.js';
import { cli, env, tinyQwen3 } from './helpers.js';

const COMMON = ['--max-steps', '3', '--warmup-ratio', '0', '--batch-size', '2', '--micro-batch', '1', '--max-length', '256', '--lr', '1e-3', '--heldout-share', '0', '--quiet'];

function train(out: string, extra: string[]) {
  const r = spawnSync(process.execPath, [cli, 'train', '--engine', 'trl', '--model', tinyQwen3(), '--out', out, ...COMMON, ...extra], {
    cwd: repoRoot,
    encoding: 'utf8',
    env: { ...process.env, IPO_PYTHON: env.python! },
    timeout: 480_000,
  });
  if (r.status !== 0) throw new Error(`ipo train failed (${r.status ?? r.signal}):\n${r.stdout}\n${r.stderr}`);
  return { output: r.stdout, steps: readSteps(out) };
}

function readSteps(out: string) {
  return readFileSync(join(out, 'metrics.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as { stage: number; step: number; loss: number; margin: number; accuracy: number; split?: string })
    .filter((l) => !l.split);
}

describe.skipIf(!env.python)('accelerate launch, 2 CPU processes', () => {
  it('the same global batch gives the same losses as 1 process', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ipo-trl-accel-'));
    const single = train(join(dir, 'one'), []);
    const port = String(20000 + Math.floor(Math.random() * 20000));
    const double = train(join(dir, 'two'), ['--launcher', 'accelerate', '--num-processes', '2', '--main-process-port', port]);
    // Really two processes in one gloo group, not two copies training alone.
    expect(single.output).toMatch(/stage 1: 1 process\(es\), NO/);
    expect(double.output).toMatch(/stage 1: 2 process\(es\), MULTI_CPU \(gloo\)/);
    const [one, two] = [single.steps, double.steps];
    expect(two.map((l) => `${l.stage}:${l.step}`)).toEqual(['1:1', '1:2', '1:3', '2:1', '2:2', '2:3']);
    expect(one.map((l) => `${l.stage}:${l.step}`)).toEqual(two.map((l) => `${l.stage}:${l.step}`));
    const report = one.map((a, i) => `${a.stage}:${a.step} loss ${a.loss} vs ${two[i].loss} (rel ${(Math.abs(a.loss - two[i].loss) / Math.abs(a.loss)).toExponential(1)})`).join('\n');
    console.log(`1 process vs 2 processes:\n${report}`);
    one.forEach((a, i) => {
      const b = two[i];
      expect(Math.abs(a.loss - b.loss) / Math.abs(a.loss), report).toBeLessThan(1e-4);
      expect(Math.abs(a.margin - b.margin), report).toBeLessThan(1e-4 * Math.max(1, Math.abs(a.margin)));
      expect(a.accuracy).toBe(b.accuracy);
    });
    // The compared steps see trained weights (no warm-up: step 1 already moves them).
    expect(one[1].margin).toBeGreaterThan(0);
    expect(one[2].loss).toBeLessThan(one[0].loss);
  }, 900_000);
});
