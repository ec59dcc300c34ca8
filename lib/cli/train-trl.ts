/**
 * `ipo train --engine trl`: flags in, lib/train/trl/run.ts called, a summary out. No logic here.
 */
import { COMMON_OPTIONS, type Flags, OUTPUT_OPTION, runCommand, UsageError } from './flags.js';
import { heldoutChange } from './train-summary.js';
import { TRL_DEFAULTS } from '../train/trl/options.js';
import type { LossType } from '../loss/types.js';

const d = TRL_DEFAULTS;
const DEFAULT_OUTPUT = 'runs/train-trl';
export const TRL_HELP = `usage: ipo train --engine trl --model DIR|HUB_ID [--output DIR] [--max-steps N] [options]

Trains a Hugging Face model through IPO's two stages with TRL's DPOTrainer (Python: torch, transformers,
trl, accelerate; see docs/train-trl.md) and writes OUTPUT/metrics.jsonl, OUTPUT/chart.svg, OUTPUT/stage1/
and OUTPUT/stage2/ (safetensors, tokenizer, chat template). Re-running with the same --output resumes.

  --model DIR|ID        model folder (or hub id, fetched by transformers)      required
  -o, --output DIR      output folder                        default: ${DEFAULT_OUTPUT}
                        (--out DIR still works; deprecated)
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
  --fresh               ignore an unfinished run in OUTPUT and start over
  -q, --quiet           no per-step lines
  -h, --help            this text
`;

const OPTIONS = {
  ...COMMON_OPTIONS,
  ...OUTPUT_OPTION,
  out: { type: 'string' },
  engine: { type: 'string' },
  model: { type: 'string' },
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
  fresh: { type: 'boolean' },
} as const;

function requiredModel(flags: Flags): string {
  const model = flags.string('model');
  if (!model) throw new UsageError('--engine trl needs --model DIR (a Hugging Face model folder) or a hub id');
  return model;
}

/** `--on`, `--off` or neither: true, false or undefined; both is a usage error. */
function toggle(flags: Flags, on: string, off: string): boolean | undefined {
  if (flags.bool(on) && flags.bool(off)) throw new UsageError(`--${on} and --${off} contradict each other`);
  return flags.bool(on) ? true : flags.bool(off) ? false : undefined;
}

// Ctrl-C is handled by lib/train/trl/run.ts, which passes it to the Python side and lets TRL stop cleanly.
export function runTrl(argv: string[]): Promise<number> {
  return runCommand({ name: 'train', help: TRL_HELP, options: OPTIONS }, argv, async (flags) => {
    const options = {
      model: requiredModel(flags),
      out: flags.output(DEFAULT_OUTPUT, 'out')!,
      pairsPath: flags.string('pairs'),
      benignPath: flags.string('benign'),
      tokenizerDir: flags.string('tokenizer'),
      maxSteps: flags.int('max-steps', 1),
      epochs: flags.int('epochs', 1),
      batchSize: flags.int('batch-size', 1),
      microBatch: flags.int('micro-batch', 1),
      learningRate: flags.number('lr', { min: 0, above: true }),
      warmupRatio: flags.number('warmup-ratio', { min: 0, max: 0.999999 }),
      weightDecay: flags.number('weight-decay', { min: 0 }),
      beta: flags.number('beta', { min: 0, above: true }),
      lossType: flags.choice<LossType>('loss-type', ['sigmoid', 'robust', 'hinge', 'ipo']),
      labelSmoothing: flags.number('label-smoothing', { min: 0, max: 0.499999 }),
      mixRatio: flags.number('mix-ratio', { min: 0 }),
      sftWeight: flags.number('sft-weight', { min: 0 }),
      maxLength: flags.int('max-length', 8),
      heldoutShare: flags.number('heldout-share', { min: 0, max: 0.999999 }),
      seed: flags.int('seed', 0),
      loraRank: flags.int('lora-rank', 0),
      bf16: toggle(flags, 'bf16', 'no-bf16') ?? ('auto' as const),
      precomputeRef: flags.bool('precompute-ref') || undefined,
      gradientCheckpointing: flags.bool('gradient-checkpointing') || undefined,
      fusedLoss: toggle(flags, 'fused-loss', 'no-fused-loss') ?? ('auto' as const),
      saveEvery: flags.int('save-every', 1),
      python: flags.string('python'),
      launcher: flags.choice('launcher', ['python', 'accelerate'] as const),
      numProcesses: flags.int('num-processes', 1),
      accelerateConfig: flags.string('accelerate-config'),
      deepspeedConfig: flags.string('deepspeed-config'),
      mainProcessPort: flags.int('main-process-port', 1),
      fresh: flags.bool('fresh'),
    };
    const quiet = flags.quiet();
    const started = Date.now();
    const { runTrlTraining } = await import('../train/trl/run.js');
    // --quiet drops the per-step progress lines only.
    const summary = await runTrlTraining({ ...options, log: (line) => (!quiet || !/^stage \d [█░]/.test(line)) && process.stdout.write(line + '\n') });
    process.stdout.write(
      `done in ${((Date.now() - started) / 1000).toFixed(0)} s` +
        `${heldoutChange('held-out harmful', summary.heldout)}${heldoutChange('held-out benign', summary.heldoutBenign)}\n` +
        `  metrics:    ${summary.metricsPath}\n  chart:      ${summary.chartPath}\n  checkpoint: ${summary.stageDirs.join(', ')}\n`,
    );
    return 0;
  });
}
