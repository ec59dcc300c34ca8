/**
 * The loader (issue 7): which binary is taken, in which order, and why the others were not; forced
 * backends fail loudly; the fallback to the TypeScript reference warns and says why.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  candidatePaths,
  cpuFeatures,
  loadBinary,
  loadedBinaryPaths,
  platformDir,
  platformNote,
  resolveBackend,
  shippedPlatforms,
} from '../../lib/loss/native.js';

const root = resolve(__dirname, '..', '..');
const builtCpu = join(root, 'build', 'Release', 'ipo.node');
const platform = `${process.platform}-${process.arch}`;

function fakeRoot(files: Record<string, string | Buffer | { copy: string }>): string {
  const dir = mkdtempSync(join(tmpdir(), 'ipo-loader-'));
  for (const [rel, content] of Object.entries(files)) {
    const path = join(dir, rel);
    mkdirSync(resolve(path, '..'), { recursive: true });
    if (typeof content === 'object' && 'copy' in content) copyFileSync(content.copy, path);
    else writeFileSync(path, content);
  }
  return dir;
}

describe('backend resolution', () => {
  it('a source build comes before prebuilds; the npm layout (prebuilds only) loads the prebuilt binary', () => {
    const dir = fakeRoot({ [`prebuilds/${platform}/ipo.node`]: { copy: builtCpu } });
    expect(candidatePaths('cpu', dir)[0]).toBe(join(dir, 'build', 'Release', 'ipo.node'));
    const loaded = resolveBackend({}, dir);
    expect(loaded.backend).toBe('cpu');
    expect(loaded.path).toBe(join(dir, 'prebuilds', platform, 'ipo.node'));
    expect(loaded.attempts.find((a) => a.backend === 'cpu' && !a.ok)?.reason).toMatch(/not found: .*build\/Release\/ipo\.node/);
  });

  it('a broken binary is reported and skipped; with nothing else the TypeScript reference is chosen, with the reasons', () => {
    const dir = fakeRoot({ 'build/Release/ipo.node': 'not an ELF file' });
    const loaded = resolveBackend({}, dir);
    expect(loaded.backend).toBe('js');
    expect(loaded.attempts.find((a) => a.path?.endsWith('build/Release/ipo.node'))?.reason).toMatch(/failed to load/);
    expect(loaded.reason).toMatch(/no native binary could be loaded/);
  });

  it('a CUDA binary without CUDA functions or that cannot load is probed in a child process and skipped', () => {
    const dir = fakeRoot({
      'build-cuda/Release/ipo_cuda.node': { copy: builtCpu }, // a CPU-only build under the CUDA name
      'build/Release/ipo_cuda.node': 'garbage',
      'build/Release/ipo.node': { copy: builtCpu },
    });
    const loaded = resolveBackend({ IPO_NO_PROBE_CACHE: '1' }, dir);
    expect(loaded.backend).toBe('cpu');
    const cudaAttempts = loaded.attempts.filter((a) => a.backend === 'cuda');
    expect(cudaAttempts[0].reason).toMatch(/no CUDA functions|no usable CUDA device/);
    expect(cudaAttempts[1].reason).toMatch(/probe process exited/);
    expect(loaded.reason).toBeTruthy();
  });

  it('IPO_BACKEND forces a backend and fails loudly when it cannot load', () => {
    const dir = fakeRoot({});
    expect(resolveBackend({ IPO_BACKEND: 'js' }, dir).backend).toBe('js');
    expect(() => resolveBackend({ IPO_BACKEND: 'cpu' }, dir)).toThrow(/IPO_BACKEND=cpu but no cpu binary could be used/);
    expect(() => resolveBackend({ IPO_BACKEND: 'cuda' }, dir)).toThrow(/IPO_BACKEND=cuda/);
    expect(() => resolveBackend({ IPO_BACKEND: 'tpu' }, dir)).toThrow(/must be cpu, cuda, js or auto/);
    expect(resolveBackend({ IPO_BACKEND: 'cpu', IPO_ADDON_PATH: builtCpu }, dir).path).toBe(builtCpu);
  });
});

describe('the fallback and ipo doctor, in child processes', () => {
  const distIndex = join(root, 'dist', 'index.js');
  const cli = join(root, 'dist', 'cli', 'main.js');

  it('falling back to the reference emits a warning that says why, and the numbers still come', () => {
    const script = `import('${distIndex}').then((m) => {
      const r = m.dpoLoss({ logits: new Float32Array(2 * 3).fill(0.5), seqLen: 1, vocab: 3, labels: new Int32Array([0, 1]), refLogps: new Float32Array(2) });
      console.log(JSON.stringify({ backend: m.backendInfo().backend, loss: r.loss }));
    })`;
    const child = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', env: { ...process.env, IPO_BACKEND: '', IPO_ADDON_PATH: '/nonexistent/ipo.node' } });
    expect(child.status, child.stderr).toBe(0);
    const out = JSON.parse(child.stdout.trim());
    expect(out.backend).toBe('js');
    expect(out.loss).toBeCloseTo(Math.log(2), 10); // uniform rows, zero margin: -log sig(0)
    expect(child.stderr).toMatch(/float64 TypeScript reference.*not found: \/nonexistent\/ipo\.node/s);
  });

  it('ipo doctor names the backend and every candidate; exit 1 when only the reference is left', () => {
    const ok = spawnSync(process.execPath, [cli, 'doctor', '--json'], { encoding: 'utf8', env: { ...process.env, IPO_BACKEND: 'cpu' } });
    expect(ok.status, ok.stderr).toBe(0);
    const report = JSON.parse(ok.stdout);
    expect(report.backend).toBe('cpu');
    expect(report.info.simd).toMatch(/avx512|avx2|scalar/);
    expect(report.attempts.some((a: { ok: boolean }) => a.ok)).toBe(true);

    const none = spawnSync(process.execPath, [cli, 'doctor'], { encoding: 'utf8', env: { ...process.env, IPO_BACKEND: '', IPO_ADDON_PATH: '/nonexistent/ipo.node' } });
    expect(none.status).toBe(1);
    expect(none.stdout).toMatch(/backend: js/);
    expect(none.stdout).toMatch(/\[--\] cpu: not found: \/nonexistent\/ipo\.node/);

    const forced = spawnSync(process.execPath, [cli, 'doctor'], { encoding: 'utf8', env: { ...process.env, IPO_BACKEND: 'cuda', IPO_ADDON_PATH: '' } });
    expect(forced.status).toBe(1);
    expect(forced.stderr).toMatch(/IPO_BACKEND=cuda/);
  });
});

describe('platforms and prebuilds (issue 14, item 3)', () => {
  it('prebuilds/<platform>-<arch>/ is found by name: a new folder such as linux-arm64 needs no loader change', () => {
    const dir = fakeRoot({ 'prebuilds/linux-x64/ipo.node': 'x', 'prebuilds/linux-arm64/ipo.node': 'x' });
    expect(shippedPlatforms(dir)).toEqual(['linux-arm64', 'linux-x64']);
    expect(platformDir('linux', 'arm64', 'glibc')).toBe('linux-arm64');
    expect(platformNote(dir, 'linux', 'arm64', 'glibc')).toBeUndefined();
    expect(platformNote(dir, 'linux', 'x64', 'glibc')).toBeUndefined();
    expect(candidatePaths('cpu', dir)).toContain(join(dir, 'prebuilds', platformDir(), 'ipo.node'));
  });

  it('an unsupported platform is named, with the shipped ones and how to build from source', () => {
    const dir = fakeRoot({ 'prebuilds/linux-x64/ipo.node': 'x' });
    const mac = platformNote(dir, 'darwin', 'arm64', 'other')!;
    expect(mac).toMatch(/no prebuilt binary for macOS \(darwin-arm64\)/);
    expect(mac).toMatch(/ships linux-x64/);
    expect(mac).toMatch(/npm run build:native/);
    expect(platformNote(dir, 'win32', 'x64', 'other')).toMatch(/Windows \(win32-x64\)/);
    const musl = platformNote(dir, 'linux', 'x64', 'musl')!;
    expect(platformDir('linux', 'x64', 'musl')).toBe('linux-x64-musl');
    expect(musl).toMatch(/musl libc.*glibc 2\.28 or newer/);
    expect(platformNote(dir, 'linux', 'riscv64', 'glibc')).toMatch(/no prebuilt binary for linux-riscv64/);
  });

  it('the fallback reason carries the platform note when no binary fits this machine', () => {
    const dir = fakeRoot({ 'prebuilds/sunos-sparc/ipo.node': 'x' });
    const loaded = resolveBackend({}, dir);
    expect(loaded.backend).toBe('js');
    expect(loaded.reason).toMatch(new RegExp(`no prebuilt binary for ${platformDir()}.*ships sunos-sparc.*build:native`));
    expect(() => resolveBackend({ IPO_BACKEND: 'cpu' }, dir)).toThrow(/no prebuilt binary for/);
  });

  it('reads the CPU features the kernels dispatch on from /proc/cpuinfo text', () => {
    const x64 = 'processor\t: 0\nflags\t\t: fpu sse2 avx2 fma f16c bmi2\n';
    expect(cpuFeatures(x64, 'x64')).toEqual({ avx2: true, fma: true, f16c: true, avx512f: false });
    expect(cpuFeatures('Features\t: fp asimd evtstrm asimdhp\n', 'arm64')).toEqual({ asimd: true, asimdhp: true });
    expect(cpuFeatures('', 'ia32')).toEqual({});
  });
});

describe('one binary per process', () => {
  it('two paths to one file (a symlink, IPO_ADDON_PATH and a candidate) load it once', () => {
    const dir = fakeRoot({ 'build/Release/ipo.node': { copy: builtCpu } });
    const link = join(dir, 'linked.node');
    symlinkSync(join(dir, 'build', 'Release', 'ipo.node'), link);
    const a = loadBinary(join(dir, 'build', 'Release', 'ipo.node'));
    const b = loadBinary(link);
    expect(a.binding).toBeDefined();
    expect(b.binding).toBe(a.binding);
    expect(loadedBinaryPaths().filter((p) => p.startsWith(realpathSync(dir)))).toEqual([realpathSync(join(dir, 'build', 'Release', 'ipo.node'))]);
    const loaded = resolveBackend({ IPO_ADDON_PATH: link }, dir);
    expect(loaded.binding).toBe(a.binding);
  });

  it('IPO_ADDON_PATH under any file name: its kind (CPU or CUDA) is read from the binary', () => {
    const dir = fakeRoot({ 'custom-name.node': { copy: builtCpu } });
    const loaded = resolveBackend({ IPO_ADDON_PATH: join(dir, 'custom-name.node') }, dir);
    expect(loaded.backend).toBe('cpu');
    expect(loaded.path).toBe(join(dir, 'custom-name.node'));
  });

  it('ipo doctor prints glibc, the CPU features and the platform', () => {
    const cli = join(root, 'dist', 'cli', 'main.js');
    const child = spawnSync(process.execPath, [cli, 'doctor'], { encoding: 'utf8', env: { ...process.env, IPO_BACKEND: 'cpu', IPO_ADDON_PATH: '' } });
    expect(child.status, child.stderr).toBe(0);
    expect(child.stdout).toMatch(new RegExp(`${platformDir()}, glibc \\d+\\.\\d+`));
    if (process.arch === 'x64') expect(child.stdout).toMatch(/cpu features the kernels use: avx2 (yes|no), fma (yes|no), f16c (yes|no), avx512f (yes|no)/);
    const json = spawnSync(process.execPath, [cli, 'doctor', '--json'], { encoding: 'utf8', env: { ...process.env, IPO_BACKEND: 'cpu', IPO_ADDON_PATH: '' } });
    const report = JSON.parse(json.stdout);
    expect(report.glibc).toMatch(/^\d+\.\d+/);
    expect(report.cpuFeatures).toEqual(cpuFeatures());
  });
});

describe('IPO_ADDON_PATH naming a CUDA build on a machine without a usable device', () => {
  it('serves as the CPU backend (it holds the CPU kernels), and the probe says why CUDA is off', () => {
    const fake = join(root, 'test', 'cuda', 'fake-device.cjs');
    const env = { IPO_ADDON_PATH: fake, IPO_FAKE_NO_DEVICE: '1', IPO_NO_PROBE_CACHE: '1' };
    const loaded = resolveBackend(env, fakeRoot({}));
    expect(loaded.backend).toBe('cpu');
    expect(loaded.path).toBe(fake);
    expect(loaded.cudaProbe?.ok).toBe(false);
    expect(loaded.cudaProbe?.reason).toMatch(/no usable CUDA device: no CUDA device is present \(fake\)/);
    expect(loaded.attempts.map((a) => [a.backend, a.ok])).toEqual([['cuda', false], ['cpu', true]]);
    expect(() => resolveBackend({ ...env, IPO_BACKEND: 'cuda' }, fakeRoot({}))).toThrow(/IPO_BACKEND=cuda but no cuda binary could be used:\n  - no usable CUDA device/);
  });
});
