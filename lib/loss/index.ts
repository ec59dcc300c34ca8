/**
 * The public loss API: fused segment-masked DPO and log-prob gathering, on the fastest backend that
 * loads here (CUDA, CPU addon, or the float64 TypeScript reference). See reference.ts for the math.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { backend, packageRoot } from './native.js';
import { referenceDpoLoss, referenceSequenceLogprobs, referenceTokenLogprobs } from './reference.js';
import type { BackendInfo, DpoInput, DpoOptions, DpoResult, LogitsInput } from './types.js';

export * from './types.js';
export { bf16ToFloat, floatToBf16, f16ToFloat, floatToF16, encode as encodeLogits, decode as decodeLogits } from './dtype.js';
export { referenceDpoLoss, referenceSequenceLogprobs, referenceTokenLogprobs } from './reference.js';

/** The fused DPO loss over a concatenated batch [chosen...; rejected...], with its gradient over the logits. */
export function dpoLoss(input: DpoInput, options?: DpoOptions): DpoResult {
  const b = backend();
  return b.binding ? b.binding.dpoLoss(input, options) : referenceDpoLoss(input, options);
}

/** dpoLoss off the JavaScript thread (a libuv worker); the typed arrays must not change until it settles. */
export async function dpoLossAsync(input: DpoInput, options?: DpoOptions): Promise<DpoResult> {
  const b = backend();
  if (b.binding) return b.binding.dpoLossAsync(input, options);
  await new Promise((r) => setImmediate(r));
  return referenceDpoLoss(input, options);
}

/** [sequences]: summed log-probs of the scored tokens (the reference-model pass). */
export function sequenceLogprobs(input: LogitsInput): Float32Array {
  const b = backend();
  return b.binding ? b.binding.sequenceLogprobs(input) : referenceSequenceLogprobs(input);
}

/** [sequences * seqLen]: log-prob of each label, 0 where not scored. */
export function tokenLogprobs(input: LogitsInput): Float32Array {
  const b = backend();
  return b.binding ? b.binding.tokenLogprobs(input) : referenceTokenLogprobs(input);
}

/** Which backend runs the loss here, and why a faster one was not used. */
export function backendInfo(): BackendInfo {
  const b = backend();
  if (b.binding) return { ...b.binding.backendInfo(), ...(b.reason ? { reason: b.reason } : {}) };
  return { backend: 'js', threads: 1, simd: 'none', version: packageVersion(), ...(b.reason ? { reason: b.reason } : {}) };
}

function packageVersion(): string {
  const pkg = createRequire(import.meta.url)(join(packageRoot(), 'package.json')) as { version: string };
  return pkg.version;
}
