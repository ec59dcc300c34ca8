/**
 * The ipo-node loss benchmark. Started by bench/run.js; see docs/bench.md.
 *
 * One run measures, in this order so that at most ~4 GB is held at once at the full shape:
 *   1. copy bandwidth (1 and N threads);
 *   2. PyTorch CPU eager, float32 and bfloat16 (a subprocess; this process holds nothing big);
 *   3. float32 logits: plain-TS float32, the instruction floor (bench/floor.ts), then the fused loss with
 *      grad 'buffer', 'inplace' and a reused gradOut at 100%, 50%, 25% and 10% of positions scored;
 *   4. bfloat16 logits (the same values, rounded): plain-TS, the floor, fused 'buffer', 'inplace' and gradOut;
 *   5. the float64 TS reference on a smaller shape, its time scaled per element.
 */
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { measureCopyBandwidth, type CopyBandwidth } from './copy-bandwidth.js';
import { FLOOR_LOGITS_BYTES, MEMORY_FLOOR_OF_COPY, measureInstructionFloor, type InstructionFloor } from './floor.js';
import {
  countScored, elementsOf, fillLogits, makeLabels, makeRefLogps, rowsOf, toBfloat16, type Shape,
} from './inputs.js';
import { loadLibrary, type DpoLossFn, type GradCase, type Library } from './library.js';
import { collectGarbage, measure, releaseGarbage } from './measure.js';
import { JUDGED_SHAPE, parseOptions, selected, USAGE, wanted, type BenchOptions } from './options.js';
import { plainDpoLoss } from './plain-f32.js';
import { formatSeconds } from './progress.js';
import {
  buildRows, evaluateTargets, floorGBs, fmt, formatTable, formatTargets, type CaseResult,
} from './report.js';
import { findTorchPython, runTorchBaseline, type TorchRun } from './torch-baseline.js';

const FRACTIONS = [1, 0.5, 0.25, 0.1];
const BETA = 0.1;
const SEED = 20240611;

type Dtype = 'float32' | 'bfloat16';
const short = (dtype: Dtype): string => (dtype === 'float32' ? 'f32' : 'bf16');
const log = (line: string): void => { process.stderr.write(line + '\n'); };
const startedAt = Date.now();
/** Resident memory and time into the run, shown with each case (the run stops above an 8 GiB budget). */
const rss = (): string =>
  `[rss ${(process.memoryUsage.rss() / 2 ** 30).toFixed(2)} GiB, ${formatSeconds((Date.now() - startedAt) / 1000)} into the run]`;

/** What one run collects, filled in stage by stage. */
interface Run {
  options: BenchOptions;
  repoRoot: string;
  lib?: Library; // the loss module (native or not)
  fused?: Library; // the same when its native addon loaded: the fused cases run only then
  notes: string[];
  cases: CaseResult[];
  floors: InstructionFloor[];
  copy?: CopyBandwidth;
  torchInfo?: { python: string; version: string };
  torchPeakBytes: number;
  lossChecks: LossCheck[];
}

async function main(argv: string[]): Promise<number> {
  let options: BenchOptions;
  try {
    const parsed = parseOptions(argv);
    if ('help' in parsed) {
      process.stdout.write(USAGE + '\n');
      return 0;
    }
    options = parsed;
  } catch (error) {
    log(`bench: ${(error as Error).message}`);
    return 2;
  }
  const run = await openRun(options);
  await runCopy(run);
  runTorch(run);
  await runLogits(run);
  if (run.lib?.referenceDpoLoss) await runReference(run, run.lib, run.lib.referenceDpoLoss);
  process.stdout.write(formatReport(run) + '\n');
  writeResults(run);
  return 0;
}

/** Loads the library under test and says what will not be measured. */
async function openRun(options: BenchOptions): Promise<Run> {
  const repoRoot = process.env.IPO_BENCH_ROOT ?? process.cwd();
  const { shape, threads } = options;
  const run: Run = { options, repoRoot, notes: [], cases: [], floors: [], torchPeakBytes: 0, lossChecks: [] };
  log(`bench: shape pairs=${shape.pairs} seqLen=${shape.seqLen} vocab=${shape.vocab} ` +
    `(${rowsOf(shape)} rows, ${(elementsOf(shape) * 4 / 2 ** 30).toFixed(2)} GiB float32), threads=${threads}` +
    (options.quick ? ' [quick]' : ''));
  const library = await loadLibrary(resolve(options.library ?? join(repoRoot, 'dist', 'loss', 'index.js')));
  if ('missing' in library) {
    note(run, `fused loss not measured: ${library.missing}`);
    return run;
  }
  log(`bench: library ${library.modulePath}: ${JSON.stringify(library.backendInfo())}`);
  if (!library.referenceDpoLoss) run.notes.push('float64 reference not found in dist/loss');
  run.lib = library;
  // Without the addon dpoLoss falls back to the float64 reference, already measured as ref-f64
  // (and far too slow for the full shape ten times over): time the fused cases only when native.
  if (library.backendInfo().backend !== 'js') run.fused = library;
  else note(run, `fused loss not measured: the native addon did not load (backendInfo: ${JSON.stringify(library.backendInfo())})`);
  return run;
}

function note(run: Run, text: string): void {
  run.notes.push(text);
  log(`bench: ${text}`);
}

async function runCopy(run: Run): Promise<void> {
  const { options } = run;
  if (!selected(options, 'copy bandwidth')) return;
  log('  copy bandwidth...');
  const copy = await measureCopyBandwidth(options.copyBytes, options.threads, options.iterations.copy);
  log(`  copy ${(copy.bytes / 2 ** 20).toFixed(0)} MiB: 1 thread ${copy.singleThreadGBs.toFixed(2)} GB/s, ` +
    `${options.threads} threads ${copy.multiThreadGBs.toFixed(2)} GB/s (read + write); fresh-buffer fill ${copy.freshWriteGBs.toFixed(2)} GB/s`);
  run.copy = copy;
  collectGarbage();
}

function runTorch(run: Run): void {
  const { options } = run;
  if (!wanted(options, 'torch')) return;
  const found = findTorchPython(options.python);
  if ('missing' in found) {
    note(run, `PyTorch baseline not measured: ${found.missing}`);
    return;
  }
  run.torchInfo = found;
  for (const dtype of ['float32', 'bfloat16'] as const) {
    if (!wanted(options, `torch ${short(dtype)}`)) continue;
    const variants = ['log_softmax', 'selective'].filter((v) => selected(options, `torch ${short(dtype)} ${v}`));
    const calls = variants.length * (options.iterations.torch + 1);
    log(`  torch ${found.version} ${dtype} (${found.python}), ${variants.join(' and ')}: ${calls} calls in a subprocess ` +
      `(no progress until it ends; about 1 min on an idle 2-core machine at the default shape)... ${rss()}`);
    let result: TorchRun;
    try {
      result = runTorchBaseline(found.python, run.repoRoot, options.shape, dtype, options.threads, options.iterations.torch, variants);
    } catch (error) {
      note(run, (error as Error).message);
      continue;
    }
    run.torchPeakBytes = Math.max(run.torchPeakBytes, result.maxRssBytes ?? 0);
    for (const r of result.results) {
      run.cases.push({
        name: `torch ${short(dtype)} ${r.variant}`, family: 'torch', dtype, variant: r.variant, fraction: 1,
        rowsScored: rowsOf(options.shape), vocab: options.shape.vocab, medianMs: r.medianMs, loss: r.loss,
        timing: { medianMs: r.medianMs, meanMs: mean(r.timesMs), minMs: Math.min(...r.timesMs), samples: r.timesMs.length },
      });
      log(`    ${run.cases.at(-1)!.name}: ${fmt(r.medianMs)} ms`);
    }
  }
}

/** Plain TS, the instruction floor and the fused loss, float32 then bfloat16 on the same (rounded) values. */
async function runLogits(run: Run): Promise<void> {
  const { options } = run;
  const wantsBf16 = wanted(options, 'plain bf16', 'fused bf16', 'floor bf16');
  if (!wanted(options, 'plain f32', 'fused f32', 'floor f32') && !wantsBf16) return;
  log(`  generating ${elementsOf(options.shape)} random logits...`);
  let logits: Float32Array | undefined = new Float32Array(elementsOf(options.shape));
  fillLogits(logits, SEED);
  await runDtype(run, 'float32', logits);
  if (wantsBf16) {
    const bf16 = toBfloat16(logits);
    logits = undefined;
    collectGarbage();
    await runDtype(run, 'bfloat16', bf16);
  }
  logits = undefined;
  collectGarbage();
  // Sanity: whatever is timed computes the same loss as an independent implementation on the
  // same inputs (plain-f32 on the benchmark shape, the float64 reference on its own shape).
  for (const dtype of ['float32', 'bfloat16'] as const) {
    const fusedCase = run.cases.find((c) => c.family === 'fused' && c.dtype === dtype && c.fraction === 1 && c.grad === 'buffer');
    const plainCase = run.cases.find((c) => c.family === 'plain' && c.dtype === dtype);
    if (fusedCase?.loss !== undefined && plainCase?.loss !== undefined) {
      run.lossChecks.push(lossCheck(`fused vs plain-f32, ${dtype}`, fusedCase.loss, plainCase.loss));
    }
  }
}

/** The instruction floor of one dtype, when any fused case of that dtype (or the floor itself) is selected. */
async function runFloor(run: Run, dtype: Dtype): Promise<void> {
  const s = short(dtype);
  if (!run.fused || !wanted(run.options, `fused ${s}`, `floor ${s}`)) return;
  const floor = await measureInstructionFloor(run.fused, run.options.shape.vocab, dtype, run.options.threads, BETA, SEED + 11);
  run.floors.push(floor);
  log(`    floor ${s}: ${fmt(floor.timing.medianMs)} ms for ${2 * floor.shape.seqLen} cache-resident rows = ` +
    `${floor.gbs.toFixed(2)} GB/s ${rss()}`);
}

function formatReport(run: Run): string {
  const { options, copy, cases, floors } = run;
  const { shape, threads } = options;
  const rank = { fused: 0, plain: 1, reference: 2, torch: 3 };
  cases.sort((a, b) => rank[a.family] - rank[b.family]); // stable: keeps each family's run order
  const rows = buildRows(cases, copy, floors);
  const info = run.lib?.backendInfo();
  const out: string[] = [''];
  out.push(`ipo-node loss benchmark: pairs=${shape.pairs} seqLen=${shape.seqLen} vocab=${shape.vocab}, ` +
    `threads=${threads}, ${cpus()[0]?.model ?? 'unknown CPU'}, node ${process.version}` +
    (info ? `, ${info.backend}/${info.simd}` : '') + (run.torchInfo ? `, torch ${run.torchInfo.version}` : ''));
  if (copy) {
    out.push(`copy bandwidth (${(copy.bytes / 2 ** 20).toFixed(0)} MiB, read + write): ` +
      `1 thread ${copy.singleThreadGBs.toFixed(2)} GB/s, ${threads} threads ${copy.multiThreadGBs.toFixed(2)} GB/s; ` +
      `% copy uses the faster, ${copy.bestGBs.toFixed(2)} GB/s`);
    out.push(`filling a freshly allocated ${(copy.bytes / 2 ** 20).toFixed(0)} MiB buffer (page faults included, bytes written): ` +
      `${copy.freshWriteGBs.toFixed(2)} GB/s; grad 'buffer' pays this only for pages its recycled buffers have not mapped yet`);
  }
  out.push(...formatFloors(run));
  out.push('', formatTable(rows), '');
  out.push('GB/s = 2 x scored rows x vocab x bytes per element / median time (one read + one write of the scored logits).');
  out.push('% floor = GB/s / the lower of the memory floor and the instruction floor of the same dtype (above).');
  out.push('x baseline = baseline time / case time (> 1: faster than the baseline), same dtype; PyTorch computes every');
  out.push('row whatever the mask, so it is the baseline at every fraction; plain-f32 and ref-f64 compare at 100% only.');
  out.push(`plain-f32 and ref-f64 are single-threaded TypeScript; fused and torch use ${threads} thread(s).`);
  if (rows.some((r) => r.scaled)) {
    const ref = options.referenceShape;
    out.push(`* measured on pairs=${ref.pairs} seqLen=${ref.seqLen} vocab=${ref.vocab} and scaled per element ` +
      `(x ${(elementsOf(shape) / elementsOf(ref)).toFixed(1)}) to the benchmark shape.`);
  }
  for (const check of run.lossChecks) {
    out.push(`loss check, ${check.name}: ${check.value.toPrecision(8)} vs ${check.expected.toPrecision(8)} ` +
      `(relative difference ${check.relativeDifference.toExponential(2)})`);
  }
  for (const text of run.notes) out.push(`note: ${text}`);
  out.push('');
  const judged = shape.pairs === JUDGED_SHAPE.pairs && shape.seqLen === JUDGED_SHAPE.seqLen && shape.vocab === JUDGED_SHAPE.vocab;
  out.push(`targets (grad 'buffer' is the default mode)${judged ? '' : ' [not the default shape: indicative only]'}:`);
  out.push(formatTargets(evaluateTargets(cases, copy)));
  out.push('', formatRunCost(run));
  return out.join('\n');
}

function formatFloors(run: Run): string[] {
  const { copy, floors } = run;
  const lines: string[] = [];
  if (copy) {
    lines.push(`memory floor: ${(copy.bestGBs * MEMORY_FLOOR_OF_COPY).toFixed(2)} GB/s = 2/3 of copy (the fused loss reads ` +
      'each scored row twice and writes its gradient once; copy reads once and writes once)');
  }
  for (const f of floors) {
    const lowest = floorGBs(f.dtype, copy, floors)!;
    lines.push(`instruction floor, ${f.dtype}: ${f.gbs.toFixed(2)} GB/s (the same call, gradOut, on ${2 * f.shape.seqLen} rows ` +
      `that stay in the cache, ${FLOOR_LOGITS_BYTES >> 20} MiB of logits, fastest of ${f.timing.samples}); ` +
      `the lower floor is the ${lowest === f.gbs ? 'instruction' : 'memory'} one`);
  }
  return lines;
}

function formatRunCost(run: Run): string {
  const peak = process.resourceUsage().maxRSS * 1024;
  return `run: ${formatSeconds((Date.now() - startedAt) / 1000)}, peak resident memory ${(peak / 2 ** 30).toFixed(2)} GiB` +
    (run.torchPeakBytes > 0 ? ` (PyTorch subprocess: ${(run.torchPeakBytes / 2 ** 30).toFixed(2)} GiB)` : '');
}

function writeResults(run: Run): void {
  const { options } = run;
  const outPath = resolve(options.out);
  writeFileSync(outPath, JSON.stringify({
    date: new Date().toISOString(),
    machine: { cpu: cpus()[0]?.model, cores: cpus().length, node: process.version, platform: process.platform },
    options: { quick: options.quick, threads: options.threads, filters: options.filters, iterations: options.iterations },
    shape: options.shape, referenceShape: options.referenceShape,
    backend: run.lib?.backendInfo() ?? null,
    torch: run.torchInfo ?? null,
    copyBandwidth: run.copy ?? null,
    instructionFloors: run.floors,
    memoryFloorGBs: run.copy ? run.copy.bestGBs * MEMORY_FLOOR_OF_COPY : null,
    cases: run.cases, rows: buildRows(run.cases, run.copy, run.floors), targets: evaluateTargets(run.cases, run.copy),
    lossChecks: run.lossChecks, notes: run.notes,
    durationSeconds: (Date.now() - startedAt) / 1000,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    torchPeakRssBytes: run.torchPeakBytes || null,
  }, null, 2) + '\n');
  log(`bench: results written to ${outPath}`);
}

type Logits = Float32Array | Uint16Array;

/** The benchmark input at a scored fraction, on the shared logits array. */
function inputFor(options: BenchOptions, dtype: Dtype, logits: Logits, fraction: number, seed = SEED + Math.round(fraction * 1000)) {
  const { shape } = options;
  const labels = makeLabels(shape, fraction, seed);
  return { logits, dtype, seqLen: shape.seqLen, vocab: shape.vocab, labels, refLogps: makeRefLogps(shape, labels, SEED) };
}

/** Plain-TS, the floor and the fused cases for one dtype on one logits array. */
async function runDtype(run: Run, dtype: Dtype, logits: Logits): Promise<void> {
  await runPlain(run, dtype, logits);
  const lib = run.fused;
  if (!lib) return;
  await runFloor(run, dtype);
  for (const grad of ['buffer', 'inplace', 'gradOut'] as GradCase[]) {
    await runFused(run, lib, dtype, logits, grad);
    if (dtype === 'float32' && grad !== 'inplace') await runMoving(run, lib, dtype, logits, grad);
    collectGarbage();
  }
}

async function runPlain(run: Run, dtype: Dtype, logits: Logits): Promise<void> {
  const { options } = run;
  const name = `plain ${short(dtype)}`;
  if (!selected(options, name)) return;
  const all = inputFor(options, dtype, logits, 1);
  // Let V8 optimise the loops on a small slice before the timed calls on the full shape.
  plainDpoLoss({ ...all, logits: logits.subarray(0, 4 * options.shape.vocab) as typeof logits, seqLen: 2, labels: all.labels.subarray(0, 4) });
  let loss = NaN;
  const timing = await measure(name, () => { loss = plainDpoLoss(all, BETA).loss; }, {
    iterations: options.iterations.plain, warmup: 0, beforeEach: collectGarbage,
  });
  run.cases.push({ name, family: 'plain', dtype, fraction: 1, rowsScored: countScored(all.labels),
    vocab: options.shape.vocab, medianMs: timing.medianMs, timing, loss });
  log(`    ${name}: ${fmt(timing.medianMs)} ms ${rss()}`);
  collectGarbage();
}

/** The dpoLoss options of a gradient mode; 'gradOut' gets one caller-owned array reused by every call. */
function callOptionsFor(grad: GradCase, logits: Logits, threads: number) {
  if (grad !== 'gradOut') return { beta: BETA, grad: grad as 'buffer' | 'inplace', threads };
  // Touched once here (a training loop's pattern: allocate once, reuse every step).
  const gradOut = logits instanceof Float32Array ? new Float32Array(logits.length).fill(1) : new Uint16Array(logits.length).fill(1);
  return { beta: BETA, grad: 'buffer' as const, gradOut, threads };
}

/** One gradient mode at every scored fraction (100% only for bfloat16). */
async function runFused(run: Run, lib: Library, dtype: Dtype, logits: Logits, grad: GradCase): Promise<void> {
  const { options } = run;
  const fractions = dtype === 'float32' ? FRACTIONS : [1];
  const names = fractions.map((f) => `fused ${short(dtype)} ${grad} ${Math.round(f * 100)}%`);
  if (!names.some((n) => selected(options, n))) return;
  // 'inplace' overwrites the logits with the gradient: restore them before every call.
  const pristine = grad === 'inplace' ? logits.slice() : undefined;
  const restore = (): void => { if (pristine) (logits as Float32Array).set(pristine as Float32Array); };
  const callOptions = callOptionsFor(grad, logits, options.threads);
  for (let i = 0; i < fractions.length; i++) {
    if (!selected(options, names[i])) continue;
    const args = inputFor(options, dtype, logits, fractions[i]);
    let loss = NaN;
    const cacheBefore = lib.gradientCacheInfo?.();
    const timing = await measure(names[i], () => { loss = lib.dpoLoss(args, callOptions).loss; }, {
      iterations: options.iterations.fused,
      warmup: 1,
      beforeEach: async () => {
        await releaseGarbage(); // release the previous call's gradient outside the timed region
        restore();
      },
    });
    restore();
    run.cases.push({ name: names[i], family: 'fused', dtype, grad, fraction: fractions[i], rowsScored: countScored(args.labels),
      vocab: options.shape.vocab, medianMs: timing.medianMs, timing, loss });
    const cacheAfter = lib.gradientCacheInfo?.();
    const cache = grad === 'buffer' && cacheBefore && cacheAfter
      ? ` (gradient buffers: ${cacheAfter.hits - cacheBefore.hits} recycled, ${cacheAfter.misses - cacheBefore.misses} newly mapped, ` +
        `${cacheAfter.refused - cacheBefore.refused} from calloc)`
      : '';
    log(`    ${names[i]}: ${fmt(timing.medianMs)} ms ${rss()}${cache}`);
  }
}

/**
 * 25% scored with the segments moving on every call (8 masks in turn), as batches do in training: an
 * honest price for pages that switch between scored and unscored (the fixed-mask cases repeat one call,
 * the steady state of the recycled buffers' page states). Timed after three rounds of the masks: the
 * recycled buffers' first ~24 calls pay page faults while they learn which pages come back.
 */
async function runMoving(run: Run, lib: Library, dtype: Dtype, logits: Logits, grad: GradCase): Promise<void> {
  const { options } = run;
  const name = `fused ${short(dtype)} ${grad} 25% moving`;
  if (!selected(options, name)) return;
  const masks = Array.from({ length: 8 }, (_, k) => inputFor(options, dtype, logits, 0.25, SEED + 7000 + k));
  const callOptions = callOptionsFor(grad, logits, options.threads);
  let call = 0;
  let loss = NaN;
  const timing = await measure(name, () => {
    loss = lib.dpoLoss(masks[call++ % masks.length], callOptions).loss;
  }, { iterations: options.iterations.fused, warmup: 3 * masks.length, beforeEach: releaseGarbage });
  run.cases.push({ name, family: 'fused', dtype, grad, fraction: 0.25, maskMoves: true,
    rowsScored: countScored(masks[0].labels), vocab: options.shape.vocab, medianMs: timing.medianMs, timing, loss });
  log(`    ${name}: ${fmt(timing.medianMs)} ms ${rss()}`);
}

/**
 * The float64 reference on options.referenceShape, its time scaled to the benchmark shape; the
 * fused loss runs once on the same inputs for a loss check.
 */
async function runReference(run: Run, lib: Library, reference: DpoLossFn): Promise<void> {
  const { options } = run;
  const ref: Shape = options.referenceShape;
  const scale = elementsOf(options.shape) / elementsOf(ref);
  const logits32 = new Float32Array(elementsOf(ref));
  fillLogits(logits32, SEED + 1);
  const labels = makeLabels(ref, 1, SEED + 2);
  const refLogps = makeRefLogps(ref, labels, SEED);
  for (const dtype of ['float32', 'bfloat16'] as const) {
    const name = `ref-f64 ${short(dtype)}`;
    if (!selected(options, name)) continue;
    const logits = dtype === 'float32' ? logits32 : toBfloat16(logits32);
    const args = { logits, dtype, seqLen: ref.seqLen, vocab: ref.vocab, labels, refLogps };
    try {
      let loss = NaN;
      const timing = await measure(name, () => { loss = reference(args, { beta: BETA, grad: 'buffer' }).loss; }, {
        iterations: options.iterations.reference, warmup: 1, beforeEach: collectGarbage,
      });
      run.cases.push({ name, family: 'reference', dtype, fraction: 1, rowsScored: rowsOf(options.shape), vocab: options.shape.vocab,
        medianMs: timing.medianMs * scale, timing, measuredOn: scale === 1 ? undefined : ref, loss });
      log(`    ${name}: ${fmt(timing.medianMs)} ms on the reference shape ${rss()}`);
      if (lib.backendInfo().backend !== 'js') {
        const fusedLoss = lib.dpoLoss(args, { beta: BETA, grad: 'none', threads: options.threads }).loss;
        run.lossChecks.push(lossCheck(`fused vs ref-f64, ${dtype}, reference shape`, fusedLoss, loss));
      }
    } catch (error) {
      note(run, `${name} failed: ${(error as Error).message}`);
    }
  }
}

interface LossCheck {
  name: string;
  value: number;
  expected: number;
  relativeDifference: number;
}

function lossCheck(name: string, value: number, expected: number): LossCheck {
  return { name, value, expected, relativeDifference: Math.abs(value - expected) / Math.max(Math.abs(expected), 1e-30) };
}

function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  log(`bench: ${(error as Error).message}`);
  process.exitCode = 1;
}
