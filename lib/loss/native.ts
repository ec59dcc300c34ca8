/**
 * The one addon loader of the package (CPU and CUDA): finds the native binary, loads it at most once
 * per process, and says exactly why each candidate was or was not taken.
 *
 * Order: IPO_BACKEND=cpu|cuda|js forces one (and fails loudly if it cannot load); otherwise the CUDA
 * binary when a usable device is present (probed in a child process, since a broken driver can take
 * the process down, and cached per binary), then the CPU binary, then the float64 TypeScript
 * reference with a warning. Binaries are looked for in build/Release or build-cuda/Release (a source
 * build) and prebuilds/<platform>-<arch>/ (the npm package; any platform directory that exists is
 * tried, so a new one such as prebuilds/linux-arm64/ needs no change here); IPO_ADDON_PATH names
 * one file, and its kind (CPU or CUDA) is read from the binary itself.
 *
 * One process, one binary: the CUDA path (cuda.ts) uses the binary chosen here when it is a CUDA
 * build, and is unavailable (saying why) otherwise. It never loads a second copy, which would bring
 * its own thread and memory pools.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, statSync, writeFileSync } from 'node:fs';
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

/** What the CUDA probe (a child process) saw; kept so that cuda.status() can answer without loading the binary. */
export interface CudaProbe {
  ok: boolean;
  reason: string;
  deviceCount?: number;
  runtimeVersion?: number;
  driverVersion?: number;
}

export interface LoadedBackend {
  backend: BackendName;
  binding?: NativeBinding;
  path?: string;
  attempts: Attempt[];
  /** Set when a faster backend was not used. */
  reason?: string;
  /** The probe of the CUDA binary that was considered (also when the CPU binary was taken). */
  cudaProbe?: CudaProbe & { path: string };
}

const requireNative = createRequire(import.meta.url);

/** The package root: two levels above lib/loss (source) or dist/loss (compiled). */
export function packageRoot(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
}

/** The C library this Node runs on: 'glibc', 'musl' or 'other' (not Linux). */
export function libcFamily(report: { header?: { glibcVersionRuntime?: string } } | undefined = glibcReport()): 'glibc' | 'musl' | 'other' {
  if (process.platform !== 'linux') return 'other';
  return report?.header?.glibcVersionRuntime ? 'glibc' : 'musl';
}

let reportHeader: { header?: { glibcVersionRuntime?: string } } | undefined;
function glibcReport(): { header?: { glibcVersionRuntime?: string } } | undefined {
  // getReport() gathers a whole diagnostic report; its header is all that is needed, once.
  reportHeader ??= { header: (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header };
  return reportHeader;
}

/** The glibc version Node runs on ('2.36'), or null (musl, macOS, Windows). */
export function glibcVersion(): string | null {
  return glibcReport()?.header?.glibcVersionRuntime ?? null;
}

/**
 * The CPU features the native kernels choose between at run time (native/cpu/simd_dispatch.cc),
 * read from /proc/cpuinfo: x64 avx2+fma+f16c (the avx2 kernels), avx512f (the avx512 kernels); arm64
 * asimd (NEON). {} where the file is missing (not Linux) or the architecture has none of these.
 */
export function cpuFeatures(cpuinfo?: string, arch = process.arch): Record<string, boolean> {
  let text = cpuinfo;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/cpuinfo', 'utf8');
    } catch {
      return {};
    }
  }
  const line = text.split('\n').find((l) => /^(flags|Features)\s*:/.test(l)) ?? '';
  const flags = new Set(line.replace(/^[^:]*:/, '').trim().split(/\s+/));
  const wanted = arch === 'x64' ? ['avx2', 'fma', 'f16c', 'avx512f'] : arch === 'arm64' ? ['asimd', 'asimdhp'] : [];
  return Object.fromEntries(wanted.map((f) => [f, flags.has(f)]));
}

/** The prebuilds/ folder name for this machine: <platform>-<arch>, with '-musl' on a musl Linux. */
export function platformDir(platform = process.platform, arch = process.arch, libc = libcFamily()): string {
  return `${platform}-${arch}${libc === 'musl' ? '-musl' : ''}`;
}

/** The prebuilds/<dir> folders this package ships. */
export function shippedPlatforms(root = packageRoot()): string[] {
  try {
    return readdirSync(join(root, 'prebuilds'), { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
  } catch {
    return [];
  }
}

const BUILD_FROM_SOURCE =
  "build from source in the package folder with 'npm run build:native' (needs CMake >= 3.18 and a C++17 compiler; " +
  "add --CDIPO_WITH_CUDA=ON with the CUDA toolkit for the GPU path), or set IPO_ADDON_PATH to a binary built elsewhere";

/**
 * Why no prebuilt binary fits this machine, with how to build one; undefined when prebuilds/ has
 * this machine's folder. Names the platform (macOS, Windows, musl Linux, or an architecture the
 * package has no binary for).
 */
export function platformNote(root = packageRoot(), platform = process.platform, arch = process.arch, libc = libcFamily()): string | undefined {
  const dir = platformDir(platform, arch, libc);
  const shipped = shippedPlatforms(root);
  if (shipped.includes(dir)) return undefined;
  const what =
    platform === 'darwin' ? `macOS (${dir})`
    : platform === 'win32' ? `Windows (${dir})`
    : platform === 'linux' && libc === 'musl' ? `Linux with musl libc, e.g. Alpine (${dir}); the prebuilt Linux binaries need glibc 2.28 or newer`
    : `${dir}`;
  return `no prebuilt binary for ${what}: this package ships ${shipped.length ? shipped.join(', ') : 'no prebuilds'}; ${BUILD_FROM_SOURCE}`;
}

export function candidatePaths(backend: 'cpu' | 'cuda', root = packageRoot()): string[] {
  const file = backend === 'cuda' ? 'ipo_cuda.node' : 'ipo.node';
  const prebuilt = join(root, 'prebuilds', platformDir());
  // A source build comes first: in a checkout it is the one just compiled; the npm package has none.
  const dirs =
    backend === 'cuda'
      ? [join(root, 'build-cuda', 'Release'), join(root, 'build', 'Release'), prebuilt]
      : [join(root, 'build', 'Release'), prebuilt];
  return dirs.map((d) => join(d, file));
}

function describe(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const first = message.split('\n')[0];
  // A prebuilt binary made for a newer glibc than this system's: say what to do.
  if (/GLIBC(XX)?_[0-9.]+' not found/.test(first)) return `${first} (this system's glibc is ${glibcVersion() ?? 'unknown'}; ${BUILD_FROM_SOURCE})`;
  return first;
}

// Every binary this process has loaded, by real path: require() caches by the path it was given,
// so two paths to one file (a symlink, IPO_ADDON_PATH and a candidate) would otherwise load it twice.
const loadedBinaries = new Map<string, NativeBinding>();

/** Loads a binary once per process (by real path) and checks that it is an ipo-node addon. */
export function loadBinary(path: string): { binding?: NativeBinding; reason: string } {
  let real: string;
  try {
    real = realpathSync(path);
  } catch {
    return { reason: `not found: ${path}` };
  }
  const known = loadedBinaries.get(real);
  if (known) return { binding: known, reason: 'loaded' };
  try {
    const binding = requireNative(real) as NativeBinding;
    if (typeof binding.dpoLoss !== 'function') return { reason: `${path} loaded but does not export dpoLoss (a stale or foreign binary)` };
    loadedBinaries.set(real, binding);
    return { binding, reason: 'loaded' };
  } catch (err) {
    return { reason: `failed to load ${path}: ${describe(err)}` };
  }
}

/** The real paths of the binaries loaded so far (a process should show one at most). */
export function loadedBinaryPaths(): string[] {
  return [...loadedBinaries.keys()];
}

/**
 * Asks a child process whether the CUDA binary loads and sees a device. The answer is cached per
 * binary (path, size, mtime) so the probe runs once per install, not once per import.
 */
export function probeCuda(path: string, env: NodeJS.ProcessEnv = process.env): CudaProbe {
  const st = statSync(path);
  const key = createHash('sha256').update(`v2\0${path}\0${st.size}\0${st.mtimeMs}\0${process.version}\0${env.CUDA_VISIBLE_DEVICES ?? ''}`).digest('hex').slice(0, 16);
  const cacheDir = join(tmpdir(), 'ipo-node');
  const cacheFile = join(cacheDir, `cuda-probe-${key}.json`);
  if (existsSync(cacheFile) && !env.IPO_NO_PROBE_CACHE) {
    try {
      return JSON.parse(readFileSync(cacheFile, 'utf8')) as CudaProbe;
    } catch {
      /* re-probe */
    }
  }
  const script = `
    const b = require(${JSON.stringify(path)});
    const c = b.cuda;
    const answer = !c ? { devices: [], reason: 'the binary has no CUDA functions (a CPU-only build)' }
      : { devices: c.devices(), status: typeof c.status === 'function' ? c.status() : undefined };
    process.stdout.write(JSON.stringify(answer));`;
  const child = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, ...env } });
  let answer: CudaProbe;
  if (child.status !== 0) {
    const detail = (child.stderr || '').trim().split('\n').filter(Boolean).slice(-1)[0] ?? '';
    answer = { ok: false, reason: `the CUDA probe process ${child.signal ? `died with ${child.signal}` : `exited with ${child.status}`}${detail ? `: ${detail}` : ''}` };
  } else {
    try {
      const probe = JSON.parse(child.stdout) as {
        devices: Array<{ name: string }>;
        reason?: string;
        status?: { reason: string; deviceCount: number; runtimeVersion: number; driverVersion: number };
      };
      const why = probe.reason ?? probe.status?.reason ?? '';
      const versions = probe.status ? { deviceCount: probe.status.deviceCount, runtimeVersion: probe.status.runtimeVersion, driverVersion: probe.status.driverVersion } : {};
      answer = probe.devices.length > 0
        ? { ok: true, reason: `${probe.devices.length} CUDA device(s): ${probe.devices.map((d) => d.name).join(', ')}`, ...versions }
        : { ok: false, reason: `no usable CUDA device${why ? `: ${why}` : ''}`, ...versions };
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

function loadNative(
  backend: 'cpu' | 'cuda',
  attempts: Attempt[],
  root: string,
  env: NodeJS.ProcessEnv,
  paths: string[],
  probes: Array<CudaProbe & { path: string }>,
): LoadedBackend | undefined {
  for (const path of paths) {
    if (!existsSync(path)) {
      attempts.push({ backend, path, ok: false, reason: `not found: ${path}` });
      continue;
    }
    if (backend === 'cuda') {
      const probe = probeCuda(path, env);
      probes.push({ ...probe, path });
      if (!probe.ok) {
        attempts.push({ backend, path, ok: false, reason: probe.reason });
        continue;
      }
    }
    const { binding, reason } = loadBinary(path);
    attempts.push({ backend, path, ok: !!binding, reason });
    if (binding) return { backend, binding, path, attempts };
  }
  return undefined;
}

/** Whether the file IPO_ADDON_PATH names is a CUDA build: by its name, else by the binary itself (in a child process). */
function explicitKind(path: string, env: NodeJS.ProcessEnv): 'cpu' | 'cuda' {
  if (/ipo_cuda\.node$/.test(path)) return 'cuda';
  if (/ipo\.node$/.test(path) || !existsSync(path)) return 'cpu';
  const child = spawnSync(process.execPath, ['-e', `process.stdout.write(typeof require(${JSON.stringify(path)}).cuda === 'object' ? 'cuda' : 'cpu')`], {
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, ...env },
  });
  return child.stdout === 'cuda' ? 'cuda' : 'cpu';
}

/** Resolves the backend without caching (ipo doctor and tests call this directly). */
export function resolveBackend(env: NodeJS.ProcessEnv = process.env, root = packageRoot()): LoadedBackend {
  const forced = env.IPO_BACKEND?.trim().toLowerCase();
  const explicit = env.IPO_ADDON_PATH?.trim() ? resolve(env.IPO_ADDON_PATH.trim()) : undefined;
  const attempts: Attempt[] = [];
  const probes: Array<CudaProbe & { path: string }> = [];
  const withProbe = (l: LoadedBackend): LoadedBackend => (probes.length ? { ...l, cudaProbe: probes[probes.length - 1] } : l);
  const paths = (kind: 'cpu' | 'cuda') => (explicit ? [explicit] : candidatePaths(kind, root));
  const note = () => (explicit ? undefined : platformNote(root));
  if (forced && forced !== 'auto') {
    if (forced === 'js') return { backend: 'js', attempts: [{ backend: 'js', ok: true, reason: 'forced by IPO_BACKEND=js' }], reason: 'IPO_BACKEND=js' };
    if (forced !== 'cpu' && forced !== 'cuda') throw new Error(`IPO_BACKEND must be cpu, cuda, js or auto (got '${env.IPO_BACKEND}')`);
    // IPO_BACKEND=cpu may run on a CUDA build (it holds the CPU kernels too); its CUDA side is then unused.
    const loaded = loadNative(forced, attempts, root, env, paths(forced), probes);
    if (loaded) return withProbe(loaded);
    const hint = note();
    throw new Error(`IPO_BACKEND=${forced} but no ${forced} binary could be used:\n${attempts.map((a) => `  - ${a.reason}`).join('\n')}${hint ? `\n  - ${hint}` : ''}`);
  }
  const explicitIs = explicit ? explicitKind(explicit, env) : undefined;
  const loaded = explicit
    ? // A CUDA build holds the CPU kernels too: without a usable device it serves as the CPU backend.
      (loadNative(explicitIs!, attempts, root, env, [explicit], probes) ??
      (explicitIs === 'cuda' ? loadNative('cpu', attempts, root, env, [explicit], probes) : undefined))
    : (loadNative('cuda', attempts, root, env, paths('cuda'), probes) ?? loadNative('cpu', attempts, root, env, paths('cpu'), probes));
  if (loaded) {
    if (loaded.backend === 'cpu') loaded.reason = attempts.filter((a) => a.backend === 'cuda').map((a) => a.reason).join('; ') || undefined;
    return withProbe(loaded);
  }
  const hint = note();
  return withProbe({
    backend: 'js',
    attempts,
    reason: `no native binary could be loaded (${attempts.map((a) => a.reason).join('; ')})${hint ? `; ${hint}` : ''}`,
  });
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
