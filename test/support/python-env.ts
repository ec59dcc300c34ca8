/**
 * The Python environment (torch 2.x, transformers, TRL, accelerate) for the TRL engine and PyTorch
 * bridge tests: `IPO_PYTHON`, else `.venv/bin/python` (made by `bash scripts/setup-python.sh`).
 * Under CI a missing environment fails the suite; on a developer machine those tests skip and say why.
 */
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

export interface PythonEnv {
  /** the interpreter, or null when none can import torch and trl */
  python: string | null;
  /** why it is null */
  reason: string;
}

let cached: PythonEnv | undefined;

export function pythonEnv(): PythonEnv {
  if (cached) return cached;
  const candidate = process.env.IPO_PYTHON ?? `${repoRoot}.venv/bin/python`;
  if (!process.env.IPO_PYTHON && !existsSync(candidate)) {
    cached = { python: null, reason: `no IPO_PYTHON and no ${candidate}: run \`bash scripts/setup-python.sh\`` };
  } else {
    const probe = spawnSync(candidate, ['-c', 'import torch, trl, transformers, accelerate'], { encoding: 'utf8' });
    cached = probe.status === 0
      ? { python: candidate, reason: '' }
      : { python: null, reason: `${candidate} cannot import torch/trl/transformers/accelerate: ${(probe.stderr || String(probe.error)).trim().split('\n').pop()}` };
  }
  if (!cached.python && process.env.CI) throw new Error(`CI needs the Python environment: ${cached.reason}`);
  if (!cached.python) console.warn(`Python-environment tests skipped: ${cached.reason}`);
  return cached;
}

export { repoRoot };
