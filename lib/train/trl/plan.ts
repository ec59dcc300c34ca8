/**
 * The TRL engine's data plan: the same pairs, tokenization, held-out split and two-stage schedule as
 * the TensorFlow.js engine (lib/train/run.ts, lib/train/schedule.ts), written as rows TRL reads in
 * order. Each stage's rows are the schedule's steps flattened (micro-batches in order); TRL takes
 * `batchSize` consecutive rows per optimizer step. When a schedule step holds fewer pairs than
 * `batchSize` (the last step of an epoch whose pool is not a multiple of it), the next pairs of the
 * stream fill it, and the stream is extended cyclically to steps x batchSize rows.
 */
import { readPairs, type IpoPair } from '../../pairs/record.js';
import { createPairTokenizer, truncationSummary, type TokenizedPair } from '../../data/tokenize.js';
import { loadTokenizer } from '../../data/tokenizer.js';
import { defaultDataDir, isHeldOut } from '../run.js';
import { TwoStageSchedule, type Stage } from '../schedule.js';
import { join } from 'node:path';

export interface TrlRowIds {
  prompt_ids: number[];
  chosen_ids: number[];
  rejected_ids: number[];
}

export interface StagePlan {
  stage: Stage;
  steps: number;
  warmupSteps: number;
  sftWeight: number;
  rows: TrlRowIds[];
  /** 1-based epoch of each step (index step - 1). */
  epochs: number[];
}

export interface TrlPlan {
  stages: StagePlan[];
  heldout: { harmful: TrlRowIds[]; benign: TrlRowIds[] };
  fingerprint: string;
  summary: string;
}

export interface PlanOptions {
  pairsPath?: string;
  benignPath?: string;
  tokenizerDir: string;
  seed: number;
  epochs: number;
  maxSteps?: number;
  batchSize: number;
  microBatch: number;
  learningRate: number;
  warmupRatio: number;
  mixRatio: number;
  sftWeight: number;
  maxLength: number;
  heldoutShare: number;
}

export function toRow(p: TokenizedPair): TrlRowIds {
  return { prompt_ids: Array.from(p.context), chosen_ids: Array.from(p.chosen), rejected_ids: Array.from(p.rejected) };
}

export async function planStages(o: PlanOptions): Promise<TrlPlan> {
  const pairsPath = o.pairsPath ?? join(defaultDataDir(), 'harmful.jsonl');
  const benignPath = o.benignPath ?? join(defaultDataDir(), 'benign.jsonl');
  const harmfulAll = readPairs(pairsPath, { kind: 'intervened' });
  const benignAll = readPairs(benignPath, { kind: 'benign' });
  if (harmfulAll.length === 0) throw new Error(`${pairsPath}: no intervened pairs`);
  const tokenizer = loadTokenizer(o.tokenizerDir);
  if (!tokenizer.template) throw new Error(`${o.tokenizerDir}/tokenizer_config.json has no chat_template: the context cannot be rendered`);
  const pairTokenizer = createPairTokenizer(tokenizer, tokenizer.template, { maxLength: o.maxLength });
  const tokenizeAll = (pairs: IpoPair[]) => pairs.map((p) => pairTokenizer.tokenize(p));
  const held = (p: IpoPair) => isHeldOut(p.id, o.heldoutShare);
  const harmfulTrain = tokenizeAll(harmfulAll.filter((p) => !held(p)));
  const harmfulHeld = tokenizeAll(harmfulAll.filter(held));
  const benignTrain = tokenizeAll(benignAll.filter((p) => !held(p)));
  const benignHeld = tokenizeAll(benignAll.filter(held));
  if (harmfulTrain.length === 0) throw new Error('every harmful pair is held out: lower --heldout-share');
  const scheduleOptions = { seed: o.seed, batchSize: o.batchSize, microBatch: o.microBatch, epochs: o.epochs, learningRate: o.learningRate, warmupRatio: o.warmupRatio, mixRatio: o.mixRatio, sftWeight: o.sftWeight };
  const byEpochs = new TwoStageSchedule(harmfulTrain, benignTrain, scheduleOptions);
  const capped = (stage: Stage) => Math.min(byEpochs.stageSteps(stage), o.maxSteps ?? Infinity);
  const schedule = new TwoStageSchedule(harmfulTrain, benignTrain, { ...scheduleOptions, steps: [capped(1), Math.max(1, capped(2))] });

  const stages: StagePlan[] = [];
  for await (const step of schedule.steps()) {
    let plan = stages.find((s) => s.stage === step.stage);
    if (!plan) {
      const steps = schedule.stageSteps(step.stage);
      plan = { stage: step.stage, steps, warmupSteps: Math.ceil(o.warmupRatio * steps), sftWeight: step.sftWeight, rows: [], epochs: [] };
      stages.push(plan);
    }
    for (const micro of step.microBatches) plan.rows.push(...micro.map(toRow));
    plan.epochs.push(step.epoch);
  }
  for (const plan of stages) {
    const want = plan.steps * o.batchSize;
    const stream = plan.rows;
    plan.rows = Array.from({ length: want }, (_, i) => stream[i % stream.length]);
  }
  const cut = truncationSummary([...harmfulTrain, ...harmfulHeld, ...benignTrain, ...benignHeld]);
  return {
    stages,
    heldout: { harmful: harmfulHeld.map(toRow), benign: benignHeld.map(toRow) },
    fingerprint: schedule.fingerprint,
    summary:
      `data: ${harmfulTrain.length} harmful + ${benignTrain.length} benign pairs for training, ${harmfulHeld.length} + ${benignHeld.length} held out; ` +
      `tokenizer ${o.tokenizerDir}; truncated ${cut.pairsCut} pairs (${cut.contextTokens} context, ${cut.segmentTokens} segment tokens)`,
  };
}
