/**
 * The PyTorch CPU eager baseline (bench/torch_dpo.py: what TRL computes), run as a subprocess
 * with the same thread count, when a python3 that can `import torch` is present.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { Shape } from './inputs.js';

export interface TorchVariantResult {
  variant: 'log_softmax' | 'selective';
  timesMs: number[];
  medianMs: number;
  loss: number;
}

export interface TorchRun {
  torch: string;
  threads: number;
  dtype: 'float32' | 'bfloat16';
  results: TorchVariantResult[];
  maxRssBytes?: number; // the subprocess's peak resident memory
}

/** The first python that imports torch: the one asked for, else /usr/bin/python3, else python3. */
export function findTorchPython(requested?: string): { python: string; version: string } | { missing: string } {
  const candidates = requested ? [requested] : ['/usr/bin/python3', 'python3'];
  for (const python of candidates) {
    const probe = spawnSync(python, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8', timeout: 60_000 });
    if (probe.status === 0) return { python, version: probe.stdout.trim() };
  }
  return { missing: `no python with torch among ${candidates.join(', ')}` };
}

export function runTorchBaseline(
  python: string, repoRoot: string, shape: Shape, dtype: 'float32' | 'bfloat16', threads: number, iterations: number,
  variants: string[],
): TorchRun {
  const args = [
    join(repoRoot, 'bench', 'torch_dpo.py'),
    '--pairs', String(shape.pairs), '--seq-len', String(shape.seqLen), '--vocab', String(shape.vocab),
    '--dtype', dtype, '--threads', String(threads), '--iterations', String(iterations),
    '--variants', variants.join(','),
  ];
  const child = spawnSync(python, args, { encoding: 'utf8', timeout: 900_000, maxBuffer: 1 << 20 });
  if (child.status !== 0) {
    const why = child.error?.message ?? child.stderr.trim().split('\n').slice(-3).join(' | ');
    throw new Error(`torch baseline (${dtype}) failed: ${why}`);
  }
  return JSON.parse(child.stdout) as TorchRun;
}
