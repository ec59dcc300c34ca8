/** Element formats of the logits. 16-bit formats travel as their bit patterns in a Uint16Array. */
export type LogitsDtype = 'float32' | 'bfloat16' | 'float16';

/** Label value of a position that is not scored (PyTorch / TRL's ignore index). */
export const IGNORE_INDEX = -100;

export interface LogitsInput {
  /** Row-major [sequences, seqLen, vocab]; a Uint16Array holds bf16 or f16 bits. */
  logits: Float32Array | Uint16Array;
  /** Default 'float32'; required for a Uint16Array. */
  dtype?: LogitsDtype;
  seqLen: number;
  vocab: number;
  /** [sequences, seqLen]: the token id that logits row (s, t) scores, or -100 where (s, t) is not scored. */
  labels: Int32Array;
}

export interface DpoInput extends LogitsInput {
  /** [2 * pairs]: the reference model's summed log-probs, same order as the sequences. */
  refLogps: Float32Array;
}

export type LossType = 'sigmoid' | 'robust' | 'hinge' | 'ipo';
export type GradMode = 'buffer' | 'inplace' | 'none';

export interface DpoOptions {
  /** Default 0.1, > 0. */
  beta?: number;
  /** Default 'sigmoid' (plain DPO, what IPO uses). */
  lossType?: LossType;
  /** Default 0, in [0, 0.5). */
  labelSmoothing?: number;
  /** Default 0: adds sftWeight x mean NLL over all scored chosen tokens (the RPO term of IPO's stage 2). */
  sftWeight?: number;
  /** Default 'buffer': a new array; 'inplace': written over the logits; 'none': no gradient. */
  grad?: GradMode;
  /** Default: all cores. */
  threads?: number;
  /**
   * With grad 'buffer': write the gradient into this array (same type and length as the logits)
   * instead of a new one, e.g. one buffer reused every step. Allocating nothing avoids the page
   * faults of fresh memory; every unscored row is then written as zero. Must not overlap the labels
   * or refLogps; passing the logits array itself equals grad 'inplace'.
   */
  gradOut?: Float32Array | Uint16Array;
}

export interface DpoResult {
  /** Mean over pairs of the per-pair loss, plus the sft term. */
  loss: number;
  /** [pairs], summed over scored tokens. */
  chosenLogps: Float32Array;
  rejectedLogps: Float32Array;
  /** beta x (policy - ref), [pairs]. */
  chosenRewards: Float32Array;
  rejectedRewards: Float32Array;
  /** chosenRewards - rejectedRewards. */
  margins: Float32Array;
  /** Share of pairs with margin > 0. */
  accuracy: number;
  /** d loss / d logits, same dtype and shape as logits; exactly 0 on unscored rows. With 'inplace' it is the logits array. */
  gradLogits?: Float32Array | Uint16Array;
}

/**
 * The recycled memory behind grad 'buffer' results (CPU backend, Linux). A gradient array dropped by
 * JavaScript goes back to a small cache once it is garbage-collected (and the event loop has turned),
 * and the next call of a similar size writes into it: its pages are already mapped, and rows that stay
 * unscored call after call cost nothing. Every unscored element still reads exactly 0, whatever the
 * caller wrote into the array meanwhile. At most 2 idle and 4 live buffers; beyond that, or with
 * IPO_GRAD_CACHE=0, a fresh zero-filled array is allocated as usual. See docs/loss.md.
 */
export interface GradientCacheInfo {
  /** Calls served by a recycled buffer / by a newly mapped one / not served (limit reached or cache off). */
  hits: number;
  misses: number;
  refused: number;
  /** Buffers waiting for reuse, and those held by live gradient arrays. */
  idleBuffers: number;
  idleBytes: number;
  liveBuffers: number;
  liveBytes: number;
}

export interface BackendInfo {
  backend: 'cpu' | 'cuda' | 'js';
  threads: number;
  simd: string;
  version: string;
  /** Why a faster backend was not used, when it was not (e.g. the addon failed to load). */
  reason?: string;
  device?: string;
  driverVersion?: string;
  runtimeVersion?: string;
}
