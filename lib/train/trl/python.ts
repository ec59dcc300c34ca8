/**
 * The Python side of the TRL engine: which interpreter, whether it can run TRL (one clear message
 * with the install command when not), and the command line that starts training, as one process or
 * through `accelerate launch`.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** python/ in the package (beside dist/ and lib/): the `ipo_node` package lives there. */
export function pythonPackageDir(): string {
  return fileURLToPath(new URL('../../../python/', import.meta.url));
}

export function resolvePython(flag?: string): string {
  return flag ?? process.env.IPO_PYTHON ?? 'python3';
}

export function pythonEnvFor(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const dir = pythonPackageDir();
  const path = process.env.PYTHONPATH ? `${dir}:${process.env.PYTHONPATH}` : dir;
  return { ...process.env, PYTHONPATH: path, PYTHONUNBUFFERED: '1', TOKENIZERS_PARALLELISM: 'false', ...extra };
}

/** Throws one sentence (with the install command) when `python` cannot run the engine; returns its versions line. */
export function checkPython(python: string): string {
  const r = spawnSync(python, ['-m', 'ipo_node.trl_env'], { env: pythonEnvFor(), encoding: 'utf8' });
  const requirements = `${pythonPackageDir()}requirements.txt`;
  if (r.error) {
    throw new Error(
      `cannot run the Python interpreter '${python}' (${(r.error as NodeJS.ErrnoException).code ?? r.error.message}): ` +
        `pass --python PATH or set IPO_PYTHON; make an environment with: python3 -m venv .venv && .venv/bin/pip install -r ${requirements}`,
    );
  }
  if (r.status !== 0) {
    const last = (r.stderr || r.stdout).trim().split('\n').pop() ?? '';
    if (last.includes('Install with:')) throw new Error(last);
    throw new Error(`'${python}' cannot run the TRL engine: ${last}. Install with: ${python} -m pip install -r ${requirements}`);
  }
  return r.stdout.trim();
}

export interface LaunchOptions {
  python: string;
  configPath: string;
  launcher: 'python' | 'accelerate';
  numProcesses: number;
  accelerateConfig?: string;
  deepspeedConfig?: string;
  mainProcessPort?: number;
}

/** [command, args]: `python -m ipo_node.trl_train CONFIG`, or the same module under `accelerate launch`. */
export function launchCommand(o: LaunchOptions): [string, string[]] {
  const module = ['-m', 'ipo_node.trl_train', o.configPath];
  if (o.launcher === 'python') return [o.python, module];
  const args = ['-m', 'accelerate.commands.launch', '--num_processes', String(o.numProcesses)];
  if (o.accelerateConfig) args.push('--config_file', o.accelerateConfig);
  else if (o.numProcesses > 1 && !o.deepspeedConfig) args.push('--multi_gpu', '--num_machines', '1');
  if (o.deepspeedConfig) args.push('--use_deepspeed', '--deepspeed_config_file', o.deepspeedConfig);
  if (o.mainProcessPort !== undefined) args.push('--main_process_port', String(o.mainProcessPort));
  return [o.python, [...args, ...module]];
}
