/**
 * `ipo train --engine trl`: flags in, lib/train/trl/run.ts called, a summary out. No logic here.
 */
import { parseArgs } from 'node:util';
import { TRL_DEFAULTS } from '../train/trl/options.js';
import type { LossType } from '../loss/types.js';

const d = TRL_DEFAULTS;
export const TRL_HELP = `usage: ipo train --engine trl --model DIR|HUB_ID [--out DIR] [--max-steps N] [options]

Trains a Hugging Face model through IPO's two stages with TRL's DPOTrainer (Python: torch, transformers,
trl, accelerate; see docs/train-trl.md) and writes OUT/metrics.jsonl, OUT/chart.svg, OUT/stage1/ and
OUT/stage2/ (safetensors, tokenizer, chat template). Re-running with the same --out resumes.

  --model DIR|ID        model folder (or hub id, fetched by transformers)      required
  --out DIR             output folder                                          default: runs/train-trl
  --pairs FILE          harmful (intervened) pairs JSONL     default: shipped data/train/harmful.jsonl
  --benign FILE         benign pairs JSONL for stage 2       default: shipped data/train/benign.jsonl
  --tokenizer DIR       tokenizer folder                     default: the model's own
  --max-steps N         cap on optimizer steps per stage
  --epochs N            epochs per stage                     default: ${d.epochs}
  --batch-size N        pairs per optimizer step (global)    default: ${d.batchSize}
  --micro-batch N       pairs per forward pass per process   default: ${d.microBatch}
  --lr X                peak learning rate (cosine, warm-up) default: ${d.learningRate}
  --warmup-ratio X      share of steps warming up            default: ${d.warmupRatio}
  --weight-decay X                                           default: ${d.weightDecay}
  --beta X              DPO beta                             default: ${d.beta}
  --loss-type T         sigmoid|robust|hinge|ipo             default: ${d.lossType}
  --label-smoothing X   (robust)                             default: ${d.labelSmoothing}
  --mix-ratio X         stage 2 harmful:benign ratio         default: ${d.mixRatio}
  --sft-weight X        stage 2 SFT term weight              default: ${d.sftWeight}
  --max-length N        tokens per sequence (truncation)     default: ${d.maxLength}
  --heldout-share X     share of prompts held out            default: ${d.heldoutShare}
  --seed N                                                   default: ${d.seed}
  --lora-rank N         train a LoRA adapter of rank N (merged into each saved stage); 0: all weights
  --bf16 / --no-bf16    default: bf16 when the GPU has it
  --precompute-ref      one reference pass per stage (TRL precompute_ref_log_probs), no reference model kept
  --gradient-checkpointing
  --fused-loss / --no-fused-loss   ipo-node's fused loss (ipo_node.trl_fused); default: on when available
  --save-every N        TRL checkpoint every N steps (resume points)   default: about 5 per stage
  --python PATH         interpreter                          default: $IPO_PYTHON, else python3
  --launcher L          python|accelerate                    default: python
  --num-processes N     processes for accelerate launch      default: 1
  --accelerate-config FILE   passed to accelerate launch --config_file (several nodes: one per node)
  --deepspeed-config FILE    passed to accelerate launch --use_deepspeed --deepspeed_config_file
  --main-process-port N      passed to accelerate launch
  --fresh               ignore an unfinished run in OUT and start over
  -q, --quiet           no per-step lines
  -h, --help            this text
`;

const FLAGS = {
  engine: { type: 'string' },
  model: { type: 'string' },
  out: { type: 'string', default: 'runs/train-trl' },
  pairs: { type: 'string' },
  benign: { type: 'string' },
  tokenizer: { type: 'string' },
  'max-steps': { type: 'string' },
  epochs: { type: 'string' },
  'batch-size': { type: 'string' },
  'micro-batch': { type: 'string' },
  lr: { type: 'string' },
  'warmup-ratio': { type: 'string' },
  'weight-decay': { type: 'string' },
  beta: { type: 'string' },
  'loss-type': { type: 'string' },
  'label-smoothing': { type: 'string' },
  'mix-ratio': { type: 'string' },
  'sft-weight': { type: 'string' },
  'max-length': { type: 'string' },
  'heldout-share': { type: 'string' },
  seed: { type: 'string' },
  'lora-rank': { type: 'string' },
  bf16: { type: 'boolean' },
  'no-bf16': { type: 'boolean' },
  'precompute-ref': { type: 'boolean' },
  'gradient-checkpointing': { type: 'boolean' },
  'fused-loss': { type: 'boolean' },
  'no-fused-loss': { type: 'boolean' },
  'save-every': { type: 'string' },
  python: { type: 'string' },
  launcher: { type: 'string' },
  'num-processes': { type: 'string' },
  'accelerate-config': { type: 'string' },
  'deepspeed-config': { type: 'string' },
  'main-process-port': { type: 'string' },
  fresh: { type: 'boolean', default: false },
  quiet: { type: 'boolean', short: 'q', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

export async function runTrl(argv: string[]): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args: argv, strict: true, allowPositionals: false, options: FLAGS }));
  } catch (err) {
    process.stderr.write(`ipo train: ${(err as Error).message}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(TRL_HELP);
    return 0;
  }
  const problems: string[] = [];
  const int = (flag: string, min: number) => {
    const v = values[flag];
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) problems.push(`--${flag} must be an integer >= ${min}, got '${v}'`);
    return n;
  };
  const num = (flag: string, ok: (x: number) => boolean, what: string) => {
    const v = values[flag];
    if (v === undefined) return undefined;
    const n = Number(v);
    if (typeof v !== 'string' || v.trim() === '' || !Number.isFinite(n) || !ok(n)) problems.push(`--${flag} must be ${what}, got '${v}'`);
    return n;
  };
  const oneOf = <T extends string>(flag: string, allowed: readonly T[]) => {
    const v = values[flag] as string | undefined;
    if (v !== undefined && !allowed.includes(v as T)) problems.push(`--${flag} must be one of ${allowed.join(', ')}, got '${v}'`);
    return v as T | undefined;
  };
  const toggle = (on: string, off: string): boolean | undefined => {
    if (values[on] && values[off]) problems.push(`--${on} and --${off} contradict each other`);
    return values[on] ? true : values[off] ? false : undefined;
  };
  if (typeof values.model !== 'string') problems.push('--engine trl needs --model DIR (a Hugging Face model folder) or a hub id');
  const options = {
    model: values.model as string,
    out: values.out as string,
    pairsPath: values.pairs as string | undefined,
    benignPath: values.benign as string | undefined,
    tokenizerDir: values.tokenizer as string | undefined,
    maxSteps: int('max-steps', 1),
    epochs: int('epochs', 1),
    batchSize: int('batch-size', 1),
    microBatch: int('micro-batch', 1),
    learningRate: num('lr', (x) => x > 0, 'a number > 0'),
    warmupRatio: num('warmup-ratio', (x) => x >= 0 && x < 1, 'a number in [0, 1)'),
    weightDecay: num('weight-decay', (x) => x >= 0, 'a number >= 0'),
    beta: num('beta', (x) => x > 0, 'a number > 0'),
    lossType: oneOf<LossType>('loss-type', ['sigmoid', 'robust', 'hinge', 'ipo']),
    labelSmoothing: num('label-smoothing', (x) => x >= 0 && x < 0.5, 'a number in [0, 0.5)'),
    mixRatio: num('mix-ratio', (x) => x >= 0, 'a number >= 0'),
    sftWeight: num('sft-weight', (x) => x >= 0, 'a number >= 0'),
    maxLength: int('max-length', 8),
    heldoutShare: num('heldout-share', (x) => x >= 0 && x < 1, 'a number in [0, 1)'),
    seed: int('seed', 0),
    loraRank: int('lora-rank', 0),
    bf16: toggle('bf16', 'no-bf16') ?? ('auto' as const),
    precomputeRef: values['precompute-ref'] as boolean | undefined,
    gradientCheckpointing: values['gradient-checkpointing'] as boolean | undefined,
    fusedLoss: toggle('fused-loss', 'no-fused-loss') ?? ('auto' as const),
    saveEvery: int('save-every', 1),
    python: values.python as string | undefined,
    launcher: oneOf('launcher', ['python', 'accelerate'] as const),
    numProcesses: int('num-processes', 1),
    accelerateConfig: values['accelerate-config'] as string | undefined,
    deepspeedConfig: values['deepspeed-config'] as string | undefined,
    mainProcessPort: int('main-process-port', 1),
    fresh: values.fresh as boolean,
  };
  if (problems.length) {
    process.stderr.write(`ipo train: ${problems[0]}\n`);
    return 2;
  }
  const quiet = values.quiet as boolean;
  const started = Date.now();
  const { runTrlTraining } = await import('../train/trl/run.js');
  let summary;
  try {
    // --quiet drops the per-step progress lines only.
    summary = await runTrlTraining({ ...options, log: (line) => (!quiet || !/^stage \d [█░]/.test(line)) && process.stdout.write(line + '\n') });
  } catch (err) {
    process.stderr.write(`ipo train --engine trl: ${(err as Error).message}\n`);
    return 1;
  }
  const first = summary.heldout[0];
  const last = summary.heldout[summary.heldout.length - 1];
  process.stdout.write(
    `done in ${((Date.now() - started) / 1000).toFixed(0)} s` +
      (first && last && first !== last ? `; held-out margin ${first.margin.toFixed(4)} -> ${last.margin.toFixed(4)}, accuracy ${first.accuracy.toFixed(2)} -> ${last.accuracy.toFixed(2)}` : '') +
      `\n  metrics:    ${summary.metricsPath}\n  chart:      ${summary.chartPath}\n  checkpoint: ${summary.stageDirs.join(', ')}\n`,
  );
  return 0;
}
