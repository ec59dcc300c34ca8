/**
 * Finds and loads the native addon, and says exactly why each candidate was or was not taken.
 *
 * Order: IPO_BACKEND=cpu|cuda|js forces one (and fails loudly if it cannot load); otherwise the CUDA
 * binary when a usable device is present (probed in a child process, since a broken driver can take
 * the process down, and cached per binary), then the CPU binary, then the float64 TypeScript
 * reference with a warning. Binaries are looked for in prebuilds/<platform>-<arch>/ (the npm
 * package) and build/Release or build-cuda/Release (a source build); IPO_ADDON_PATH names one file.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BackendInfo, DpoInput, DpoOptions, DpoResult, GradientCacheInfo, LogitsInput } from './types.js';

export interface NativeBinding {
  tokenLogprobs(input: LogitsInput): Float32Array;
  sequenceLogprobs(input: LogitsInput): Float32Array;
  dpoLoss(input: DpoInput, options?: DpoOptions): DpoResult;
  dpoLossAsync(input: DpoInput, options?: DpoOptions): Promise<DpoResult>;
  backendInfo(): BackendInfo;
  selectSimd(name: string): string;
  gradientCacheInfo(): GradientCacheInfo;
  trimGradientCache(): number;
  /** Present in the CUDA build only. */
  cuda?: Record<string, (...args: any[]) => any>;
  [key: string]: unknown;
}

export type BackendName = 'cuda' | 'cpu' | 'js';

export interface Attempt {
  backend: BackendName;
  path?: string;
  ok: boolean;
  reason: string;
}

export interface LoadedBackend {
  backend: BackendName;
  binding?: NativeBinding;
  path?: string;
  attempts: Attempt[];
  /** Set when a faster backend was not used. */
  reason?: string;
}

const requireNative = createRequire(import.meta.url);

/** The package root: two levels above lib/loss (source) or dist/loss (compiled). */
export function packageRoot(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
}

export function candidatePaths(backend: 'cpu' | 'cuda', root = packageRoot()): string[] {
  const file = backend === 'cuda' ? 'ipo_cuda.node' : 'ipo.node';
  const platform = `${process.platform}-${process.arch}`;
  // A source build comes first: in a checkout it is the one just compiled; the npm package has none.
  const dirs =
    backend === 'cuda'
      ? [join(root, 'build-cuda', 'Release'), join(root, 'build', 'Release'), join(root, 'prebuilds', platform)]
      : [join(root, 'build', 'Release'), join(root, 'prebuilds', platform)];
  return dirs.map((d) => join(d, file));
}

function describe(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.split('\n')[0];
}

function tryRequire(path: string): { binding?: NativeBinding; reason: string } {
  try {
    const binding = requireNative(path) as NativeBinding;
    if (typeof binding.dpoLoss !== 'function') return { reason: `${path} loaded but does not export dpoLoss (a stale or foreign binary)` };
    return { binding, reason: 'loaded' };
  } catch (err) {
    return { reason: `failed to load ${path}: ${describe(err)}` };
  }
}

/**
 * Asks a child process whether the CUDA binary loads and sees a device. The answer is cached per
 * binary (path, size, mtime) so the probe runs once per install, not once per import.
 */
export function probeCuda(path: string): { ok: boolean; reason: string } {
  const st = statSync(path);
  const key = createHash('sha256').update(`${path}\0${st.size}\0${st.mtimeMs}\0${process.version}`).digest('hex').slice(0, 16);
  const cacheDir = join(tmpdir(), 'ipo-node');
  const cacheFile = join(cacheDir, `cuda-probe-${key}.json`);
  if (existsSync(cacheFile) && !process.env.IPO_NO_PROBE_CACHE) {
    try {
      return JSON.parse(readFileSync(cacheFile, 'utf8')) as { ok: boolean; reason: string };
    } catch {
      /* re-probe */
    }
  }
  const script = `
    const b = require(${JSON.stringify(path)});
    const c = b.cuda;
    const answer = !c ? { devices: [], reason: 'the binary has no CUDA functions' }
      : { devices: c.devices(), reason: typeof c.status === 'function' ? c.status().reason : '' };
    process.stdout.write(JSON.stringify(answer));`;
  const child = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 60_000 });
  let answer: { ok: boolean; reason: string };
  if (child.status !== 0) {
    const detail = (child.stderr || '').trim().split('\n').filter(Boolean).slice(-1)[0] ?? '';
    answer = { ok: false, reason: `the CUDA probe process ${child.signal ? `died with ${child.signal}` : `exited with ${child.status}`}${detail ? `: ${detail}` : ''}` };
  } else {
    try {
      const probe = JSON.parse(child.stdout) as { devices: Array<{ name: string }>; reason?: string };
      answer = probe.devices.length > 0
        ? { ok: true, reason: `${probe.devices.length} CUDA device(s): ${probe.devices.map((d) => d.name).join(', ')}` }
        : { ok: false, reason: `no usable CUDA device${probe.reason ? `: ${probe.reason}` : ''}` };
    } catch {
      answer = { ok: false, reason: 'the CUDA probe printed no device list' };
    }
  }
  try {
    mkdirSync(cacheDir, { recursive: true });
    writeFileSync(cacheFile, JSON.stringify(answer));
  } catch {
    /* an unwritable tmpdir only costs a re-probe */
  }
  return answer;
}

function loadNative(backend: 'cpu' | 'cuda', attempts: Attempt[], root: string, explicit?: string): LoadedBackend | undefined {
  for (const path of explicit ? [resolve(explicit)] : candidatePaths(backend, root)) {
    if (!existsSync(path)) {
      attempts.push({ backend, path, ok: false, reason: `not found: ${path}` });
      continue;
    }
    if (backend === 'cuda') {
      const probe = probeCuda(path);
      if (!probe.ok) {
        attempts.push({ backend, path, ok: false, reason: probe.reason });
        continue;
      }
    }
    const { binding, reason } = tryRequire(path);
    attempts.push({ backend, path, ok: !!binding, reason });
    if (binding) return { backend, binding, path, attempts };
  }
  return undefined;
}

/** Resolves the backend without caching (ipo doctor and tests call this directly). */
export function resolveBackend(env: NodeJS.ProcessEnv = process.env, root = packageRoot()): LoadedBackend {
  const forced = env.IPO_BACKEND?.trim().toLowerCase();
  const explicit = env.IPO_ADDON_PATH?.trim() || undefined;
  const attempts: Attempt[] = [];
  if (forced && forced !== 'auto') {
    if (forced === 'js') return { backend: 'js', attempts: [{ backend: 'js', ok: true, reason: 'forced by IPO_BACKEND=js' }], reason: 'IPO_BACKEND=js' };
    if (forced !== 'cpu' && forced !== 'cuda') throw new Error(`IPO_BACKEND must be cpu, cuda, js or auto (got '${env.IPO_BACKEND}')`);
    const loaded = loadNative(forced, attempts, root, explicit);
    if (loaded) return loaded;
    throw new Error(`IPO_BACKEND=${forced} but no ${forced} binary could be used:\n${attempts.map((a) => `  - ${a.reason}`).join('\n')}`);
  }
  const loaded = explicit
    ? loadNative(/cuda/i.test(explicit) ? 'cuda' : 'cpu', attempts, root, explicit)
    : (loadNative('cuda', attempts, root) ?? loadNative('cpu', attempts, root));
  if (loaded) {
    if (loaded.backend === 'cpu') loaded.reason = attempts.filter((a) => a.backend === 'cuda').map((a) => a.reason).join('; ') || undefined;
    return loaded;
  }
  return {
    backend: 'js',
    attempts,
    reason: `no native binary could be loaded (${attempts.map((a) => a.reason).join('; ')})`,
  };
}

let cached: LoadedBackend | undefined;
let warned = false;

/** The backend in use, loaded once per process. */
export function backend(): LoadedBackend {
  if (!cached) {
    cached = resolveBackend();
    if (cached.backend === 'js' && !warned && process.env.IPO_BACKEND?.toLowerCase() !== 'js') {
      warned = true;
      process.emitWarning(
        `ipo-node: using the float64 TypeScript reference (slow). ${cached.reason}. Build the addon with 'npm run build:native' or install a package with prebuilds.`,
        { code: 'IPO_NATIVE_FALLBACK' },
      );
    }
  }
  return cached;
}
