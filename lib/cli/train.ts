/**
 * `ipo train`: two-stage IPO training of a tiny TensorFlow.js model on the shipped default pairs (or
 * yours). Parses flags and calls lib/train/demo.ts; nothing else.
 */
import { parseArgs } from 'node:util';
import { DEFAULTS, runTraining } from '../train/demo.js';

/** `--engine tfjs|trl` (default tfjs): the TRL engine has its own flags (lib/cli/train-trl.ts). */
function engineOf(argv: string[]): string {
  const at = argv.findIndex((a) => a === '--engine' || a.startsWith('--engine='));
  if (at < 0) return 'tfjs';
  return argv[at].startsWith('--engine=') ? argv[at].slice('--engine='.length) : (argv[at + 1] ?? '');
}

const HELP = `usage: ipo train [--engine tfjs|trl] [--pairs FILE] [--benign FILE] [--tokenizer DIR] [--steps N] [--out DIR] [--seed N] [options]

Trains a tiny causal LM in TensorFlow.js (CPU) through IPO's two stages with the fused DPO loss and
writes OUT/metrics.jsonl, OUT/chart.svg and OUT/checkpoint/. Re-running with the same flags resumes
an unfinished run exactly.

  --pairs FILE         harmful (intervened) pairs JSONL     default: shipped data/train/harmful.jsonl
  --benign FILE        benign pairs JSONL for stage 2       default: shipped data/train/benign.jsonl
  --tokenizer DIR      folder with tokenizer.json and tokenizer_config.json   default: Qwen3's
  --steps N            optimizer steps per stage (overrides --epochs)
  --out DIR            output folder                         default: runs/train
  --seed N             seed of init, shuffles and draws      default: ${DEFAULTS.seed}
  --epochs N           epochs per stage                      default: ${DEFAULTS.epochs}
  --batch-size N       pairs per optimizer step              default: ${DEFAULTS.batchSize}
  --micro-batch N      pairs per forward pass (gradient accumulation)  default: ${DEFAULTS.microBatch}
  --lr X               peak learning rate (cosine, warm-up 0.1)         default: ${DEFAULTS.learningRate}
  --beta X             DPO beta                              default: ${DEFAULTS.beta}
  --mix-ratio X        stage 2 harmful:benign ratio          default: ${DEFAULTS.mixRatio}
  --sft-weight X       stage 2 SFT term weight               default: ${DEFAULTS.sftWeight}
  --max-length N       tokens per sequence (truncation)      default: ${DEFAULTS.maxLength}
  --dim N              model width                           default: ${DEFAULTS.dim}
  --heldout-share X    share of prompts held out for eval    default: ${DEFAULTS.heldoutShare}
  --fresh              ignore an unfinished run in OUT and start over
  -q, --quiet          no per-step lines
  -h, --help           this text

  --engine trl trains a real Hugging Face model with TRL instead: ipo train --engine trl --help
`;

export async function run(argv: string[]): Promise<number> {
  const engine = engineOf(argv);
  if (engine === 'trl') return (await import('./train-trl.js')).runTrl(argv);
  if (engine !== 'tfjs') {
    process.stderr.write(`ipo train: --engine must be tfjs or trl, got '${engine}'\n`);
    return 2;
  }
  argv = argv.filter((a, i) => !(a === '--engine' || a.startsWith('--engine=') || argv[i - 1] === '--engine'));
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        pairs: { type: 'string' },
        benign: { type: 'string' },
        tokenizer: { type: 'string' },
        steps: { type: 'string' },
        out: { type: 'string', default: 'runs/train' },
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
        fresh: { type: 'boolean', default: false },
        quiet: { type: 'boolean', short: 'q', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (err) {
    process.stderr.write(`ipo train: ${(err as Error).message}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(HELP);
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
  const options = {
    pairsPath: values.pairs as string | undefined,
    benignPath: values.benign as string | undefined,
    tokenizerDir: values.tokenizer as string | undefined,
    out: values.out as string,
    steps: int('steps', 1),
    seed: int('seed', 0),
    epochs: int('epochs', 1),
    batchSize: int('batch-size', 1),
    microBatch: int('micro-batch', 1),
    learningRate: num('lr', (x) => x > 0, 'a number > 0'),
    beta: num('beta', (x) => x > 0, 'a number > 0'),
    mixRatio: num('mix-ratio', (x) => x >= 0, 'a number >= 0'),
    sftWeight: num('sft-weight', (x) => x >= 0, 'a number >= 0'),
    maxLength: int('max-length', 8),
    dim: int('dim', 2),
    heldoutShare: num('heldout-share', (x) => x >= 0 && x < 1, 'a number in [0, 1)'),
    fresh: values.fresh as boolean,
  };
  if (problems.length) {
    process.stderr.write(`ipo train: ${problems[0]}\n`);
    return 2;
  }
  const quiet = values.quiet as boolean;
  const started = Date.now();
  const summary = await runTraining({
    ...options,
    log: (line) => {
      if (!quiet || !line.startsWith('stage ')) process.stdout.write(line + '\n');
    },
  });
  const first = summary.heldout[0];
  const last = summary.heldout[summary.heldout.length - 1];
  process.stdout.write(
    `done in ${((Date.now() - started) / 1000).toFixed(0)} s: ${summary.stepsRun} steps` +
      (first && last && first !== last ? `; held-out margin ${first.margin.toFixed(4)} -> ${last.margin.toFixed(4)}, accuracy ${first.accuracy.toFixed(2)} -> ${last.accuracy.toFixed(2)}` : '') +
      `\n  metrics:    ${summary.metricsPath}\n  chart:      ${summary.chartPath}\n  checkpoint: ${summary.checkpointDir}\n`,
  );
  return 0;
}
