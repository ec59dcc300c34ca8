/**
 * The public loss API: fused segment-masked DPO and log-prob gathering, on the fastest backend that
 * loads here. Host arrays run on the native CPU kernels (or the float64 TypeScript reference when no
 * addon loads); DeviceTensor logits run on the CUDA kernels. See reference.ts for the math.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import {
  cuda,
  cudaDpoLoss,
  cudaSequenceLogprobs,
  cudaTokenLogprobs,
  isDeviceInput,
  type CudaDpoInput,
  type CudaDpoOptions,
  type CudaDpoResult,
  type CudaLogitsInput,
} from './cuda.js';
import { backend, packageRoot } from './native.js';
import { referenceDpoLoss, referenceSequenceLogprobs, referenceTokenLogprobs } from './reference.js';
import type { BackendInfo, DpoInput, DpoOptions, DpoResult, GradientCacheInfo, LogitsInput } from './types.js';

export * from './types.js';
export { bf16ToFloat, floatToBf16, f16ToFloat, floatToF16, encode as encodeLogits, decode as decodeLogits } from './dtype.js';
export { referenceDpoLoss, referenceSequenceLogprobs, referenceTokenLogprobs } from './reference.js';
export { cuda, DeviceTensor, type CudaDevice, type CudaStatus, type CudaDpoInput, type CudaDpoOptions, type CudaDpoResult, type CudaLogitsInput } from './cuda.js';

/** The fused DPO loss over a concatenated batch [chosen...; rejected...], with its gradient over the logits. */
export function dpoLoss(input: CudaDpoInput, options?: CudaDpoOptions): CudaDpoResult;
export function dpoLoss(input: DpoInput, options?: DpoOptions): DpoResult;
export function dpoLoss(input: DpoInput | CudaDpoInput, options?: DpoOptions | CudaDpoOptions): DpoResult | CudaDpoResult {
  if (isDeviceInput(input)) return cudaDpoLoss(input as CudaDpoInput, options as CudaDpoOptions);
  const b = backend();
  return b.binding ? b.binding.dpoLoss(input as DpoInput, options as DpoOptions) : referenceDpoLoss(input as DpoInput, options as DpoOptions);
}

/**
 * dpoLoss off the JavaScript thread (a libuv worker); the typed arrays must not change until it
 * settles. Device inputs run on their stream and return when the results are on the host.
 */
export async function dpoLossAsync(input: CudaDpoInput, options?: CudaDpoOptions): Promise<CudaDpoResult>;
export async function dpoLossAsync(input: DpoInput, options?: DpoOptions): Promise<DpoResult>;
export async function dpoLossAsync(input: DpoInput | CudaDpoInput, options?: DpoOptions | CudaDpoOptions): Promise<DpoResult | CudaDpoResult> {
  if (isDeviceInput(input)) return cudaDpoLoss(input as CudaDpoInput, options as CudaDpoOptions);
  const b = backend();
  if (b.binding) return b.binding.dpoLossAsync(input as DpoInput, options as DpoOptions);
  await new Promise((r) => setImmediate(r));
  return referenceDpoLoss(input as DpoInput, options as DpoOptions);
}

/** [sequences]: summed log-probs of the scored tokens (the reference-model pass). */
export function sequenceLogprobs(input: LogitsInput | CudaLogitsInput): Float32Array {
  if (isDeviceInput(input)) return cudaSequenceLogprobs(input as CudaLogitsInput);
  const b = backend();
  return b.binding ? b.binding.sequenceLogprobs(input as LogitsInput) : referenceSequenceLogprobs(input as LogitsInput);
}

/** [sequences * seqLen]: log-prob of each label, 0 where not scored. */
export function tokenLogprobs(input: LogitsInput | CudaLogitsInput): Float32Array {
  if (isDeviceInput(input)) return cudaTokenLogprobs(input as CudaLogitsInput);
  const b = backend();
  return b.binding ? b.binding.tokenLogprobs(input as LogitsInput) : referenceTokenLogprobs(input as LogitsInput);
}

/** Counters of the gradient-buffer cache (see GradientCacheInfo); all 0 without the native backend. */
export function gradientCacheInfo(): GradientCacheInfo {
  const b = backend();
  if (b.binding) return b.binding.gradientCacheInfo();
  return { hits: 0, misses: 0, refused: 0, idleBuffers: 0, idleBytes: 0, liveBuffers: 0, liveBytes: 0 };
}

/** Unmaps the idle cached gradient buffers now (memory back to the OS); returns the bytes released. */
export function trimGradientCache(): number {
  const b = backend();
  return b.binding ? b.binding.trimGradientCache() : 0;
}

/** Which backend runs the loss here, and why a faster one was not used. */
export function backendInfo(): BackendInfo {
  const b = backend();
  if (!b.binding) return { backend: 'js', threads: 1, simd: 'none', version: packageVersion(), ...(b.reason ? { reason: b.reason } : {}) };
  const info: BackendInfo = { ...b.binding.backendInfo(), backend: b.backend === 'cuda' ? 'cuda' : 'cpu', ...(b.reason ? { reason: b.reason } : {}) };
  if (b.backend === 'cuda') {
    const status = cuda.status();
    const device = cuda.devices()[0];
    const version = (v: number) => (v ? `${Math.floor(v / 1000)}.${Math.floor((v % 1000) / 10)}` : 'none');
    Object.assign(info, {
      device: device ? `${device.name} (sm_${device.computeCapability.replace('.', '')}, ${status.deviceCount} visible)` : undefined,
      driverVersion: version(status.driverVersion),
      runtimeVersion: version(status.runtimeVersion),
    });
  }
  return info;
}

function packageVersion(): string {
  const pkg = createRequire(import.meta.url)(join(packageRoot(), 'package.json')) as { version: string };
  return pkg.version;
}
