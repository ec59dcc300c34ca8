/**
 * `ipo train --engine trl`: plan the data in Node (the same tokenization, split and schedule as the
 * TensorFlow.js engine), write OUT/trl/config.json and the rows, start the Python side (one process
 * or `accelerate launch`), and turn its events into metrics.jsonl, chart.svg and progress lines.
 *
 * OUT layout: metrics.jsonl, chart.svg, stage1/ and stage2/ (Hugging Face folders), stageN-trainer/
 * (TRL checkpoints while a stage runs), trl/ (config, rows, held-out base log-probs, python.log).
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { defaultTokenizerDir } from '../../data/tokenizer.js';
import { isEvalLine, type EvalLine } from '../metrics.js';
import type { Stage } from '../schedule.js';
import { MetricsBridge, parseEvent } from './bridge.js';
import { TRL_DEFAULTS, type TrlTrainOptions } from './options.js';
import { planStages, type TrlRowIds } from './plan.js';
import { checkPython, launchCommand, pythonEnvFor, resolvePython } from './python.js';
import { isLocalFolder, usableTokenizerDir } from './tokenizer-dir.js';

export interface TrlSummary {
  out: string;
  resumedFrom: { stage: Stage; step: number } | null;
  heldout: EvalLine[];
  heldoutBenign: EvalLine[];
  metricsPath: string;
  chartPath: string;
  stageDirs: string[];
}

export async function runTrlTraining(options: TrlTrainOptions): Promise<TrlSummary> {
  const o = { ...TRL_DEFAULTS, ...stripUndefined(options), model: options.model, out: options.out };
  const log = options.log ?? (() => {});
  const perStep = o.microBatch * o.numProcesses;
  if (o.batchSize % perStep !== 0) {
    throw new RangeError(`--batch-size (${o.batchSize}) must be a multiple of --micro-batch x --num-processes (${o.microBatch} x ${o.numProcesses})`);
  }
  if (o.numProcesses > 1 && (options.launcher ?? 'python') !== 'accelerate') throw new RangeError('--num-processes > 1 needs --launcher accelerate');
  const python = resolvePython(o.python);
  log(`python: ${python} (${checkPython(python)})`);

  const out = resolve(o.out);
  const trlDir = join(out, 'trl');
  mkdirSync(trlDir, { recursive: true });
  const tokenizerDir = usableTokenizerDir(tokenizerSource(o, python, trlDir, log), join(trlDir, 'tokenizer'));
  const plan = await planStages({ ...o, tokenizerDir });
  log(plan.summary);

  const model = isLocalFolder(o.model) ? resolve(o.model) : o.model;
  if (isLocalFolder(o.model)) checkVocabulary(model, plan.stages.flatMap((s) => s.rows));
  const settings = {
    model,
    tokenizerDir,
    schedule: plan.fingerprint,
    maxLength: o.maxLength,
    microBatch: o.microBatch,
    numProcesses: o.numProcesses,
    beta: o.beta,
    lossType: o.lossType,
    labelSmoothing: o.labelSmoothing,
    weightDecay: o.weightDecay,
    loraRank: o.loraRank,
    precomputeRef: o.precomputeRef ?? false,
  };
  const fingerprint = createHash('sha256').update(JSON.stringify(settings)).digest('hex').slice(0, 16);
  const configPath = join(trlDir, 'config.json');
  const lastStage = plan.stages[plan.stages.length - 1].stage;
  const finished = existsSync(join(out, `stage${lastStage}`, 'ipo-stage.json'));
  const previous = existsSync(configPath) ? (JSON.parse(readFileSync(configPath, 'utf8')) as { fingerprint?: string }) : null;
  if (o.fresh || finished || !previous) {
    if (finished && !o.fresh) log(`${out} holds a finished run: starting over`);
    for (const name of ['metrics.jsonl', 'chart.svg', 'stage1', 'stage2', 'stage1-trainer', 'stage2-trainer', join('trl', 'base-heldout.json')]) rmSync(join(out, name), { recursive: true, force: true });
  } else if (previous.fingerprint !== fingerprint) {
    throw new Error(`${out} holds an unfinished run with other data or settings: pass --fresh to start over, or the same flags to resume`);
  }

  const rowsFile = (name: string, rows: TrlRowIds[]) => {
    const path = join(trlDir, name);
    writeFileSync(path, rows.map((r) => JSON.stringify(r) + '\n').join(''));
    return path;
  };
  const config = {
    version: 1,
    fingerprint,
    model,
    tokenizer: tokenizerDir,
    out,
    stages: plan.stages.map((s) => ({ stage: s.stage, steps: s.steps, warmup_steps: s.warmupSteps, sft_weight: s.sftWeight, rows: rowsFile(`stage${s.stage}.jsonl`, s.rows) })),
    heldout: { harmful: rowsFile('heldout-harmful.jsonl', plan.heldout.harmful), benign: rowsFile('heldout-benign.jsonl', plan.heldout.benign) },
    batch_size: o.batchSize,
    micro_batch: o.microBatch,
    num_processes: o.numProcesses,
    gradient_accumulation_steps: o.batchSize / perStep,
    learning_rate: o.learningRate,
    weight_decay: o.weightDecay,
    beta: o.beta,
    loss_type: o.lossType,
    label_smoothing: o.labelSmoothing,
    max_length: o.maxLength,
    lora_rank: o.loraRank,
    bf16: o.bf16 ?? 'auto',
    precompute_ref_log_probs: o.precomputeRef ?? false,
    gradient_checkpointing: o.gradientCheckpointing ?? false,
    fused_loss: o.fusedLoss ?? 'auto',
    seed: o.seed,
    save_every: o.saveEvery ?? Math.max(1, Math.ceil(Math.max(...plan.stages.map((s) => s.steps)) / 5)),
    eval_batch: Math.max(1, o.microBatch),
  };
  writeFileSync(configPath + '.tmp', JSON.stringify(config, null, 2));
  renameSync(configPath + '.tmp', configPath);

  const bridge = new MetricsBridge({
    metricsPath: join(out, 'metrics.jsonl'),
    chartPath: join(out, 'chart.svg'),
    batchSize: o.batchSize,
    stages: new Map(plan.stages.map((s) => [s.stage, { steps: s.steps, epochs: s.epochs }])),
    log,
  });
  const [command, args] = launchCommand({ ...o, python, configPath, launcher: options.launcher ?? 'python' });
  log(`launching: ${command} ${args.join(' ')}`);
  const code = await runChild(command, args, join(trlDir, 'python.log'), (line) => {
    const event = parseEvent(line);
    if (event) bridge.handle(event);
  });
  if (code !== 0) {
    const tail = readFileSync(join(trlDir, 'python.log'), 'utf8').trim().split('\n').slice(-15).join('\n');
    throw new Error(bridge.errors[0] ?? `the Python side exited with ${code}; last lines of ${join(trlDir, 'python.log')}:\n${tail}`);
  }
  bridge.chart();
  const lines = bridge.metrics.read();
  return {
    out,
    resumedFrom: bridge.resumedAt,
    heldout: lines.filter((l): l is EvalLine => isEvalLine(l) && l.split === 'heldout'),
    heldoutBenign: lines.filter((l): l is EvalLine => isEvalLine(l) && l.split === 'heldout-benign'),
    metricsPath: bridge.metrics.path,
    chartPath: join(out, 'chart.svg'),
    stageDirs: plan.stages.map((s) => join(out, `stage${s.stage}`)),
  };
}

/** A tokenizer whose ids the model cannot embed would fail deep inside torch: say so first. */
function checkVocabulary(model: string, rows: TrlRowIds[]): void {
  const config = JSON.parse(readFileSync(join(model, 'config.json'), 'utf8')) as { vocab_size?: number; text_config?: { vocab_size?: number } };
  const vocab = config.vocab_size ?? config.text_config?.vocab_size;
  if (vocab === undefined) return;
  let top = 0;
  for (const r of rows) for (const ids of [r.prompt_ids, r.chosen_ids, r.rejected_ids]) for (const id of ids) if (id > top) top = id;
  if (top >= vocab) throw new Error(`${model}: its vocabulary has ${vocab} rows but the tokenizer produced id ${top}: pass the model's own tokenizer with --tokenizer DIR`);
}

function tokenizerSource(o: TrlTrainOptions, python: string, trlDir: string, log: (line: string) => void): string {
  if (o.tokenizerDir) return o.tokenizerDir;
  if (isLocalFolder(o.model)) {
    if (existsSync(join(o.model, 'tokenizer.json'))) return o.model;
    const fallback = defaultTokenizerDir();
    log(`${o.model} has no tokenizer.json: using ${fallback} (pass --tokenizer DIR for another)`);
    return fallback;
  }
  const dest = join(trlDir, 'hub-tokenizer');
  const r = spawnSync(python, ['-m', 'ipo_node.trl_tokenizer', o.model, dest], { env: pythonEnvFor(), encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${o.model} is neither a model folder (no config.json) nor a hub id transformers can fetch: ${(r.stderr || '').trim().split('\n').pop()}`);
  return dest;
}

/** Runs the Python side: stdout lines to `onLine`, everything to `logPath`; SIGINT/SIGTERM are passed on. */
function runChild(command: string, args: string[], logPath: string, onLine: (line: string) => void): Promise<number> {
  writeFileSync(logPath, '');
  const child = spawn(command, args, { env: pythonEnvFor(), stdio: ['ignore', 'pipe', 'pipe'] });
  const forward = (signal: NodeJS.Signals) => () => {
    child.kill(signal);
  };
  const onInt = forward('SIGINT');
  const onTerm = forward('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  createInterface({ input: child.stdout }).on('line', (line) => {
    appendFileSync(logPath, line + '\n');
    onLine(line);
  });
  child.stderr.on('data', (d: Buffer) => appendFileSync(logPath, d));
  return new Promise((resolvePromise, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      resolvePromise(code ?? (signal ? 128 : 1));
    });
  });
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
