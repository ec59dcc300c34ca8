/**
 * `ipo train`: two-stage IPO training of a tiny TensorFlow.js model on the shipped default pairs (or
 * yours). Wires flags to lib/train/run.ts; nothing else.
 */
import { DEFAULTS, runTraining, type TrainSummary } from '../train/run.js';
import { heldoutChange } from './train-summary.js';
import { COMMON_HELP, COMMON_OPTIONS, type Flags, OUTPUT_OPTION, runCommand } from './flags.js';

/** `--engine tfjs|trl` (default tfjs): the TRL engine has its own flags (lib/cli/train-trl.ts). */
function engineOf(argv: string[]): string {
  const at = argv.findIndex((a) => a === '--engine' || a.startsWith('--engine='));
  if (at < 0) return 'tfjs';
  return argv[at].startsWith('--engine=') ? argv[at].slice('--engine='.length) : (argv[at + 1] ?? '');
}

const DEFAULT_OUTPUT = 'runs/train';

const HELP = `usage: ipo train [--engine tfjs|trl] [--pairs FILE] [--benign FILE] [--tokenizer DIR] [--steps N] [--output DIR] [--seed N] [options]

Trains a tiny causal LM in TensorFlow.js (CPU) through IPO's two stages with the fused DPO loss and
writes OUTPUT/metrics.jsonl, OUTPUT/chart.svg and OUTPUT/checkpoint/. Re-running with the same flags
resumes an unfinished run exactly (also after Ctrl-C).

  --pairs FILE         harmful (intervened) pairs JSONL     default: shipped data/train/harmful.jsonl
  --benign FILE        benign pairs JSONL for stage 2       default: shipped data/train/benign.jsonl
                       (each file must hold only its kind; another kind is an error naming the line)
  --tokenizer DIR      folder with tokenizer.json and tokenizer_config.json   default: Qwen3's
  --steps N            optimizer steps per stage (overrides --epochs)
  -o, --output DIR     output folder                         default: ${DEFAULT_OUTPUT}
                       (--out DIR still works; deprecated)
  --seed N             seed of init, shuffles and draws      default: ${DEFAULTS.seed}
  --epochs N           epochs per stage                      default: ${DEFAULTS.epochs}
  --batch-size N       pairs per optimizer step              default: ${DEFAULTS.batchSize}
  --micro-batch N      pairs per forward pass (gradient accumulation)  default: ${DEFAULTS.microBatch}
  --lr X               peak learning rate (cosine, warm-up 0.1)         default: ${DEFAULTS.learningRate}
  --beta X             DPO beta                              default: ${DEFAULTS.beta}
  --mix-ratio X        stage 2 harmful:benign ratio: X harmful pairs drawn per benign pair each
                       epoch (0.5 = one harmful for every two benign)   default: ${DEFAULTS.mixRatio}
  --sft-weight X       stage 2 SFT term weight               default: ${DEFAULTS.sftWeight}
  --max-length N       tokens per sequence (truncation)      default: ${DEFAULTS.maxLength}
  --dim N              model width                           default: ${DEFAULTS.dim}
  --heldout-share X    share of prompts held out for eval    default: ${DEFAULTS.heldoutShare}
  --fresh              ignore an unfinished run in OUTPUT and start over
${COMMON_HELP.common.replace('no progress on stderr', 'no per-step lines')}

  --engine trl trains a real Hugging Face model with TRL instead: ipo train --engine trl --help
`;

const OPTIONS = {
  ...COMMON_OPTIONS,
  ...OUTPUT_OPTION,
  out: { type: 'string' },
  pairs: { type: 'string' },
  benign: { type: 'string' },
  tokenizer: { type: 'string' },
  steps: { type: 'string' },
  seed: { type: 'string' },
  epochs: { type: 'string' },
  'batch-size': { type: 'string' },
  'micro-batch': { type: 'string' },
  lr: { type: 'string' },
  beta: { type: 'string' },
  'mix-ratio': { type: 'string' },
  'sft-weight': { type: 'string' },
  'max-length': { type: 'string' },
  dim: { type: 'string' },
  'heldout-share': { type: 'string' },
  fresh: { type: 'boolean' },
} as const;

export async function run(argv: string[]): Promise<number> {
  const engine = engineOf(argv);
  if (engine === 'trl') return (await import('./train-trl.js')).runTrl(argv);
  if (engine !== 'tfjs') {
    process.stderr.write(`ipo train: --engine must be tfjs or trl, got '${engine}'\n`);
    return 2;
  }
  argv = argv.filter((a, i) => !(a === '--engine' || a.startsWith('--engine=') || argv[i - 1] === '--engine'));
  const onInterrupt = (flags: Flags) => `the checkpoint in ${flags.string('output') ?? flags.string('out') ?? DEFAULT_OUTPUT}/checkpoint holds the last finished step: re-run the same command to resume`;
  return runCommand({ name: 'train', help: HELP, options: OPTIONS, onInterrupt }, argv, async (flags) => {
    const out = flags.output(DEFAULT_OUTPUT, 'out')!;
    const options = {
      pairsPath: flags.string('pairs'),
      benignPath: flags.string('benign'),
      tokenizerDir: flags.string('tokenizer'),
      out,
      steps: flags.int('steps', 1),
      seed: flags.int('seed', 0),
      epochs: flags.int('epochs', 1),
      batchSize: flags.int('batch-size', 1),
      microBatch: flags.int('micro-batch', 1),
      learningRate: flags.number('lr', { min: 0, above: true }),
      beta: flags.number('beta', { min: 0, above: true }),
      mixRatio: flags.number('mix-ratio', { min: 0 }),
      sftWeight: flags.number('sft-weight', { min: 0 }),
      maxLength: flags.int('max-length', 8),
      dim: flags.int('dim', 2),
      heldoutShare: flags.number('heldout-share', { min: 0, max: 0.999999 }),
      fresh: flags.bool('fresh'),
    };
    const quiet = flags.quiet();
    const started = Date.now();
    const summary = await runTraining({ ...options, log: (line) => (!quiet || !line.startsWith('stage ')) && process.stdout.write(line + '\n') });
    process.stdout.write(summaryText(summary, (Date.now() - started) / 1000));
    return 0;
  });
}

function summaryText(summary: TrainSummary, seconds: number): string {
  return (
    `done in ${seconds.toFixed(0)} s: ${summary.stepsRun} steps` +
    `${heldoutChange('held-out harmful', summary.heldout)}${heldoutChange('held-out benign', summary.heldoutBenign)}\n` +
    `  metrics:    ${summary.metricsPath}\n  chart:      ${summary.chartPath}\n  checkpoint: ${summary.checkpointDir}\n`
  );
}
