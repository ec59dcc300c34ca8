// The TypeScript side of the CUDA path (lib/loss/cuda.ts) on a machine without a GPU: its buffer
// logic and its use of the package's one loader, against a fake CUDA build of the addon
// (fake-device.cjs) loaded the way a user names a binary: IPO_ADDON_PATH. The fake keeps the C ABI's
// contract (garbage in a non-zeroed allocation, unscored rows left alone under gradIsZeroed), and its
// gradient comes from the real CPU kernels; the oracle is the float64 TypeScript reference.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { referenceDpoLoss } from '../../lib/loss/reference.js';

const root = resolve(__dirname, '..', '..');
const fakePath = join(__dirname, 'fake-device.cjs');
const cpuBuilt = existsSync(join(root, 'build', 'Release', 'ipo.node'));
if (!cpuBuilt && process.env.CI === 'true') throw new Error('build/Release/ipo.node is missing: run npm ci (the fake device re-exports the CPU build)');

type CudaModule = typeof import('../../lib/loss/cuda.js');
type NativeModule = typeof import('../../lib/loss/native.js');
type IndexModule = typeof import('../../lib/loss/index.js');
let C: CudaModule;
let N: NativeModule;
let L: IndexModule;
interface FakeCall {
  fn: string;
  [key: string]: unknown;
}
let fake: { calls: FakeCall[]; memory: Map<bigint, unknown> };

beforeAll(async () => {
  vi.stubEnv('IPO_ADDON_PATH', fakePath);
  vi.stubEnv('IPO_BACKEND', '');
  vi.stubEnv('IPO_NO_PROBE_CACHE', '1');
  vi.resetModules();
  N = await import('../../lib/loss/native.js');
  C = await import('../../lib/loss/cuda.js');
  L = await import('../../lib/loss/index.js');
});
afterAll(() => {
  vi.unstubAllEnvs();
});

// 2 pairs x 3 positions x vocab 5; row 1 of each sequence unscored (and sequence 2 has a second one).
const P = 2, T = 3, V = 5, S = 2 * P;
const labels = new Int32Array([0, -100, 4, 1, -100, 2, 3, -100, -100, 4, -100, 0]);
const logitsHost = Float32Array.from({ length: S * T * V }, (_, i) => Math.sin(i * 1.7) * 3);
const refLogps = new Float32Array([-7.5, -8.25, -6, -9]);
const unscoredRows = [...labels.keys()].filter((r) => labels[r] === -100);

function expectGradientMatchesReference(grad: Float32Array) {
  const want = referenceDpoLoss({ logits: logitsHost, seqLen: T, vocab: V, labels, refLogps }, { beta: 0.1 }).gradLogits as Float32Array;
  let diff = 0, norm = 0;
  for (let i = 0; i < want.length; ++i) {
    diff += (grad[i] - want[i]) ** 2;
    norm += want[i] ** 2;
  }
  expect(Math.sqrt(diff / norm)).toBeLessThan(1e-5);
  for (const r of unscoredRows) expect(Array.from(grad.subarray(r * V, (r + 1) * V))).toEqual([0, 0, 0, 0, 0]);
}

describe.runIf(cpuBuilt)('one loader for CPU and CUDA', () => {
  it('IPO_ADDON_PATH reaches the CUDA path: the binary it names serves both, loaded once', () => {
    const status = C.cuda.status();
    expect(status.available).toBe(true);
    expect(status.addonPath).toBe(fakePath);
    expect(L.backendInfo().backend).toBe('cuda');
    // host arrays go to the same binary's CPU functions
    const host = L.dpoLoss({ logits: logitsHost, seqLen: T, vocab: V, labels, refLogps });
    expect(host.loss).toBeCloseTo(referenceDpoLoss({ logits: logitsHost, seqLen: T, vocab: V, labels, refLogps }).loss, 6);
    const t = C.cuda.upload(new Float32Array(4));
    t.free();
    expect(N.loadedBinaryPaths()).toEqual([fakePath]);
    fake = N.loadBinary(fakePath).binding!.cuda as unknown as typeof fake;
    expect(fake.calls.some((c) => c.fn === 'malloc')).toBe(true);
  });
});

describe.runIf(cpuBuilt)('gradient buffers (issue 16, item 1)', () => {
  beforeAll(() => {
    fake = N.loadBinary(fakePath).binding!.cuda as unknown as typeof fake;
  });

  it("grad: 'buffer' without gradOut writes every row, even with gradIsZeroed: true (the new memory is garbage)", () => {
    const logits = C.cuda.upload(logitsHost);
    fake.calls.length = 0;
    const r = C.cudaDpoLoss({ logits, seqLen: T, vocab: V, labels, refLogps }, { gradIsZeroed: true });
    const malloc = fake.calls.find((c) => c.fn === 'malloc')!;
    expect(malloc.zeroed).toBe(false); // no memset pass: the kernel writes the zeros
    const call = fake.calls.find((c) => c.fn === 'dpoLoss')!;
    expect((call.options as { gradIsZeroed: boolean }).gradIsZeroed).toBe(false);
    expectGradientMatchesReference(r.gradLogits!.download() as Float32Array);
    r.gradLogits!.free();
    logits.free();
  });

  it('a caller\'s zeroed gradOut with gradIsZeroed: unscored rows are not written, and stay 0', () => {
    const logits = C.cuda.upload(logitsHost);
    const gradOut = C.cuda.zeros(logitsHost.length, 'float32');
    fake.calls.length = 0;
    const r = C.cudaDpoLoss({ logits, seqLen: T, vocab: V, labels, refLogps }, { gradOut, gradIsZeroed: true });
    expect(r.gradLogits).toBe(gradOut);
    expect(fake.calls.filter((c) => c.fn === 'malloc')).toHaveLength(0);
    expect((fake.calls.find((c) => c.fn === 'dpoLoss')!.options as { gradIsZeroed: boolean }).gradIsZeroed).toBe(true);
    expectGradientMatchesReference(gradOut.download() as Float32Array);
    gradOut.free();
    logits.free();
  });

  it('a caller\'s gradOut holding old values, without gradIsZeroed: the unscored rows are overwritten with 0', () => {
    const logits = C.cuda.upload(logitsHost);
    const gradOut = C.cuda.upload(new Float32Array(logitsHost.length).fill(42));
    C.cudaDpoLoss({ logits, seqLen: T, vocab: V, labels, refLogps }, { gradOut });
    expectGradientMatchesReference(gradOut.download() as Float32Array);
    gradOut.free();
    logits.free();
  });

  it('contradictory options are refused before any device call', () => {
    const logits = C.cuda.upload(logitsHost);
    fake.calls.length = 0;
    const input = { logits, seqLen: T, vocab: V, labels, refLogps };
    expect(() => C.cudaDpoLoss(input, { grad: 'inplace', gradIsZeroed: true })).toThrow(/gradIsZeroed cannot be true with grad: 'inplace'/);
    expect(() => C.cudaDpoLoss(input, { grad: 'none', gradOut: logits })).toThrow(/gradOut needs grad: 'buffer'/);
    expect(() => C.cudaDpoLoss(input, { gradIsZeroed: 'yes' as unknown as boolean })).toThrow(/options.gradIsZeroed must be a boolean/);
    expect(fake.calls).toHaveLength(0);
    logits.free();
  });

  it('a call that fails in the native layer frees the buffer it made', () => {
    const logits = C.cuda.upload(logitsHost);
    const before = fake.memory.size;
    const bad = Int32Array.from(labels, (l, i) => (i === 0 ? 99 : l)); // label out of range: the CPU checks refuse it
    expect(() => C.cudaDpoLoss({ logits, seqLen: T, vocab: V, labels: bad, refLogps })).toThrow(/label/);
    expect(fake.memory.size).toBe(before);
    logits.free();
  });

  it('in place: the gradient replaces the logits, unscored rows included', () => {
    const logits = C.cuda.upload(logitsHost);
    const r = C.cudaDpoLoss({ logits, seqLen: T, vocab: V, labels, refLogps }, { grad: 'inplace' });
    expect(r.gradLogits).toBe(logits);
    expectGradientMatchesReference(logits.download() as Float32Array);
    logits.free();
  });
});

describe.runIf(cpuBuilt)('stream synchronization names the device (issue 16, item 4)', () => {
  it('download(stream) and cuda.synchronize wait on the tensor\'s / the given device', () => {
    const t = C.cuda.upload(new Float32Array([1, 2]), undefined, { device: 1 });
    fake.calls.length = 0;
    expect(Array.from(t.download(7n))).toEqual([1, 2]);
    expect(fake.calls).toContainEqual({ fn: 'synchronize', stream: 7n, device: 1 });
    C.cuda.synchronize(9n, { device: 1 });
    expect(fake.calls).toContainEqual({ fn: 'synchronize', stream: 9n, device: 1 });
    expect(() => C.cuda.synchronize(9n, { device: -1 })).toThrow(RangeError);
    t.free();
  });
});
