// The CUDA path on a machine without a GPU (CI): the CUDA addon must load (static CUDA runtime, no
// CUDA call at load), report cleanly why no device is usable, refuse device work with a coded
// Error, and check JavaScript arguments (naming them) before it ever needs the driver.
// On a machine with a GPU the same tests check the consistent positive answer instead.
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cuda, cudaAddonCandidates, cudaDpoLoss, DeviceTensor, isDeviceInput } from '../../lib/loss/cuda.js';
import { loadBinary } from '../../lib/loss/native.js';

const hasGpuNode = existsSync('/dev/nvidiactl') || existsSync('/dev/nvidia0');
const builtAddon = cudaAddonCandidates().find((p) => existsSync(p));
const addonBuilt = builtAddon !== undefined;
// scripts/ci-cuda.sh builds the addon first and sets this: there a missing build fails, never skips.
if (!addonBuilt && process.env.IPO_REQUIRE_CUDA_ADDON === '1') throw new Error(`the CUDA addon is not built (looked in ${cudaAddonCandidates().join(', ')})`);

describe('cuda.status() without a GPU', () => {
  it('answers without throwing, and the answer agrees with this machine', () => {
    const s = cuda.status();
    expect(typeof s.available).toBe('boolean');
    expect(cuda.available()).toBe(s.available);
    if (!addonBuilt) {
      expect(s.available).toBe(false);
      expect(s.reason).toMatch(/not built/);
      expect(s.reason).toMatch(/ipo_cuda\.node/);
    } else if (!hasGpuNode) {
      expect(s.available).toBe(false);
      expect(s.deviceCount).toBe(0);
      expect(s.reason).toMatch(/CUDA driver not found|no CUDA device/);
      expect(s.runtimeVersion).toBeGreaterThanOrEqual(12000); // the statically linked runtime answers
      expect(s.driverVersion).toBe(0);
      expect(s.addonPath).toMatch(/ipo_cuda\.node$/);
    } else {
      expect(s.available).toBe(s.deviceCount > 0);
    }
  });

  it('lists devices as an array: empty when none is usable', () => {
    const devices = cuda.devices();
    expect(Array.isArray(devices)).toBe(true);
    expect(devices.length).toBe(cuda.status().deviceCount);
  });

  it('refuses device memory with a coded Error when no device is usable', () => {
    if (cuda.available()) {
      const t = cuda.upload(new Float32Array([1, 2, 3]));
      expect(Array.from(t.download())).toEqual([1, 2, 3]);
      t.free();
      return;
    }
    let caught: unknown;
    try {
      cuda.upload(new Float32Array([1, 2, 3]));
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(Error);
    expect((caught as { code?: string }).code).toBe('IPO_ERR_UNAVAILABLE');
    expect((caught as Error).message).toMatch(addonBuilt ? /CUDA driver not found|no CUDA device/ : /CUDA is not available/);
  });
});

describe('argument checks before any device call', () => {
  it('needs a dtype for 16-bit bit patterns and rejects mismatched dtypes', () => {
    expect(() => cuda.upload(new Uint16Array(4))).toThrow(TypeError);
    expect(() => cuda.upload(new Uint16Array(4))).toThrow(/dtype/);
    expect(() => cuda.upload(new Float32Array(4), 'bfloat16')).toThrow(/dtype must be 'float32'/);
    expect(() => cuda.upload(new Int32Array(4), 'float16')).toThrow(/dtype must be 'int32'/);
    expect(() => cuda.upload(new Float32Array(4), undefined, { device: -1 })).toThrow(RangeError);
  });

  it('borrows foreign pointers without touching them, and validates shapes against them', () => {
    const logits = cuda.fromPointer(0x7f0000001000n, 2 * 3 * 5, 'bfloat16');
    expect(logits.owned).toBe(false);
    expect(logits.byteLength).toBe(60);
    expect(isDeviceInput({ logits })).toBe(true);
    expect(isDeviceInput({ logits: new Float32Array(3) })).toBe(false);
    const refLogps = new Float32Array(2);
    // 2 sequences x 3 positions x vocab 5 = 30 elements: a vocab of 4 does not fit the tensor
    expect(() => cudaDpoLoss({ logits, seqLen: 3, vocab: 4, labels: new Int32Array(6), refLogps })).toThrow(/logits must hold/);
    expect(() => cudaDpoLoss({ logits, seqLen: 4, vocab: 5, labels: new Int32Array(6), refLogps })).toThrow(/not a positive multiple of seqLen/);
    expect(() => cudaDpoLoss({ logits, dtype: 'float16', seqLen: 3, vocab: 5, labels: new Int32Array(6), refLogps })).toThrow(/does not match/);
    expect(() => cudaDpoLoss({ logits, seqLen: 3, vocab: 5, labels: [0, 1] as unknown as Int32Array, refLogps })).toThrow(/labels must be/);
    expect(() => cudaDpoLoss({ logits: new Float32Array(30) as unknown as DeviceTensor, seqLen: 3, vocab: 5, labels: new Int32Array(6), refLogps })).toThrow(
      /logits must be a DeviceTensor/,
    );
    expect(() => cudaDpoLoss({ logits, seqLen: 3, vocab: 5, labels: new Int32Array(6), refLogps }, { grad: 'sideways' as 'none' })).toThrow(/options.grad/);
    expect(() => cuda.fromPointer(0n, 4, 'float32')).toThrow(/non-zero BigInt/);
    logits.free();
    expect(logits.freed).toBe(true);
    expect(() => logits.pointer).toThrow(/freed/);
  });

  it('a well-formed call on borrowed memory is refused with the reason no device is usable', () => {
    if (cuda.available()) return; // on a GPU machine this pointer is not real memory: nothing to call
    const logits = cuda.fromPointer(0x7f0000001000n, 2 * 3 * 5, 'float32');
    let caught: unknown;
    try {
      cudaDpoLoss({ logits, seqLen: 3, vocab: 5, labels: new Int32Array(6), refLogps: new Float32Array(2) }, { grad: 'none' });
    } catch (err) {
      caught = err;
    }
    expect((caught as { code?: string }).code).toBe('IPO_ERR_UNAVAILABLE');
  });
});

// The C ABI's own checks, reached through the CUDA build's binding directly (the loader's loadBinary,
// so the same copy the package would use). The checks that need no device run before any CUDA call
// and hold without a driver; those that ask the driver (host or device memory) fail cleanly without one.
describe.runIf(addonBuilt && !hasGpuNode)('C ABI argument checks without a device (issue 16, item 5)', () => {
  type Native = {
    dpoLoss(i: object, o: object, s?: bigint): unknown;
    tokenLogprobs(i: object, s?: bigint): unknown;
    synchronize(s?: bigint, d?: number): void;
  };
  const native = () => loadBinary(builtAddon!).binding!.cuda as unknown as Native;
  const logits = 0x7f0000001000n; // never dereferenced: every refusal below comes before any access
  const bytes = 2n * 3n * 5n * 4n; // 2 sequences x 3 positions x vocab 5, float32
  const input = { logits, dtype: 'float32', sequences: 2, seqLen: 3, vocab: 5, labels: new Int32Array([0, 1, 2, 3, 4, 0]), refLogps: new Float32Array(2) };
  const refusal = (fn: () => unknown) => {
    try {
      fn();
    } catch (err) {
      return err as Error & { code?: string; argument?: string };
    }
    throw new Error('expected a refusal');
  };

  it('refuses gradIsZeroed for an in-place gradient, naming gradIsZeroed', () => {
    const err = refusal(() => native().dpoLoss(input, { grad: logits, gradIsZeroed: true }));
    expect(err.code).toBe('IPO_ERR_TYPE');
    expect(err.argument).toBe('gradIsZeroed');
    expect(err.message).toMatch(/in-place gradient/);
  });

  it('refuses a gradient buffer that partly overlaps the logits, on either side, naming grad', () => {
    for (const grad of [logits + 4n, logits + bytes - 4n, logits - bytes + 4n]) {
      const err = refusal(() => native().dpoLoss(input, { grad }));
      expect(err.code, String(grad - logits)).toBe('IPO_ERR_TYPE');
      expect(err.argument).toBe('grad');
      expect(err.message).toMatch(/overlaps the logits/);
    }
  });

  it('lets a disjoint or identical buffer through to the device checks, which report that there is no driver', () => {
    for (const [grad, zeroed] of [[logits + bytes, true], [logits - bytes, false], [logits, false]] as const) {
      const err = refusal(() => native().dpoLoss(input, { grad, gradIsZeroed: zeroed }));
      expect(err.code, String(grad - logits)).toBe('IPO_ERR_UNAVAILABLE');
    }
    expect(refusal(() => native().tokenLogprobs(input)).code).toBe('IPO_ERR_UNAVAILABLE');
  });

  it('synchronize on a named device reports the missing driver; a bad device is named', () => {
    expect(refusal(() => native().synchronize(undefined, 0)).code).toBe('IPO_ERR_UNAVAILABLE');
    expect(refusal(() => native().synchronize(undefined, -1)).message).toMatch(/device must be an integer >= 0/);
    expect(refusal(() => native().synchronize(undefined, 2 ** 40)).message).toMatch(/device must be < 2\^31/);
  });
});
