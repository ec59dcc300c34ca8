/**
 * `ipo train --engine trl` end to end, as a user runs it, on a tiny random-init Qwen3 (2 layers, the
 * real tokenizer) and the shipped pairs: killed mid-stage-1 and re-run with the same --out, it
 * resumes from TRL's checkpoint and finishes both stages; metrics.jsonl has every step once, finite
 * losses and a held-out harmful margin above its start; OUT/stage2 loads with transformers.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadTokenizer } from '../../../lib/data/tokenizer.js';
import { repoRoot } from '../../support/python-env.js';
import { cli, env, runPython, tinyQwen3 } from './helpers.js';

const SMALL = ['--max-steps', '2', '--batch-size', '2', '--micro-batch', '1', '--max-length', '256', '--lr', '1e-3', '--heldout-share', '0.2', '--save-every', '1'];

function runCli(args: string[], killWhen?: () => boolean): Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }> {
  return new Promise((resolve, reject) => {
    // Its own process group, so a kill takes the Python side down with it, as a crash of the machine would.
    const child = spawn(process.execPath, [cli, 'train', ...args], { cwd: repoRoot, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, IPO_PYTHON: env.python! } });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const timer = killWhen && setInterval(() => killWhen() && process.kill(-child.pid!, 'SIGKILL'), 200);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (timer) clearInterval(timer);
      resolve({ code, signal, output });
    });
  });
}

const readLines = (path: string) =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Record<string, number | string>);

beforeAll(() => {
  if (!existsSync(join(repoRoot, 'dist', 'cli', 'train-trl.js')) || statSync(join(repoRoot, 'dist', 'cli', 'train-trl.js')).mtimeMs < statSync(join(repoRoot, 'lib', 'cli', 'train-trl.ts')).mtimeMs) {
    spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: repoRoot, stdio: 'ignore' });
  }
}, 120_000);

describe.skipIf(!env.python)('ipo train --engine trl', () => {
  it('bad input gives one clear message: no model, a missing interpreter, an uneven batch', async () => {
    let r = await runCli(['--engine', 'trl']);
    expect(r.code).toBe(2);
    expect(r.output).toMatch(/--engine trl needs --model DIR/);
    r = await runCli(['--engine', 'trl', '--model', '/nonexistent', '--python', '/nonexistent/python']);
    expect(r.code).toBe(1);
    expect(r.output).toMatch(/cannot run the Python interpreter '\/nonexistent\/python'.*pip install -r .*requirements\.txt/);
    r = await runCli(['--engine', 'trl', '--model', '/nonexistent', '--batch-size', '3', '--micro-batch', '2']);
    expect(r.output).toMatch(/--batch-size \(3\) must be a multiple of --micro-batch x --num-processes/);
    const small = mkdtempSync(join(tmpdir(), 'ipo-trl-small-'));
    writeFileSync(join(small, 'config.json'), JSON.stringify({ model_type: 'qwen3', vocab_size: 1000 }));
    r = await runCli(['--engine', 'trl', '--model', small, '--out', join(small, 'out')]);
    expect(r.code).toBe(1);
    expect(r.output).toMatch(/has no tokenizer\.json: using .*tokenizer-qwen3/);
    expect(r.output).toMatch(/its vocabulary has 1000 rows but the tokenizer produced id \d+: pass the model's own tokenizer/);
    r = await runCli(['--engine', 'nope']);
    expect(r.code).toBe(2);
    expect(r.output).toMatch(/--engine must be tfjs or trl/);
  }, 120_000);

  it('--fused-loss: auto falls back with a reason, on fails with it, off is off', () => {
    const r = JSON.parse(runPython('fused_status.py', [])) as Record<string, { fused?: boolean; why?: string; error?: string }> & { status: [boolean, string] };
    const [available] = r.status;
    expect(r.off).toEqual({ fused: false, why: "fused loss off (--no-fused-loss): TRL's own loss" });
    expect(r.auto.fused).toBe(available);
    if (available) {
      expect(r.on.fused).toBe(true);
    } else {
      expect(r.auto.why).toMatch(/^fused loss unavailable, using TRL's own loss: /);
      expect(r.on.error).toMatch(/^--fused-loss was asked for but is unavailable: /);
    }
  }, 120_000);

  it('trains both stages, resumes after a kill, and writes metrics, chart and loadable checkpoints', async () => {
    const model = tinyQwen3();
    const out = join(mkdtempSync(join(tmpdir(), 'ipo-trl-run-')), 'out');
    const args = ['--engine', 'trl', '--model', model, '--out', out, ...SMALL];
    const checkpoint = join(out, 'stage1-trainer', 'checkpoint-1', 'trainer_state.json');
    const killed = await runCli(args, () => existsSync(checkpoint));
    expect(killed.signal ?? killed.code, killed.output).not.toBe(0);
    expect(existsSync(join(out, 'stage2', 'ipo-stage.json'))).toBe(false);

    const resumed = await runCli(args);
    expect(resumed.code, resumed.output).toBe(0);
    expect(resumed.output).toMatch(/resuming at stage 1, after step [12]/);
    expect(resumed.output).toMatch(/fused loss (on: |unavailable, using TRL's own loss)/);

    const lines = readLines(join(out, 'metrics.jsonl'));
    const steps = lines.filter((l) => !('split' in l));
    expect(steps.map((l) => `${l.stage}:${l.step}`)).toEqual(['1:1', '1:2', '2:1', '2:2']);
    for (const l of steps) {
      expect(Number.isFinite(l.loss)).toBe(true);
      expect(Object.keys(l).sort()).toEqual(['accuracy', 'epoch', 'loss', 'lr', 'margin', 'pairs', 'stage', 'step']);
      expect(l.pairs).toBe(2);
    }
    // Cosine with warm-up over 2 steps, as lib/train/schedule.ts: W = ceil(0.1 * 2) = 1, so step 1 runs at
    // peak x (0 + 1) / (1 + 1) (never 0: the first step must move the weights), step 2 at the cosine's start.
    expect(steps.map((l) => l.lr)).toEqual([5e-4, 1e-3, 5e-4, 1e-3]);
    // Stage 1 is pure DPO: log 2 before any update; stage 2 adds the SFT term (0.2 x NLL, NLL ~ log 151669 here).
    expect(steps[0].loss).toBeCloseTo(Math.log(2), 5);
    expect(steps[2].loss).toBeGreaterThan(Math.log(2) + 0.2 * 5);
    const harmful = lines.filter((l) => l.split === 'heldout');
    expect(harmful.map((l) => `${l.stage}:${l.step}`)).toEqual(['1:0', '1:2', '2:2']);
    expect(harmful[0].margin).toBe(0);
    expect(harmful[harmful.length - 1].margin).toBeGreaterThan(harmful[0].margin as number);
    expect(lines.filter((l) => l.split === 'heldout-benign').length).toBe(3);
    expect(readFileSync(join(out, 'chart.svg'), 'utf8')).toMatch(/^<svg[\s\S]*polyline[\s\S]*<\/svg>\s*$/);

    for (const stage of ['stage1', 'stage2']) {
      for (const f of ['model.safetensors', 'config.json', 'tokenizer.json', 'tokenizer_config.json']) expect(existsSync(join(out, stage, f)), `${stage}/${f}`).toBe(true);
      expect(existsSync(join(out, `${stage}-trainer`))).toBe(false);
    }
    const loaded = JSON.parse(runPython('check_stage.py', [join(out, 'stage2')])) as Record<string, unknown>;
    expect(loaded).toMatchObject({ arch: 'Qwen3ForCausalLM', finite: true, chat_template: true });
    expect(loaded.vocab as number).toBeGreaterThanOrEqual(151669);
    // ipo-node's own loader reads the saved tokenizer and template too (`ipo eval`, `ipo train --tokenizer`).
    expect(loadTokenizer(join(out, 'stage2')).template).not.toBeNull();

  }, 900_000);
});
