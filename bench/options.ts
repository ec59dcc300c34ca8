/** Command-line options of the benchmark (`npm run bench -- [options]`). */
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import type { Shape } from './inputs.js';

export interface BenchOptions {
  quick: boolean;
  threads: number;
  filters: string[]; // lower-case substrings; a case runs when its name contains any (all when empty)
  out: string;
  python?: string;
  library?: string; // module exporting dpoLoss and backendInfo; default <repo>/dist/loss/index.js
  shape: Shape; // the fused-loss shape
  referenceShape: Shape; // the float64 reference's (smaller) shape; its times are scaled per element
  copyBytes: number;
  iterations: { fused: number; plain: number; reference: number; torch: number; copy: number };
}

export const USAGE = `usage: npm run bench -- [options]    (or: node bench/run.js [options])

Benchmarks the fused DPO loss (dist/loss, build it with \`npm run build\`) against the float64
TypeScript reference, a plain TypeScript float32 implementation, PyTorch CPU eager (TRL's
computation, when /usr/bin/python3 or python3 has torch) and the memory copy bandwidth.

options:
  --quick          small shape (pairs=1, seqLen=128, vocab=32000) for a smoke run (< 60 s)
  --pairs N, --seq-len N, --vocab N
                   override the shape (default pairs=2, seqLen=512, vocab=128256; the targets
                   are judged on the default shape)
  --threads N      threads for the loss, PyTorch and the multi-threaded copy (default: all cores)
  --filter TEXT    run only cases whose name contains TEXT (case-insensitive; comma-separated
                   list = any of them), e.g. --filter fused,copy
  --iterations N   timed iterations of each fused-loss case (default 10)
  --out PATH       where to write the JSON results (default ./bench-results.json)
  --python PATH    the python with torch (default: /usr/bin/python3, then python3)
  --library PATH   the loss module to measure (default: dist/loss/index.js of this checkout)
  -h, --help       this text`;

/** The default shape, on which the targets are judged. */
export const JUDGED_SHAPE: Shape = { pairs: 2, seqLen: 512, vocab: 128256 };

export function parseOptions(argv: string[]): BenchOptions | { help: true } {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      quick: { type: 'boolean', default: false },
      pairs: { type: 'string' },
      'seq-len': { type: 'string' },
      vocab: { type: 'string' },
      threads: { type: 'string' },
      filter: { type: 'string' },
      iterations: { type: 'string' },
      out: { type: 'string', default: './bench-results.json' },
      python: { type: 'string' },
      library: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return { help: true };
  const threads = values.threads === undefined ? availableParallelism() : positiveInt('--threads', values.threads);
  const fusedIterations = values.iterations === undefined ? 10 : positiveInt('--iterations', values.iterations);
  const filters = (values.filter ?? '').split(',').map((f) => f.trim().toLowerCase()).filter((f) => f.length > 0);
  const quick = values.quick;
  const base = quick ? { pairs: 1, seqLen: 128, vocab: 32000 } : JUDGED_SHAPE;
  const shape: Shape = {
    pairs: values.pairs === undefined ? base.pairs : positiveInt('--pairs', values.pairs),
    seqLen: values['seq-len'] === undefined ? base.seqLen : positiveInt('--seq-len', values['seq-len']),
    vocab: values.vocab === undefined ? base.vocab : positiveInt('--vocab', values.vocab),
  };
  if (2 * shape.pairs * shape.seqLen * shape.vocab * 4 > 2 ** 31) {
    throw new RangeError('the shape must hold at most 2 GiB of float32 logits (the benchmark keeps ~4 copies)');
  }
  return {
    quick,
    threads,
    filters,
    out: values.out,
    python: values.python,
    library: values.library,
    shape,
    // The float64 reference is slow: at most 64 rows, scaled per element to the benchmark shape.
    referenceShape: { pairs: shape.pairs, seqLen: Math.max(1, Math.min(shape.seqLen, Math.floor(32 / shape.pairs))), vocab: shape.vocab },
    copyBytes: quick ? 64 << 20 : 512 << 20,
    iterations: quick
      ? { fused: fusedIterations, plain: 3, reference: 3, torch: 3, copy: 10 }
      : { fused: fusedIterations, plain: 3, reference: 3, torch: 5, copy: 10 },
  };
}

function positiveInt(flag: string, text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`${flag} must be a positive integer, got '${text}'`);
  return n;
}

/** Every case the benchmark knows, in run order; --filter selects among these names. */
export const CASE_NAMES: readonly string[] = [
  'copy bandwidth',
  ...['f32', 'bf16'].flatMap((d) => [`torch ${d} log_softmax`, `torch ${d} selective`]),
  'plain f32',
  'floor f32',
  ...['buffer', 'inplace', 'gradOut'].flatMap((g) => [100, 50, 25, 10].map((p) => `fused f32 ${g} ${p}%`)),
  ...['buffer', 'gradOut'].map((g) => `fused f32 ${g} 25% moving`),
  'plain bf16',
  'floor bf16',
  ...['buffer', 'inplace', 'gradOut'].map((g) => `fused bf16 ${g} 100%`),
  'ref-f64 f32',
  'ref-f64 bf16',
];

/** Whether --filter lets the case of this exact name run. */
export function selected(options: BenchOptions, caseName: string): boolean {
  const name = caseName.toLowerCase();
  return options.filters.length === 0 || options.filters.some((f) => name.includes(f));
}

/** Whether --filter lets any case whose name starts with one of these prefixes run. */
export function wanted(options: BenchOptions, ...prefixes: string[]): boolean {
  return CASE_NAMES.some((name) => prefixes.some((p) => name.startsWith(p)) && selected(options, name));
}
