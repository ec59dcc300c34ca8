/**
 * IPO's two-stage schedule as an async iterator of optimizer steps.
 *
 * Stage 1: the intervened harmful pairs, pure DPO (sftWeight 0).
 * Stage 2: every benign pair plus h = round(mixRatio * nBenign) harmful pairs drawn without
 *          replacement each epoch (mixRatio is the harmful:benign ratio, default 0.5), with the
 *          SFT term sftWeight (default 0.2).
 *
 * Each stage has its own cosine schedule with linear warm-up. With T the stage's steps,
 * W = ceil(warmupRatio * T) and k = step - 1 (0-based):
 *
 *   lr(k) = peak * (k + 1) / (W + 1)                            for k < W
 *   lr(k) = peak * 0.5 * (1 + cos(pi * (k - W) / max(1, T - W))) otherwise
 *
 * T = epochs * ceil(pool / batchSize) unless `steps` fixes it (epochs then repeat or stop early).
 * Within an epoch the pool is shuffled by a seeded RNG, cut into effective batches of `batchSize`
 * pairs and those into length-bucketed micro-batches (lib/data/batch.ts `planSteps`).
 *
 * Exact resume: one RNG stream drives every shuffle and draw; an epoch's whole plan is drawn at the
 * epoch's start, so the state (stage, steps done in the stage, epoch, RNG state at the epoch's start)
 * is enough to rebuild the plan and continue with the very next step.
 */
import { createHash } from 'node:crypto';
import { planSteps, pairLength, shuffledIndices } from '../data/batch.js';
import { Rng, type RngState } from '../run/rng.js';
import type { TokenizedPair } from '../data/tokenize.js';

export type Stage = 1 | 2;

export interface ScheduleOptions {
  /** Seed of every shuffle and draw. Default 0. */
  seed?: number;
  /** Pairs per optimizer step (the effective batch). Default 64 (the paper's). */
  batchSize?: number;
  /** Pairs per forward/backward pass; gradients accumulate over ceil(batchSize / microBatch) of them. Default 8. */
  microBatch?: number;
  /** Epochs per stage (a number for both or [stage1, stage2]). Default 1. */
  epochs?: number | [number, number];
  /** Fixes the number of optimizer steps per stage (a number for both or [stage1, stage2]), overriding epochs. */
  steps?: number | [number, number];
  /** Peak learning rate. Default 5e-6. */
  learningRate?: number;
  /** Share of a stage's steps spent warming up linearly. Default 0.1. */
  warmupRatio?: number;
  /** Stage 2 harmful:benign ratio (harmful pairs drawn per benign pair). Default 0.5. */
  mixRatio?: number;
  /** Weight of the SFT (chosen NLL) term in stage 2. Default 0.2. */
  sftWeight?: number;
  /** Run stage 2. Default: when there are benign pairs. */
  stage2?: boolean;
}

export interface ScheduleState {
  version: 1;
  /** Hash of the options and pairs; resuming with other data or settings is refused. */
  fingerprint: string;
  stage: Stage;
  /** Optimizer steps completed in `stage`. */
  stepsDone: number;
  /** 0-based epoch of `stage` the next step belongs to. */
  epoch: number;
  /** RNG state at the start of that epoch (before its plan was drawn). */
  epochRng: RngState;
  finished: boolean;
}

export interface TrainingStep<B> {
  stage: Stage;
  /** 1-based step within the stage. */
  step: number;
  /** Steps in this stage. */
  stageSteps: number;
  /** 1-based epoch within the stage. */
  epoch: number;
  lr: number;
  /** SFT weight for this stage's loss (0 in stage 1). */
  sftWeight: number;
  /** The step's pairs as micro-batches (gradient accumulation over them makes the effective batch). */
  microBatches: B[];
  /** Pairs in the step (the sum over micro-batches). */
  pairs: number;
  /** How many of them are benign. */
  benignPairs: number;
  /** The state once this step is applied: save it with the model to resume after this step. */
  state: ScheduleState;
}

export interface StageStartInfo {
  stage: Stage;
  /** Every pair the stage may visit (stage 2: all harmful and all benign pairs). */
  pairs: TokenizedPair[];
  /** True when the stage was already under way before a resume. */
  resumed: boolean;
}

interface Resolved {
  seed: number;
  batchSize: number;
  microBatch: number;
  epochs: [number, number];
  steps: [number | null, number | null];
  learningRate: number;
  warmupRatio: number;
  mixRatio: number;
  sftWeight: number;
  stage2: boolean;
}

/** HF/TRL cosine schedule with warm-up, for 0-based step k of T. */
export function cosineWithWarmup(k: number, totalSteps: number, peak: number, warmupRatio: number): number {
  const warmup = Math.ceil(warmupRatio * totalSteps);
  // (k + 1) / (W + 1), not HF's k / W: the first step of a stage must move the weights (HF's runs at lr 0).
  if (k < warmup) return (peak * (k + 1)) / (warmup + 1);
  const progress = (k - warmup) / Math.max(1, totalSteps - warmup);
  return peak * 0.5 * (1 + Math.cos(Math.PI * progress));
}

export class TwoStageSchedule<B = TokenizedPair[]> {
  readonly options: Readonly<Resolved>;
  private readonly collate: (pairs: TokenizedPair[]) => B;
  readonly fingerprint: string;

  constructor(
    readonly harmful: TokenizedPair[],
    readonly benign: TokenizedPair[],
    options: ScheduleOptions = {},
    collate?: (pairs: TokenizedPair[]) => B,
  ) {
    this.options = resolve(options, benign.length > 0);
    if (harmful.length === 0) throw new RangeError('the schedule needs at least one harmful (intervened) pair');
    if (this.options.stage2 && benign.length === 0) throw new RangeError('stage 2 needs benign pairs');
    this.collate = collate ?? ((pairs) => pairs as unknown as B);
    const hash = createHash('sha256');
    hash.update(JSON.stringify(this.options));
    for (const set of [harmful, benign]) {
      hash.update('|');
      for (const p of set) hash.update(`${p.id}\u0000${p.unit ?? ''}\u0000${pairLength(p)};`);
    }
    this.fingerprint = hash.digest('hex').slice(0, 16);
  }

  /** Harmful pairs drawn into each stage-2 epoch: round(mixRatio * nBenign). */
  get harmfulPerStage2Epoch(): number {
    return Math.round(this.options.mixRatio * this.benign.length);
  }

  /** Pairs one epoch of `stage` visits. */
  poolSize(stage: Stage): number {
    return stage === 1 ? this.harmful.length : this.benign.length + this.harmfulPerStage2Epoch;
  }

  stepsPerEpoch(stage: Stage): number {
    return Math.ceil(this.poolSize(stage) / this.options.batchSize);
  }

  stageSteps(stage: Stage): number {
    if (stage === 2 && !this.options.stage2) return 0;
    return this.options.steps[stage - 1] ?? this.options.epochs[stage - 1] * this.stepsPerEpoch(stage);
  }

  stages(): Stage[] {
    return this.options.stage2 ? [1, 2] : [1];
  }

  lr(stage: Stage, step: number): number {
    return cosineWithWarmup(step - 1, this.stageSteps(stage), this.options.learningRate, this.options.warmupRatio);
  }

  initialState(): ScheduleState {
    return { version: 1, fingerprint: this.fingerprint, stage: 1, stepsDone: 0, epoch: 0, epochRng: new Rng(this.options.seed).state(), finished: false };
  }

  /**
   * The steps from `from` (default: the beginning) to the end. `onStageStart` is awaited before a
   * stage's first step (or its first step after a resume): the place to run the reference pass.
   */
  async *steps(from?: ScheduleState, hooks: { onStageStart?: (info: StageStartInfo) => void | Promise<void> } = {}): AsyncGenerator<TrainingStep<B>> {
    const start = from ?? this.initialState();
    this.checkState(start);
    if (start.finished) return;
    let rng = new Rng(start.epochRng);
    let resumedStage: Stage | null = start.stepsDone > 0 || start.epoch > 0 ? start.stage : null;
    for (const stage of this.stages()) {
      if (stage < start.stage) continue;
      const total = this.stageSteps(stage);
      const perEpoch = this.stepsPerEpoch(stage);
      let done = stage === start.stage ? start.stepsDone : 0;
      if (total === 0) continue;
      await hooks.onStageStart?.({ stage, pairs: stage === 1 ? this.harmful : [...this.harmful, ...this.benign], resumed: resumedStage === stage });
      resumedStage = null;
      while (done < total) {
        const epoch = Math.floor(done / perEpoch);
        const epochRng = rng.state();
        const { pool, plan } = this.drawEpoch(stage, rng);
        for (let s = done - epoch * perEpoch; s < plan.length && done < total; s++) {
          done++;
          const micro = plan[s].map((indices) => indices.map((i) => pool[i]));
          const stageOver = done === total;
          const epochOver = s === plan.length - 1;
          const isLastStage = stage === this.stages()[this.stages().length - 1];
          const next: ScheduleState = stageOver
            ? { version: 1, fingerprint: this.fingerprint, stage: isLastStage ? stage : 2, stepsDone: isLastStage ? done : 0, epoch: 0, epochRng: rng.state(), finished: isLastStage }
            : epochOver
              ? { version: 1, fingerprint: this.fingerprint, stage, stepsDone: done, epoch: epoch + 1, epochRng: rng.state(), finished: false }
              : { version: 1, fingerprint: this.fingerprint, stage, stepsDone: done, epoch, epochRng, finished: false };
          const pairs = micro.reduce((n, m) => n + m.length, 0);
          yield {
            stage,
            step: done,
            stageSteps: total,
            epoch: epoch + 1,
            lr: this.lr(stage, done),
            sftWeight: stage === 1 ? 0 : this.options.sftWeight,
            microBatches: micro.map((m) => this.collate(m)),
            pairs,
            benignPairs: micro.reduce((n, m) => n + m.filter((p) => p.kind === 'benign').length, 0),
            state: next,
          };
        }
      }
    }
  }

  /** Draws one epoch's pool and plan from `rng` (advancing it). */
  private drawEpoch(stage: Stage, rng: Rng): { pool: TokenizedPair[]; plan: number[][][] } {
    let pool: TokenizedPair[];
    if (stage === 1) {
      pool = this.harmful;
    } else {
      const want = this.harmfulPerStage2Epoch;
      const drawn: TokenizedPair[] = [];
      // Without replacement; when more are wanted than exist, whole reshuffled passes repeat.
      while (drawn.length < want) {
        for (const i of shuffledIndices(this.harmful.length, rng)) {
          if (drawn.length === want) break;
          drawn.push(this.harmful[i]);
        }
      }
      pool = [...drawn, ...this.benign];
    }
    const order = shuffledIndices(pool.length, rng);
    const plan = planSteps(order, (i) => pairLength(pool[i]), this.options.batchSize, this.options.microBatch);
    return { pool, plan };
  }

  private checkState(state: ScheduleState): void {
    if (!state || state.version !== 1) throw new Error('schedule state: unknown version');
    if (state.fingerprint !== this.fingerprint) {
      throw new Error('schedule state was saved for other pairs or settings (fingerprint differs): start fresh or use the same data and flags');
    }
    if (!this.stages().includes(state.stage) || state.stepsDone < 0 || state.stepsDone > this.stageSteps(state.stage)) {
      throw new Error(`schedule state: stage ${state.stage} step ${state.stepsDone} is outside this schedule`);
    }
  }
}

function resolve(o: ScheduleOptions, hasBenign: boolean): Resolved {
  const pair = (v: number | [number, number] | undefined, d: number): [number, number] => (v === undefined ? [d, d] : typeof v === 'number' ? [v, v] : [v[0], v[1]]);
  const r: Resolved = {
    seed: o.seed ?? 0,
    batchSize: o.batchSize ?? 64,
    microBatch: o.microBatch ?? 8,
    epochs: pair(o.epochs, 1),
    steps: o.steps === undefined ? [null, null] : pair(o.steps, 0),
    learningRate: o.learningRate ?? 5e-6,
    warmupRatio: o.warmupRatio ?? 0.1,
    mixRatio: o.mixRatio ?? 0.5,
    sftWeight: o.sftWeight ?? 0.2,
    stage2: o.stage2 ?? hasBenign,
  };
  const positiveInt = (name: string, v: number) => {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`${name} must be a positive integer, got ${v}`);
  };
  if (!Number.isInteger(r.seed)) throw new RangeError(`seed must be an integer, got ${r.seed}`);
  positiveInt('batchSize', r.batchSize);
  positiveInt('microBatch', r.microBatch);
  r.epochs.forEach((e) => positiveInt('epochs', e));
  r.steps.forEach((s) => s !== null && positiveInt('steps', s));
  if (!(r.learningRate > 0) || !Number.isFinite(r.learningRate)) throw new RangeError(`learningRate must be > 0, got ${r.learningRate}`);
  if (!(r.warmupRatio >= 0 && r.warmupRatio < 1)) throw new RangeError(`warmupRatio must be in [0, 1), got ${r.warmupRatio}`);
  if (!(r.mixRatio >= 0) || !Number.isFinite(r.mixRatio)) throw new RangeError(`mixRatio must be >= 0, got ${r.mixRatio}`);
  if (!(r.sftWeight >= 0) || !Number.isFinite(r.sftWeight)) throw new RangeError(`sftWeight must be >= 0, got ${r.sftWeight}`);
  return r;
}
