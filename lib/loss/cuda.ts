/**
 * The CUDA path: device memory as `DeviceTensor`s and the three loss operations on device logits.
 *
 *   cuda.available() / cuda.status() / cuda.devices()   never throw for "no driver / no GPU"
 *   cuda.upload(array, dtype?) -> DeviceTensor           host -> device copy
 *   tensor.download() / tensor.free()                    device -> host copy; release (also when collected)
 *   cuda.fromPointer(pointer, length, dtype)             borrow another framework's memory (not freed here)
 *   cudaDpoLoss / cudaSequenceLogprobs / cudaTokenLogprobs
 *
 * The small results come back as typed arrays; the gradient stays on the device (a new DeviceTensor,
 * the logits themselves with grad: 'inplace', or `gradOut`). Kernels run on the device that owns
 * the logits, on `stream` (a cudaStream_t as a BigInt; default: the legacy default stream); every
 * call returns after the stream has finished the gradient, so a download() right after is safe.
 *
 * The binary is the one the package's loader (native.ts) chose, asked for lazily on the first call
 * here, never at import: when that is a CUDA build (ipo_cuda.node with a usable device, or
 * IPO_BACKEND=cuda), its CUDA functions serve these calls; otherwise the CUDA path is unavailable
 * and status() says why (the loader's probe of the CUDA binary, IPO_BACKEND, or "not built").
 * Math: see native/cuda/dpo_loss.cu and docs/cuda.md.
 */
import { resolve } from 'node:path';
import { backend, candidatePaths, packageRoot, type CudaProbe } from './native.js';
import type { DpoOptions, DpoResult, LogitsDtype } from './types.js';

export type DeviceDtype = LogitsDtype | 'int32';

export interface CudaStatus {
  available: boolean;
  /** Why not, when not available ('' otherwise). */
  reason: string;
  deviceCount: number;
  /** 1000 * major + 10 * minor; 0 when unknown (driver: none installed). */
  runtimeVersion: number;
  driverVersion: number;
  /** The addon that answered, if one loaded. */
  addonPath?: string;
}

export interface CudaDevice {
  ordinal: number;
  name: string;
  computeCapability: string;
  multiprocessors: number;
  totalMemoryBytes: number;
  l2CacheBytes: number;
  sharedMemoryPerBlockOptin: number;
  memoryBusWidthBits: number;
}

interface CudaAddon {
  status(): Omit<CudaStatus, 'addonPath'>;
  devices(): CudaDevice[];
  malloc(device: number, bytes: number, zeroed: boolean): bigint;
  free(pointer: bigint): void;
  copyToDevice(pointer: bigint, source: ArrayBufferView, stream?: bigint): void;
  copyToHost(pointer: bigint, target: ArrayBufferView, stream?: bigint): void;
  copyDevice(dst: bigint, src: bigint, bytes: number, stream?: bigint): void;
  zero(pointer: bigint, bytes: number, stream?: bigint): void;
  /** Waits for `stream` on `device` (default: the current device; the legacy stream is per device). */
  synchronize(stream?: bigint, device?: number): void;
  tokenLogprobs(input: NativeDeviceInput, stream?: bigint): Float32Array;
  sequenceLogprobs(input: NativeDeviceInput, stream?: bigint): Float32Array;
  dpoLoss(
    input: NativeDeviceInput & { refLogps: Float32Array },
    options: { beta?: number; lossType?: string; labelSmoothing?: number; sftWeight?: number; grad: bigint | null; gradIsZeroed: boolean },
    stream?: bigint,
  ): Omit<DpoResult, 'gradLogits'>;
}

interface NativeDeviceInput {
  logits: bigint;
  dtype: LogitsDtype;
  sequences: number;
  seqLen: number;
  vocab: number;
  labels: Int32Array | bigint;
}

const BYTES: Record<DeviceDtype, number> = { float32: 4, bfloat16: 2, float16: 2, int32: 4 };

// ---- loading ---------------------------------------------------------------------------------
// The binary comes from the package's one loader (native.ts): the CUDA functions are those of the
// binary it chose, when that is a CUDA build. Nothing here loads a binary of its own.

interface CudaLoad {
  addon?: CudaAddon;
  path?: string;
  reason: string;
  probe?: CudaProbe & { path: string };
}

let loaded: CudaLoad | undefined;

/** The CUDA binaries the loader considers, in its order (IPO_ADDON_PATH replaces them all). */
export function cudaAddonCandidates(root = packageRoot()): string[] {
  const explicit = process.env.IPO_ADDON_PATH?.trim();
  return explicit ? [resolve(explicit)] : candidatePaths('cuda', root);
}

function load(): CudaLoad {
  if (loaded) return loaded;
  let chosen;
  try {
    chosen = backend();
  } catch (err) {
    // IPO_BACKEND=cuda (or cpu) that cannot be honoured: status() reports it, device calls throw it.
    return (loaded = { reason: (err as Error).message.replace(/\n\s*-\s*/g, '; ').replace(/:;/, ':') });
  }
  const cudaFunctions = chosen.binding?.cuda as unknown as CudaAddon | undefined;
  if (chosen.backend === 'cuda' && cudaFunctions && typeof cudaFunctions.status === 'function') {
    return (loaded = { addon: cudaFunctions, path: chosen.path, reason: '', probe: chosen.cudaProbe });
  }
  const forced = process.env.IPO_BACKEND?.trim().toLowerCase();
  let reason: string;
  if (forced === 'js' || forced === 'cpu') reason = `IPO_BACKEND=${forced}: the CUDA path is off (unset it, or set IPO_BACKEND=cuda)`;
  else if (chosen.cudaProbe) reason = chosen.cudaProbe.reason;
  else if (process.env.IPO_ADDON_PATH?.trim()) reason = `IPO_ADDON_PATH names a binary without CUDA functions (${resolve(process.env.IPO_ADDON_PATH.trim())})`;
  else
    reason = `the CUDA addon is not built (looked for ipo_cuda.node in ${cudaAddonCandidates().join(', ')}); build it with 'npx cmake-js compile --out build-cuda --CDIPO_WITH_CUDA=ON'`;
  return (loaded = { reason, probe: chosen.cudaProbe, path: chosen.cudaProbe?.path });
}

function addon(): CudaAddon {
  const l = load();
  if (!l.addon) {
    const err = new Error(`CUDA is not available: ${l.reason}`) as Error & { code: string };
    err.code = 'IPO_ERR_UNAVAILABLE';
    throw err;
  }
  return l.addon;
}

// ---- device tensors ----------------------------------------------------------------------------

type HostArray = Float32Array | Uint16Array | Int32Array;

const registry = new FinalizationRegistry<{ pointer: bigint; free: (p: bigint) => void }>((held) => {
  try {
    held.free(held.pointer);
  } catch {
    /* the context may be gone at exit; nothing else can be done from a finalizer */
  }
});

/** A buffer in GPU memory: `length` elements of `dtype` at `pointer` on `device`. */
export class DeviceTensor {
  #pointer: bigint;
  #freed = false;

  constructor(
    pointer: bigint,
    readonly length: number,
    readonly dtype: DeviceDtype,
    readonly device: number,
    /** Owned tensors are freed by free() or when collected; borrowed ones (fromPointer) never. */
    readonly owned: boolean,
  ) {
    this.#pointer = pointer;
    if (owned) registry.register(this, { pointer, free: (p) => addon().free(p) }, this);
  }

  /** The raw device address, for other frameworks. */
  get pointer(): bigint {
    if (this.#freed) throw new Error('this DeviceTensor was freed');
    return this.#pointer;
  }

  get byteLength(): number {
    return this.length * BYTES[this.dtype];
  }

  get freed(): boolean {
    return this.#freed;
  }

  /** Copies the whole tensor to a new host array (Uint16Array holds bf16/f16 bits). */
  download(stream?: bigint): HostArray {
    const out =
      this.dtype === 'float32' ? new Float32Array(this.length) : this.dtype === 'int32' ? new Int32Array(this.length) : new Uint16Array(this.length);
    addon().copyToHost(this.pointer, out, stream);
    if (stream !== undefined) addon().synchronize(stream, this.device);
    return out;
  }

  /** Releases the memory now (idempotent). Borrowed tensors are only marked freed. */
  free(): void {
    if (this.#freed) return;
    this.#freed = true;
    if (this.owned) {
      registry.unregister(this);
      addon().free(this.#pointer);
    }
  }
}

function inferDtype(array: HostArray, dtype: DeviceDtype | undefined): DeviceDtype {
  if (array instanceof Float32Array) {
    if (dtype !== undefined && dtype !== 'float32') throw new TypeError(`dtype must be 'float32' for a Float32Array (got '${dtype}')`);
    return 'float32';
  }
  if (array instanceof Int32Array) {
    if (dtype !== undefined && dtype !== 'int32') throw new TypeError(`dtype must be 'int32' for an Int32Array (got '${dtype}')`);
    return 'int32';
  }
  if (array instanceof Uint16Array) {
    if (dtype !== 'bfloat16' && dtype !== 'float16')
      throw new TypeError(`dtype must be 'bfloat16' or 'float16' for a Uint16Array of 16-bit bit patterns (got ${dtype === undefined ? 'none' : `'${dtype}'`})`);
    return dtype;
  }
  throw new TypeError('array must be a Float32Array, a Uint16Array (bf16/f16 bits) or an Int32Array');
}

function checkDevice(device: number): void {
  if (!Number.isInteger(device) || device < 0) throw new RangeError(`device must be an integer >= 0 (got ${device})`);
}

export const cuda = {
  /** True when the addon is built, a driver is installed and at least one GPU is visible. */
  available(): boolean {
    return cuda.status().available;
  },

  status(): CudaStatus {
    const l = load();
    if (!l.addon) {
      // The loader's probe (a child process) already asked the CUDA binary; its answer is reused.
      const p = l.probe;
      return {
        available: false,
        reason: l.reason,
        deviceCount: p?.deviceCount ?? 0,
        runtimeVersion: p?.runtimeVersion ?? 0,
        driverVersion: p?.driverVersion ?? 0,
        ...(l.path ? { addonPath: l.path } : {}),
      };
    }
    return { ...l.addon.status(), addonPath: l.path };
  },

  /** The visible GPUs; [] when there is no driver or no GPU (status() says which). */
  devices(): CudaDevice[] {
    const l = load();
    return l.addon ? l.addon.devices() : [];
  },

  /** Copies a host array to new device memory. dtype is required for a Uint16Array (bf16/f16 bits). */
  upload(array: HostArray, dtype?: DeviceDtype, options: { device?: number } = {}): DeviceTensor {
    const kind = inferDtype(array, dtype);
    const device = options.device ?? 0;
    checkDevice(device);
    if (array.length === 0) throw new RangeError('array must not be empty');
    const a = addon();
    const pointer = a.malloc(device, array.byteLength, false);
    const tensor = new DeviceTensor(pointer, array.length, kind, device, true);
    try {
      a.copyToDevice(pointer, array);
    } catch (err) {
      tensor.free();
      throw err;
    }
    return tensor;
  },

  /** New zero-filled device memory. */
  zeros(length: number, dtype: DeviceDtype, options: { device?: number } = {}): DeviceTensor {
    if (!Number.isSafeInteger(length) || length < 1) throw new RangeError(`length must be a positive integer (got ${length})`);
    if (!(dtype in BYTES)) throw new TypeError(`dtype must be float32, bfloat16, float16 or int32 (got '${String(dtype)}')`);
    const device = options.device ?? 0;
    checkDevice(device);
    const pointer = addon().malloc(device, length * BYTES[dtype], true);
    return new DeviceTensor(pointer, length, dtype, device, true);
  },

  /** Wraps memory owned by another framework (e.g. a torch tensor's data_ptr()); never freed here. */
  fromPointer(pointer: bigint, length: number, dtype: DeviceDtype, options: { device?: number } = {}): DeviceTensor {
    if (typeof pointer !== 'bigint' || pointer <= 0n) throw new TypeError('pointer must be a non-zero BigInt device address');
    if (!Number.isSafeInteger(length) || length < 1) throw new RangeError(`length must be a positive integer (got ${length})`);
    if (!(dtype in BYTES)) throw new TypeError(`dtype must be float32, bfloat16, float16 or int32 (got '${String(dtype)}')`);
    const device = options.device ?? 0;
    checkDevice(device);
    return new DeviceTensor(pointer, length, dtype, device, false);
  },

  /** Waits for `stream` (default: the legacy default stream) of `device` (default 0). */
  synchronize(stream?: bigint, options: { device?: number } = {}): void {
    const device = options.device ?? 0;
    checkDevice(device);
    addon().synchronize(stream, device);
  },
};

// ---- the loss operations on device logits -------------------------------------------------------

/** LogitsInput with the logits (and optionally the labels) in device memory. */
export interface CudaLogitsInput {
  logits: DeviceTensor;
  /** Default: the tensor's dtype (must match it when given). */
  dtype?: LogitsDtype;
  seqLen: number;
  vocab: number;
  /** Host labels (copied for the call) or an int32 DeviceTensor. */
  labels: Int32Array | DeviceTensor;
}

export interface CudaDpoInput extends CudaLogitsInput {
  refLogps: Float32Array;
}

export interface CudaDpoOptions extends Omit<DpoOptions, 'threads' | 'gradOut'> {
  /** Write the gradient here instead of a new tensor (same dtype and length as the logits). */
  gradOut?: DeviceTensor;
  /**
   * `gradOut` is already all zeros: its unscored rows are then never written (cost 0). A statement
   * about the caller's buffer, so it needs `gradOut`; a buffer made by the call is always written in
   * full (zeros in unscored rows), and grad: 'inplace' cannot be zero (it holds the logits).
   */
  gradIsZeroed?: boolean;
  /** A cudaStream_t as a BigInt (e.g. torch.cuda.current_stream().cuda_stream). */
  stream?: bigint;
  /** Ignored on the GPU; accepted so that CPU options can be passed through unchanged. */
  threads?: number;
}

export interface CudaDpoResult extends Omit<DpoResult, 'gradLogits'> {
  /** d loss / d logits on the device; the logits tensor itself with grad: 'inplace'. */
  gradLogits?: DeviceTensor;
}

/** True for inputs the CUDA path takes (the hook lib/loss/index.ts routes on). */
export function isDeviceInput(input: { logits?: unknown }): boolean {
  return input != null && input.logits instanceof DeviceTensor;
}

function nativeInput(input: CudaLogitsInput): NativeDeviceInput {
  if (input == null || typeof input !== 'object') throw new TypeError('input must be an object { logits, seqLen, vocab, labels }');
  const { logits, labels, seqLen, vocab } = input;
  if (!(logits instanceof DeviceTensor)) throw new TypeError('logits must be a DeviceTensor (cuda.upload or cuda.fromPointer)');
  if (logits.dtype === 'int32') throw new TypeError("logits must be a float32, bfloat16 or float16 DeviceTensor (got 'int32')");
  if (input.dtype !== undefined && input.dtype !== logits.dtype)
    throw new TypeError(`dtype '${input.dtype}' does not match the logits tensor's dtype '${logits.dtype}'`);
  if (!Number.isSafeInteger(seqLen) || seqLen < 1) throw new RangeError(`seqLen must be a positive integer (got ${seqLen})`);
  if (!Number.isSafeInteger(vocab) || vocab < 1) throw new RangeError(`vocab must be a positive integer (got ${vocab})`);
  let labelCount: number;
  let nativeLabels: Int32Array | bigint;
  if (labels instanceof Int32Array) {
    labelCount = labels.length;
    nativeLabels = labels;
  } else if (labels instanceof DeviceTensor) {
    if (labels.dtype !== 'int32') throw new TypeError(`labels must be an int32 DeviceTensor (got '${labels.dtype}')`);
    if (labels.device !== logits.device) throw new TypeError(`labels are on device ${labels.device} but the logits on device ${logits.device}`);
    labelCount = labels.length;
    nativeLabels = labels.pointer;
  } else {
    throw new TypeError('labels must be an Int32Array or an int32 DeviceTensor');
  }
  if (labelCount % seqLen !== 0 || labelCount === 0)
    throw new RangeError(`labels must hold sequences x seqLen entries: ${labelCount} is not a positive multiple of seqLen=${seqLen}`);
  const sequences = labelCount / seqLen;
  if (logits.length !== sequences * seqLen * vocab)
    throw new RangeError(`logits must hold sequences x seqLen x vocab = ${sequences} x ${seqLen} x ${vocab} = ${sequences * seqLen * vocab} elements (got ${logits.length})`);
  return { logits: logits.pointer, dtype: logits.dtype, sequences, seqLen, vocab, labels: nativeLabels };
}

/** [sequences * seqLen]: log-prob of each label, 0 where not scored. */
export function cudaTokenLogprobs(input: CudaLogitsInput, options: { stream?: bigint } = {}): Float32Array {
  const native = nativeInput(input);
  return addon().tokenLogprobs(native, options.stream);
}

/** [sequences]: summed log-probs of the scored tokens. */
export function cudaSequenceLogprobs(input: CudaLogitsInput, options: { stream?: bigint } = {}): Float32Array {
  const native = nativeInput(input);
  return addon().sequenceLogprobs(native, options.stream);
}

/** The fused DPO loss on device logits; see DpoOptions for the loss options. */
export function cudaDpoLoss(input: CudaDpoInput, options: CudaDpoOptions = {}): CudaDpoResult {
  const native = nativeInput(input);
  if (!(input.refLogps instanceof Float32Array)) throw new TypeError('refLogps must be a Float32Array');
  const mode = options.grad ?? 'buffer';
  if (mode !== 'buffer' && mode !== 'inplace' && mode !== 'none') throw new RangeError(`options.grad must be 'buffer', 'inplace' or 'none' (got '${String(mode)}')`);
  const logits = input.logits;
  if (options.gradIsZeroed !== undefined && typeof options.gradIsZeroed !== 'boolean')
    throw new TypeError(`options.gradIsZeroed must be a boolean (got ${typeof options.gradIsZeroed})`);
  if (options.gradIsZeroed === true && mode === 'inplace')
    throw new TypeError("options.gradIsZeroed cannot be true with grad: 'inplace': the buffer holds the logits, not zeros");
  if (options.gradOut !== undefined && mode !== 'buffer')
    throw new TypeError(`options.gradOut needs grad: 'buffer' (got grad: '${mode}')`);
  let grad: DeviceTensor | undefined;
  let created = false;
  if (mode === 'inplace') {
    grad = logits;
  } else if (mode === 'buffer') {
    if (options.gradOut !== undefined) {
      const g = options.gradOut;
      if (!(g instanceof DeviceTensor)) throw new TypeError('options.gradOut must be a DeviceTensor');
      if (g.dtype !== logits.dtype || g.length !== logits.length || g.device !== logits.device)
        throw new TypeError(`options.gradOut must match the logits (${logits.length} ${logits.dtype} on device ${logits.device}); got ${g.length} ${g.dtype} on device ${g.device}`);
      grad = g;
    } else {
      // Uninitialised memory (no memset pass): the kernel writes every row, zeros included.
      const a = addon();
      grad = new DeviceTensor(a.malloc(logits.device, logits.byteLength, false), logits.length, logits.dtype, logits.device, true);
      created = true;
    }
  }
  try {
    const result = addon().dpoLoss(
      { ...native, refLogps: input.refLogps },
      {
        beta: options.beta,
        lossType: options.lossType,
        labelSmoothing: options.labelSmoothing,
        sftWeight: options.sftWeight,
        grad: grad ? grad.pointer : null,
        // Only a caller's gradOut can be known to be zero; a new buffer holds whatever the memory held.
        gradIsZeroed: options.gradIsZeroed === true && !created && grad !== undefined && grad !== logits,
      },
      options.stream,
    );
    return grad ? { ...result, gradLogits: grad } : result;
  } catch (err) {
    if (created) grad!.free();
    throw err;
  }
}
