/**
 * The ipo-node loss benchmark (issue 2, item 6). Started by bench/run.js; see docs/bench.md.
 *
 * One run measures, in this order so that at most ~4 GB is held at once at the full shape:
 *   1. copy bandwidth (1 and N threads);
 *   2. PyTorch CPU eager, float32 and bfloat16 (a subprocess; this process holds nothing big);
 *   3. float32 logits: plain-TS float32, then the fused loss with grad 'buffer', 'inplace' and a reused gradOut at
 *      100%, 50%, 25% and 10% of positions scored;
 *   4. bfloat16 logits (the same values, rounded): plain-TS, fused 'buffer', 'inplace' and gradOut;
 *   5. the float64 TS reference on a smaller shape, its time scaled per element.
 */
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { measureCopyBandwidth, type CopyBandwidth } from './copy-bandwidth.js';
import {
  countScored, elementsOf, fillLogits, makeLabels, makeRefLogps, rowsOf, toBfloat16, type Shape,
} from './inputs.js';
import { loadLibrary, type DpoLossFn, type GradCase, type Library } from './library.js';
import { collectGarbage, measure, releaseGarbage } from './measure.js';
import { JUDGED_SHAPE, parseOptions, selected, USAGE, wanted, type BenchOptions } from './options.js';
import { plainDpoLoss } from './plain-f32.js';
import {
  buildRows, evaluateTargets, fmt, formatTable, formatTargets, type CaseResult,
} from './report.js';
import { findTorchPython, runTorchBaseline, type TorchRun } from './torch-baseline.js';

const FRACTIONS = [1, 0.5, 0.25, 0.1];
const BETA = 0.1;
const SEED = 20240611;

type Dtype = 'float32' | 'bfloat16';
const short = (dtype: Dtype): string => (dtype === 'float32' ? 'f32' : 'bf16');
const log = (line: string): void => { process.stderr.write(line + '\n'); };
/** Resident memory, shown with each case so a run that grows towards the ~8 GB budget is visible. */
const rss = (): string => `[rss ${(process.memoryUsage.rss() / 2 ** 30).toFixed(2)} GiB]`;

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
  const repoRoot = process.env.IPO_BENCH_ROOT ?? process.cwd();
  const { shape, threads } = options;
  const notes: string[] = [];
  const cases: CaseResult[] = [];
  log(`bench: shape pairs=${shape.pairs} seqLen=${shape.seqLen} vocab=${shape.vocab} ` +
    `(${rowsOf(shape)} rows, ${(elementsOf(shape) * 4 / 2 ** 30).toFixed(2)} GiB float32), threads=${threads}` +
    (options.quick ? ' [quick]' : ''));

  const library = await loadLibrary(resolve(options.library ?? join(repoRoot, 'dist', 'loss', 'index.js')));
  if ('missing' in library) {
    notes.push(`fused loss not measured: ${library.missing}`);
    log(`bench: ${notes.at(-1)}`);
  } else {
    log(`bench: library ${library.modulePath}: ${JSON.stringify(library.backendInfo())}`);
    if (!library.referenceDpoLoss) notes.push('float64 reference not found in dist/loss');
  }
  const lib = 'missing' in library ? undefined : library;
  // Without the addon dpoLoss falls back to the float64 reference, already measured as ref-f64
  // (and far too slow for the full shape ten times over): time the fused cases only when native.
  const fused = lib && lib.backendInfo().backend !== 'js' ? lib : undefined;
  if (lib && !fused) {
    notes.push(`fused loss not measured: the native addon did not load (backendInfo: ${JSON.stringify(lib.backendInfo())})`);
    log(`bench: ${notes.at(-1)}`);
  }

  // 1. Copy bandwidth.
  let copy: CopyBandwidth | undefined;
  if (selected(options, 'copy bandwidth')) {
    copy = await measureCopyBandwidth(options.copyBytes, threads, options.iterations.copy);
    log(`  copy ${(copy.bytes / 2 ** 20).toFixed(0)} MiB: 1 thread ${copy.singleThreadGBs.toFixed(2)} GB/s, ` +
      `${threads} threads ${copy.multiThreadGBs.toFixed(2)} GB/s (read + write); fresh-buffer fill ${copy.freshWriteGBs.toFixed(2)} GB/s`);
    collectGarbage();
  }

  // 2. PyTorch.
  let torchInfo: { python: string; version: string } | undefined;
  if (wanted(options, 'torch')) {
    const found = findTorchPython(options.python);
    if ('missing' in found) {
      notes.push(`PyTorch baseline not measured: ${found.missing}`);
      log(`bench: ${notes.at(-1)}`);
    } else {
      torchInfo = found;
      for (const dtype of ['float32', 'bfloat16'] as const) {
        if (!wanted(options, `torch ${short(dtype)}`)) continue;
        log(`  torch ${found.version} ${dtype} (${found.python})...`);
        let run: TorchRun;
        try {
          const variants = ['log_softmax', 'selective'].filter((v) => selected(options, `torch ${short(dtype)} ${v}`));
          run = runTorchBaseline(found.python, repoRoot, shape, dtype, threads, options.iterations.torch, variants);
        } catch (error) {
          notes.push((error as Error).message);
          log(`bench: ${notes.at(-1)}`);
          continue;
        }
        for (const r of run.results) {
          cases.push({
            name: `torch ${short(dtype)} ${r.variant}`, family: 'torch', dtype, variant: r.variant, fraction: 1,
            rowsScored: rowsOf(shape), vocab: shape.vocab, medianMs: r.medianMs, loss: r.loss,
            timing: { medianMs: r.medianMs, meanMs: mean(r.timesMs), minMs: Math.min(...r.timesMs), samples: r.timesMs.length },
          });
          log(`    ${cases.at(-1)!.name}: ${fmt(r.medianMs)} ms`);
        }
      }
    }
  }

  // 3-4. Plain TS and the fused loss, float32 then bfloat16 on the same (rounded) values.
  const wantsBf16 = wanted(options, 'plain bf16', 'fused bf16');
  if (wanted(options, 'plain f32', 'fused f32') || wantsBf16) {
    log(`  generating ${elementsOf(shape)} random logits...`);
    let logits: Float32Array | undefined = new Float32Array(elementsOf(shape));
    fillLogits(logits, SEED);
    await runDtype(options, fused, cases, 'float32', logits);
    if (wantsBf16) {
      const bf16 = toBfloat16(logits);
      logits = undefined;
      collectGarbage();
      await runDtype(options, fused, cases, 'bfloat16', bf16);
    }
    logits = undefined;
    collectGarbage();
  }

  // Sanity: whatever is timed computes the same loss as an independent implementation on the
  // same inputs (plain-f32 on the benchmark shape, the float64 reference on its own shape).
  const lossChecks: LossCheck[] = [];
  for (const dtype of ['float32', 'bfloat16'] as const) {
    const fusedCase = cases.find((c) => c.family === 'fused' && c.dtype === dtype && c.fraction === 1 && c.grad === 'buffer');
    const plainCase = cases.find((c) => c.family === 'plain' && c.dtype === dtype);
    if (fusedCase?.loss !== undefined && plainCase?.loss !== undefined) {
      lossChecks.push(lossCheck(`fused vs plain-f32, ${dtype}`, fusedCase.loss, plainCase.loss));
    }
  }

  // 5. The float64 reference on a smaller shape.
  if (lib?.referenceDpoLoss) {
    await runReference(options, lib, lib.referenceDpoLoss, cases, notes, lossChecks);
  }

  const rank = { fused: 0, plain: 1, reference: 2, torch: 3 };
  cases.sort((a, b) => rank[a.family] - rank[b.family]); // stable: keeps each family's run order
  const rows = buildRows(cases, copy);
  const targets = evaluateTargets(cases, copy);
  const out: string[] = [];
  out.push('');
  out.push(`ipo-node loss benchmark: pairs=${shape.pairs} seqLen=${shape.seqLen} vocab=${shape.vocab}, ` +
    `threads=${threads}, ${cpus()[0]?.model ?? 'unknown CPU'}, node ${process.version}` +
    (lib ? `, ${lib.backendInfo().backend}/${lib.backendInfo().simd}` : '') +
    (torchInfo ? `, torch ${torchInfo.version}` : ''));
  if (copy) {
    out.push(`copy bandwidth (${(copy.bytes / 2 ** 20).toFixed(0)} MiB, read + write): ` +
      `1 thread ${copy.singleThreadGBs.toFixed(2)} GB/s, ${threads} threads ${copy.multiThreadGBs.toFixed(2)} GB/s; ` +
      `% copy uses the faster, ${copy.bestGBs.toFixed(2)} GB/s`);
    out.push(`filling a freshly allocated ${(copy.bytes / 2 ** 20).toFixed(0)} MiB buffer (page faults included, bytes written): ` +
      `${copy.freshWriteGBs.toFixed(2)} GB/s; grad 'buffer' pays this only for pages its recycled buffers have not mapped yet`);
  }
  out.push('');
  out.push(formatTable(rows));
  out.push('');
  out.push('GB/s = 2 x scored rows x vocab x bytes per element / median time (one read + one write of the scored logits).');
  out.push('x baseline = baseline time / case time (> 1: faster than the baseline), same dtype; PyTorch computes every');
  out.push('row whatever the mask, so it is the baseline at every fraction; plain-f32 and ref-f64 compare at 100% only.');
  out.push(`plain-f32 and ref-f64 are single-threaded TypeScript; fused and torch use ${threads} thread(s).`);
  if (rows.some((r) => r.scaled)) {
    const ref = options.referenceShape;
    out.push(`* measured on pairs=${ref.pairs} seqLen=${ref.seqLen} vocab=${ref.vocab} and scaled per element ` +
      `(x ${(elementsOf(shape) / elementsOf(ref)).toFixed(1)}) to the benchmark shape.`);
  }
  for (const check of lossChecks) {
    out.push(`loss check, ${check.name}: ${check.value.toPrecision(8)} vs ${check.expected.toPrecision(8)} ` +
      `(relative difference ${check.relativeDifference.toExponential(2)})`);
  }
  for (const note of notes) out.push(`note: ${note}`);
  out.push('');
  const judged = shape.pairs === JUDGED_SHAPE.pairs && shape.seqLen === JUDGED_SHAPE.seqLen && shape.vocab === JUDGED_SHAPE.vocab;
  out.push(`targets (issue 2; grad 'buffer' is the default mode)${judged ? '' : ' [NOT the judged shape: indicative only]'}:`);
  out.push(formatTargets(targets));
  process.stdout.write(out.join('\n') + '\n');

  const outPath = resolve(options.out);
  writeFileSync(outPath, JSON.stringify({
    date: new Date().toISOString(),
    machine: { cpu: cpus()[0]?.model, cores: cpus().length, node: process.version, platform: process.platform },
    options: { quick: options.quick, threads, filters: options.filters, iterations: options.iterations },
    shape, referenceShape: options.referenceShape,
    backend: lib?.backendInfo() ?? null,
    torch: torchInfo ?? null,
    copyBandwidth: copy ?? null,
    cases, rows, targets, lossChecks, notes,
  }, null, 2) + '\n');
  log(`bench: results written to ${outPath}`);
  return 0;
}

/** Plain-TS and fused cases for one dtype on one logits array (a pristine copy only for 'inplace'). */
async function runDtype(
  options: BenchOptions, lib: Library | undefined, cases: CaseResult[], dtype: Dtype, logits: Float32Array | Uint16Array,
): Promise<void> {
  const { shape, threads } = options;
  const s = short(dtype);
  const input = (fraction: number) => {
    const labels = makeLabels(shape, fraction, SEED + Math.round(fraction * 1000));
    return { logits, dtype, seqLen: shape.seqLen, vocab: shape.vocab, labels, refLogps: makeRefLogps(shape, labels, SEED) };
  };

  if (selected(options, `plain ${s}`)) {
    const all = input(1);
    // Let V8 optimise the loops on a small slice before the timed calls on the full shape.
    plainDpoLoss({ ...all, logits: logits.subarray(0, 4 * shape.vocab) as typeof logits, seqLen: 2, labels: all.labels.subarray(0, 4) });
    let loss = NaN;
    const timing = await measure(`plain ${s}`, () => { loss = plainDpoLoss(all, BETA).loss; }, {
      iterations: options.iterations.plain, warmup: 0, beforeEach: collectGarbage,
    });
    cases.push({ name: `plain ${s}`, family: 'plain', dtype, fraction: 1, rowsScored: countScored(all.labels),
      vocab: shape.vocab, medianMs: timing.medianMs, timing, loss });
    log(`    plain ${s}: ${fmt(timing.medianMs)} ms ${rss()}`);
    collectGarbage();
  }

  if (!lib) return;
  for (const grad of ['buffer', 'inplace', 'gradOut'] as GradCase[]) {
    const fractions = dtype === 'float32' ? FRACTIONS : [1];
    const names = fractions.map((f) => `fused ${s} ${grad} ${Math.round(f * 100)}%`);
    if (!names.some((n) => selected(options, n))) continue;
    // 'inplace' overwrites the logits with the gradient: restore them before every call.
    const pristine = grad === 'inplace' ? logits.slice() : undefined;
    // 'gradOut': one caller-owned array, touched once here, reused by every call (a training loop's pattern).
    const gradOut = grad === 'gradOut' ? (logits instanceof Float32Array ? new Float32Array(logits.length).fill(1) : new Uint16Array(logits.length).fill(1)) : undefined;
    const callOptions = gradOut ? { beta: BETA, grad: 'buffer' as const, gradOut, threads } : { beta: BETA, grad: grad as 'buffer' | 'inplace', threads };
    for (let i = 0; i < fractions.length; i++) {
      if (!selected(options, names[i])) continue;
      const fraction = fractions[i];
      const args = input(fraction);
      let loss = NaN;
      const cacheBefore = lib.gradientCacheInfo?.();
      const timing = await measure(names[i], () => {
        loss = lib.dpoLoss(args, callOptions).loss;
      }, {
        iterations: options.iterations.fused,
        warmup: 1,
        beforeEach: async () => {
          await releaseGarbage(); // release the previous call's gradient outside the timed region
          if (pristine) (logits as Float32Array).set(pristine as Float32Array);
        },
      });
      if (pristine) (logits as Float32Array).set(pristine as Float32Array);
      cases.push({ name: names[i], family: 'fused', dtype, grad, fraction, rowsScored: countScored(args.labels),
        vocab: shape.vocab, medianMs: timing.medianMs, timing, loss });
      const cacheAfter = lib.gradientCacheInfo?.();
      const cache = grad === 'buffer' && cacheBefore && cacheAfter
        ? ` (gradient buffers: ${cacheAfter.hits - cacheBefore.hits} recycled, ${cacheAfter.misses - cacheBefore.misses} newly mapped, ` +
          `${cacheAfter.refused - cacheBefore.refused} from calloc)`
        : '';
      log(`    ${names[i]}: ${fmt(timing.medianMs)} ms ${rss()}${cache}`);
    }
    const moving = `fused ${s} ${grad} 25% moving`;
    if (dtype === 'float32' && grad !== 'inplace' && selected(options, moving)) {
      // The fixed-mask cases repeat one call, the steady state of the recycled buffers' page states. Here
      // the segments move on every call (8 masks in turn), as batches do in training: an honest price
      // for pages that switch between scored and unscored. Timed after three rounds of the masks: the
      // recycled buffers' first ~24 calls pay page faults while they learn which pages come back.
      const masks = Array.from({ length: 8 }, (_, k) => {
        const labels = makeLabels(shape, 0.25, SEED + 7000 + k);
        return { logits, dtype, seqLen: shape.seqLen, vocab: shape.vocab, labels, refLogps: makeRefLogps(shape, labels, SEED) };
      });
      let call = 0;
      let loss = NaN;
      const timing = await measure(moving, () => {
        loss = lib.dpoLoss(masks[call++ % masks.length], callOptions).loss;
      }, { iterations: options.iterations.fused, warmup: 3 * masks.length, beforeEach: releaseGarbage });
      cases.push({ name: moving, family: 'fused', dtype, grad, fraction: 0.25, maskMoves: true,
        rowsScored: countScored(masks[0].labels), vocab: shape.vocab, medianMs: timing.medianMs, timing, loss });
      log(`    ${moving}: ${fmt(timing.medianMs)} ms ${rss()}`);
    }
    collectGarbage();
  }
}

/**
 * The float64 reference on options.referenceShape, its time scaled to the benchmark shape; the
 * fused loss runs once on the same inputs for a loss check.
 */
async function runReference(
  options: BenchOptions, lib: Library, reference: DpoLossFn, cases: CaseResult[], notes: string[], lossChecks: LossCheck[],
): Promise<void> {
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
      cases.push({ name, family: 'reference', dtype, fraction: 1, rowsScored: rowsOf(options.shape), vocab: options.shape.vocab,
        medianMs: timing.medianMs * scale, timing, measuredOn: scale === 1 ? undefined : ref, loss });
      log(`    ${name}: ${fmt(timing.medianMs)} ms on the reference shape ${rss()}`);
      if (lib.backendInfo().backend !== 'js') {
        const fusedLoss = lib.dpoLoss(args, { beta: BETA, grad: 'none', threads: options.threads }).loss;
        lossChecks.push(lossCheck(`fused vs ref-f64, ${dtype}, reference shape`, fusedLoss, loss));
      }
    } catch (error) {
      notes.push(`${name} failed: ${(error as Error).message}`);
      log(`bench: ${notes.at(-1)}`);
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
