import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { run } from '../../lib/cli/train.js';

const root = join(import.meta.dirname, '..', '..');
const cli = join(root, 'dist', 'cli', 'main.js');
// Small and quick: a narrow model, short sequences, 3 steps per stage on the shipped default pairs.
const SMALL = ['--steps', '3', '--dim', '8', '--max-length', '96', '--batch-size', '4', '--micro-batch', '2', '--lr', '0.01', '--quiet'];

beforeAll(() => {
  // The kill test needs a real process; build dist when this run has none (npm test builds first).
  if (!existsSync(join(root, 'dist', 'cli', 'train.js')) || statSync(join(root, 'dist', 'cli', 'train.js')).mtimeMs < statSync(join(root, 'lib', 'cli', 'train.ts')).mtimeMs) {
    spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'ignore' });
  }
}, 120_000);

afterEach(() => {
  vi.restoreAllMocks();
});

const readLines = (path: string) =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Record<string, unknown>);

function runCli(args: string[], killWhen?: (metrics: string) => boolean, signal: NodeJS.Signals = 'SIGKILL'): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, 'train', ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stdout += d));
    let timer: NodeJS.Timeout | undefined;
    if (killWhen) {
      const out = args[Math.max(args.indexOf('--output'), args.indexOf('--out')) + 1];
      timer = setInterval(() => {
        const path = join(out, 'metrics.jsonl');
        if (existsSync(path) && killWhen(readFileSync(path, 'utf8'))) {
          child.kill(signal);
          clearInterval(timer);
        }
      }, 20);
    }
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (timer) clearInterval(timer);
      resolve({ code, signal, stdout });
    });
  });
}

describe('ipo train', () => {
  it('prints help, and a one-line reason with exit code 2 on bad flags', async () => {
    const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    expect(await run(['--help'])).toBe(0);
    const help = String(out.mock.calls[0][0]);
    expect(help).toMatch(/--pairs FILE.*--benign FILE.*--tokenizer DIR.*--steps N.*--output DIR.*--seed N/s);
    // the help reads the ratio the way the run's log line does: harmful:benign
    expect(help).toMatch(/--mix-ratio X +stage 2 harmful:benign ratio: X harmful pairs drawn per benign pair/);
    expect(await run(['--steps', 'zero'])).toBe(2);
    expect(String(err.mock.calls.at(-1)![0])).toMatch(/^ipo train: --steps must be an integer >= 1, got 'zero'\nusage: ipo train /);
    expect(await run(['--bogus'])).toBe(2);
    expect(String(err.mock.calls.at(-1)![0])).toMatch(/^ipo train: .*bogus.*\nusage: ipo train /);
    expect(await run(['--mix-ratio', '-1'])).toBe(2);
    expect(await run(['--out', 'a', '--output', 'b'])).toBe(2);
  });

  it('fails naming the line when a pairs file holds the other kind of pair', async () => {
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const harmful = join(root, 'data', 'train', 'harmful.jsonl');
    expect(await run(['--benign', harmful, '--output', mkdtempSync(join(tmpdir(), 'ipo-kind-'))])).toBe(1);
    expect(String(err.mock.calls.at(-1)![0])).toBe(`ipo train: ${harmful}:1: a pair with kind "intervened" where kind "benign" pairs are expected\n`);
  });

  it('runs both stages on the shipped default, and resumes after a kill with the same steps as an uninterrupted run', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ipo-train-'));
    const straight = join(dir, 'straight');
    const killed = join(dir, 'killed');

    const a = await runCli([...SMALL, '--output', straight]);
    expect(a.code, a.stdout).toBe(0);
    // the final summary reports both held-out splits
    expect(a.stdout).toMatch(/^done in \d+ s: 6 steps; held-out harmful margin \S+ -> \S+, accuracy \S+ -> \S+; held-out benign margin \S+ -> \S+, accuracy \S+ -> \S+$/m);
    const lines = readLines(join(straight, 'metrics.jsonl'));
    const steps = lines.filter((l) => !('split' in l));
    const evals = lines.filter((l) => l.split === 'heldout');
    // Contract: one line a step with these fields, 3 steps per stage, an eval line per stage.
    expect(steps.map((l) => `${l.stage}:${l.step}`)).toEqual(['1:1', '1:2', '1:3', '2:1', '2:2', '2:3']);
    for (const l of steps) for (const key of ['loss', 'margin', 'accuracy', 'lr']) expect(typeof l[key]).toBe('number');
    expect(evals.map((l) => `${l.stage}:${l.step}`)).toEqual(['1:0', '1:3', '2:3']);
    // Held-out harmful pairs: the margin and the accuracy rise from the untrained model.
    expect(evals[2].margin as number).toBeGreaterThan(evals[0].margin as number);
    expect(evals[2].accuracy as number).toBeGreaterThan(evals[0].accuracy as number);
    const svg = readFileSync(join(straight, 'chart.svg'), 'utf8');
    expect(svg).toMatch(/^<svg[^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    expect(svg.match(/<polyline/g)!.length).toBe(6); // 3 panels x 2 stages
    expect(svg.match(/<circle/g)!.length).toBeGreaterThanOrEqual(6); // held-out points on 2 panels
    const state = JSON.parse(readFileSync(join(straight, 'checkpoint', 'state.json'), 'utf8'));
    expect(state.meta.schedule.finished).toBe(true);
    expect(existsSync(join(straight, 'checkpoint', state.weightsFile))).toBe(true);

    // Kill hard as soon as stage 1 step 2 is on disk (mid-run: checkpoint or next step in flight).
    const k = await runCli([...SMALL, '--output', killed], (text) => text.includes('"stage":1,"step":2,'));
    expect(k.signal).toBe('SIGKILL');
    // the deprecated spelling still works, with a warning
    const b = await runCli([...SMALL, '--out', killed]);
    expect(b.code, b.stdout).toBe(0);
    expect(b.stdout).toContain('ipo train: --out is deprecated: use --output');
    expect(b.stdout).toMatch(/resuming .* at stage 1, after step [12]/);
    expect(readLines(join(killed, 'metrics.jsonl'))).toEqual(lines);
  }, 180_000);

  it('Ctrl-C says that a re-run resumes', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'ipo-train-int-')), 'run');
    const r = await runCli([...SMALL, '--output', out], (text) => text.includes('"stage":1,"step":1,'), 'SIGINT');
    expect(r.code).toBe(130);
    expect(r.stdout).toContain(`ipo train: interrupted; the checkpoint in ${out}/checkpoint holds the last finished step: re-run the same command to resume`);
  }, 120_000);
});
