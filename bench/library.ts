/**
 * Loads the library under test from the built package (dist/loss/index.js, produced by
 * `npm run build`, or another build named by --library) at run time, so the benchmark compiles and its baselines run even before the loss exists. The types
 * below are the library's public API; the benchmark uses only dpoLoss and backendInfo,
 * gradientCacheInfo when present, plus the float64 reference's dpoLoss.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

export type LogitsDtype = 'float32' | 'bfloat16' | 'float16';
export type GradMode = 'buffer' | 'inplace' | 'none';
/** How the benchmark asks for the gradient: a library grad mode, or 'gradOut' (grad 'buffer' into one reused array). */
export type GradCase = GradMode | 'gradOut';

export interface DpoInput {
  logits: Float32Array | Uint16Array;
  dtype?: LogitsDtype;
  seqLen: number;
  vocab: number;
  labels: Int32Array;
  refLogps: Float32Array;
}

export interface DpoOptions {
  beta?: number;
  grad?: GradMode;
  threads?: number;
  gradOut?: Float32Array | Uint16Array;
}

export interface DpoResult {
  loss: number;
  chosenLogps: Float32Array;
  rejectedLogps: Float32Array;
  gradLogits?: Float32Array | Uint16Array;
}

export type DpoLossFn = (input: DpoInput, options?: DpoOptions) => DpoResult;

export interface BackendInfo {
  backend: string;
  threads: number;
  simd: string;
  version: string;
}

/** Counters of the library's gradient-buffer cache (grad 'buffer' recycles dropped arrays). */
export interface GradientCacheInfo {
  hits: number;
  misses: number;
  refused: number;
}

export interface Library {
  dpoLoss: DpoLossFn;
  backendInfo: () => BackendInfo;
  gradientCacheInfo?: () => GradientCacheInfo;
  /** The float64 TypeScript reference's dpoLoss, when the build has one. */
  referenceDpoLoss?: DpoLossFn;
  modulePath: string;
}

/** Returns the library, or a reason why it is not there. */
export async function loadLibrary(modulePath: string): Promise<Library | { missing: string }> {
  if (!existsSync(modulePath)) return { missing: `${modulePath} not found (run \`npm run build\`)` };
  const loss = (await import(pathToFileURL(modulePath).href)) as Record<string, unknown>;
  if (typeof loss.dpoLoss !== 'function' || typeof loss.backendInfo !== 'function') {
    return { missing: `${modulePath} does not export dpoLoss and backendInfo` };
  }
  return {
    dpoLoss: loss.dpoLoss as DpoLossFn,
    backendInfo: loss.backendInfo as () => BackendInfo,
    gradientCacheInfo: typeof loss.gradientCacheInfo === 'function' ? (loss.gradientCacheInfo as () => GradientCacheInfo) : undefined,
    referenceDpoLoss: await loadReference(dirname(modulePath), loss),
    modulePath,
  };
}

/**
 * The reference lives beside the library (dist/loss/reference.js); accept the spellings the API
 * may use: `referenceDpoLoss`, a `reference` namespace with `dpoLoss`, or a plain `dpoLoss` export.
 */
async function loadReference(directory: string, loss: Record<string, unknown>): Promise<DpoLossFn | undefined> {
  const candidates: Record<string, unknown>[] = [loss];
  const referencePath = join(directory, 'reference.js');
  if (existsSync(referencePath)) candidates.unshift((await import(pathToFileURL(referencePath).href)) as Record<string, unknown>);
  for (const module of candidates) {
    if (typeof module.referenceDpoLoss === 'function') return module.referenceDpoLoss as DpoLossFn;
    const namespace = module.reference as Record<string, unknown> | undefined;
    if (namespace && typeof namespace.dpoLoss === 'function') return namespace.dpoLoss as DpoLossFn;
    if (module !== loss && typeof module.dpoLoss === 'function') return module.dpoLoss as DpoLossFn;
  }
  return undefined;
}
