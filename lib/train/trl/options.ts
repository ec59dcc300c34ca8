/**
 * Options of `ipo train --engine trl` and their defaults. Defaults follow the paper
 * (../../../docs/train-trl.md, METHOD.md): batch 64, lr 5e-6, beta 0.1, cosine with warm-up 0.1,
 * weight decay 0, stage 2 at harmful:benign 0.5 with SFT weight 0.2.
 */
import type { LossType } from '../../loss/types.js';

export interface TrlTrainOptions {
  /** A Hugging Face model folder, or a hub id (passed through to transformers for users with network). */
  model: string;
  out: string;
  pairsPath?: string;
  benignPath?: string;
  /** Tokenizer folder (tokenizer.json + tokenizer_config.json); default: the model's own. */
  tokenizerDir?: string;
  seed?: number;
  epochs?: number;
  /** Cap on optimizer steps per stage. */
  maxSteps?: number;
  batchSize?: number;
  microBatch?: number;
  learningRate?: number;
  warmupRatio?: number;
  weightDecay?: number;
  beta?: number;
  lossType?: LossType;
  labelSmoothing?: number;
  mixRatio?: number;
  sftWeight?: number;
  maxLength?: number;
  heldoutShare?: number;
  /** LoRA rank; 0 trains every weight. */
  loraRank?: number;
  bf16?: 'auto' | boolean;
  /** TRL's precompute_ref_log_probs: one reference pass per stage instead of a reference model in memory. */
  precomputeRef?: boolean;
  gradientCheckpointing?: boolean;
  fusedLoss?: 'auto' | boolean;
  /** TRL checkpoint every N steps (for resume); default: about 5 per stage. */
  saveEvery?: number;
  python?: string;
  launcher?: 'python' | 'accelerate';
  numProcesses?: number;
  accelerateConfig?: string;
  deepspeedConfig?: string;
  mainProcessPort?: number;
  fresh?: boolean;
  log?: (line: string) => void;
}

export const TRL_DEFAULTS = {
  seed: 0,
  epochs: 2,
  batchSize: 64,
  microBatch: 4,
  learningRate: 5e-6,
  warmupRatio: 0.1,
  weightDecay: 0,
  beta: 0.1,
  lossType: 'sigmoid' as LossType,
  labelSmoothing: 0,
  mixRatio: 0.5,
  sftWeight: 0.2,
  maxLength: 1024,
  heldoutShare: 0.2,
  loraRank: 0,
  numProcesses: 1,
};
