/**
 * The benchmark's table and its verdicts on the fused loss's targets:
 *   1. fused float32 forward+backward >= 3x faster than PyTorch CPU eager (TRL's log_softmax path)
 *   2. effective bandwidth >= 50% of the copy bandwidth, both counting one read + one write (every fused
 *      case at 100% scored, float32 and bfloat16, and the moving-mask cases)
 *   3. with 25% of positions scored, <= 0.35x the all-scored time
 * Effective bandwidth of a case = 2 x scored rows x vocab x bytes per element / median time.
 * % floor = effective bandwidth / min(memory floor, instruction floor of its dtype) (bench/floor.ts).
 */
import type { CopyBandwidth } from './copy-bandwidth.js';
import { MEMORY_FLOOR_OF_COPY, type InstructionFloor } from './floor.js';
import type { Shape } from './inputs.js';
import type { GradCase } from './library.js';
import type { Timing } from './measure.js';

export interface CaseResult {
  name: string;
  family: 'fused' | 'plain' | 'reference' | 'torch';
  dtype: 'float32' | 'bfloat16';
  grad?: GradCase;
  variant?: string; // torch: 'log_softmax' | 'selective'
  fraction: number; // share of positions scored
  maskMoves?: boolean; // the scored segments move on every call, as a training loop's batches do
  rowsScored: number;
  vocab: number;
  medianMs: number; // at the benchmark shape (scaled per element when measuredOn is set)
  timing: Timing; // as measured
  measuredOn?: Shape; // the reference runs on a smaller shape: medianMs = timing x elements ratio
  loss?: number;
}

export interface Target {
  name: string;
  value: number | null;
  threshold: string;
  pass: boolean | null; // null: not measured in this run
  detail: string;
}

const bytesOf = (dtype: CaseResult['dtype']): number => (dtype === 'float32' ? 4 : 2);

export function effectiveGBs(c: CaseResult): number {
  return (2 * c.rowsScored * c.vocab * bytesOf(c.dtype)) / (c.medianMs * 1e6);
}

function find(cases: CaseResult[], match: Partial<CaseResult>): CaseResult | undefined {
  return cases.find((c) => (c.maskMoves ?? false) === (match.maskMoves ?? false) &&
    Object.entries(match).every(([k, v]) => c[k as keyof CaseResult] === v));
}

/** Baseline time / case time (> 1: the case is faster), or undefined when not comparable. */
function speedup(c: CaseResult, baseline: CaseResult | undefined): number | undefined {
  return baseline ? baseline.medianMs / c.medianMs : undefined;
}

export interface Row {
  name: string;
  medianMs: number;
  gbs: number;
  copyFraction: number | null;
  floorFraction: number | null; // fused cases: of min(memory floor, instruction floor)
  vsTorch: number | null;
  vsTorchSelective: number | null;
  vsPlain: number | null;
  vsReference: number | null;
  ofAllScored: number | null;
  scaled: boolean;
}

/** The lower of the memory floor and the dtype's instruction floor, in effective GB/s; null if neither was measured. */
export function floorGBs(dtype: CaseResult['dtype'], copy: CopyBandwidth | undefined, floors: InstructionFloor[]): number | null {
  const limits = [copy ? copy.bestGBs * MEMORY_FLOOR_OF_COPY : Infinity, floors.find((f) => f.dtype === dtype)?.gbs ?? Infinity];
  const lowest = Math.min(...limits);
  return Number.isFinite(lowest) ? lowest : null;
}

export function buildRows(cases: CaseResult[], copy: CopyBandwidth | undefined, floors: InstructionFloor[] = []): Row[] {
  return cases.map((c) => {
    // PyTorch computes log_softmax on every row whatever the mask, so it is the baseline at any
    // fraction; plain and reference skip unscored rows too, so they compare at 100% only.
    const torch = find(cases, { family: 'torch', dtype: c.dtype, variant: 'log_softmax' });
    const torchSelective = find(cases, { family: 'torch', dtype: c.dtype, variant: 'selective' });
    const sameFraction = c.fraction === 1;
    const plain = sameFraction ? find(cases, { family: 'plain', dtype: c.dtype, fraction: 1 }) : undefined;
    const reference = sameFraction ? find(cases, { family: 'reference', dtype: c.dtype, fraction: 1 }) : undefined;
    const allScored = c.family === 'fused' && c.fraction < 1
      ? find(cases, { family: 'fused', dtype: c.dtype, grad: c.grad, fraction: 1 })
      : undefined;
    const gbs = effectiveGBs(c);
    const floor = c.family === 'fused' ? floorGBs(c.dtype, copy, floors) : null;
    const notSelf = (b: CaseResult | undefined): CaseResult | undefined => (b === c ? undefined : b);
    return {
      name: c.name,
      medianMs: c.medianMs,
      gbs,
      copyFraction: copy ? gbs / copy.bestGBs : null,
      floorFraction: floor === null ? null : gbs / floor,
      vsTorch: speedup(c, notSelf(torch)) ?? null,
      vsTorchSelective: speedup(c, notSelf(torchSelective)) ?? null,
      vsPlain: speedup(c, notSelf(plain)) ?? null,
      vsReference: speedup(c, notSelf(reference)) ?? null,
      ofAllScored: allScored ? c.medianMs / allScored.medianMs : null,
      scaled: c.measuredOn !== undefined,
    };
  });
}

export function evaluateTargets(cases: CaseResult[], copy: CopyBandwidth | undefined): Target[] {
  const targets: Target[] = [];
  const torch = find(cases, { family: 'torch', dtype: 'float32', variant: 'log_softmax' });
  for (const grad of ['buffer', 'inplace', 'gradOut'] as const) {
    const full = find(cases, { family: 'fused', dtype: 'float32', grad, fraction: 1 });
    const x = full && torch ? torch.medianMs / full.medianMs : null;
    targets.push({
      name: `speed vs PyTorch eager, float32, grad ${grad}`,
      value: x,
      threshold: '>= 3x',
      pass: x === null ? null : x >= 3,
      detail: x === null ? 'not measured' : `${fmt(torch!.medianMs)} ms / ${fmt(full!.medianMs)} ms = ${x.toFixed(2)}x`,
    });
  }
  for (const dtype of ['float32', 'bfloat16'] as const) {
    for (const grad of ['buffer', 'inplace', 'gradOut'] as const) {
      targets.push(copyShare(`${dtype}, grad ${grad}`, find(cases, { family: 'fused', dtype, grad, fraction: 1 }), copy));
    }
  }
  for (const grad of ['buffer', 'gradOut'] as const) {
    const moving = find(cases, { family: 'fused', dtype: 'float32', grad, fraction: 0.25, maskMoves: true });
    targets.push(copyShare(`float32, grad ${grad}, 25% scored, moving masks`, moving, copy));
  }
  for (const grad of ['buffer', 'inplace', 'gradOut'] as const) {
    const full = find(cases, { family: 'fused', dtype: 'float32', grad, fraction: 1 });
    const quarter = find(cases, { family: 'fused', dtype: 'float32', grad, fraction: 0.25 });
    const ratio = full && quarter ? quarter.medianMs / full.medianMs : null;
    targets.push({
      name: `25% scored / all scored, float32, grad ${grad}`,
      value: ratio,
      threshold: '<= 0.35',
      pass: ratio === null ? null : ratio <= 0.35,
      detail: ratio === null ? 'not measured' : `${fmt(quarter!.medianMs)} ms / ${fmt(full!.medianMs)} ms = ${ratio.toFixed(3)}`,
    });
  }
  return targets;
}

function copyShare(what: string, c: CaseResult | undefined, copy: CopyBandwidth | undefined): Target {
  const share = c && copy ? effectiveGBs(c) / copy.bestGBs : null;
  return {
    name: `share of copy bandwidth, ${what}`,
    value: share,
    threshold: '>= 50%',
    pass: share === null ? null : share >= 0.5,
    detail: share === null ? 'not measured'
      : `${effectiveGBs(c!).toFixed(2)} GB/s / ${copy!.bestGBs.toFixed(2)} GB/s = ${(share * 100).toFixed(1)}%`,
  };
}

export function formatTable(rows: Row[]): string {
  const header = ['case', 'median ms', 'GB/s', '% copy', '% floor', 'x torch', 'x torch-sel', 'x plain-f32', 'x ref-f64', 'of all-scored'];
  const body = rows.map((r) => [
    r.name + (r.scaled ? ' *' : ''),
    fmt(r.medianMs),
    r.gbs.toFixed(2),
    r.copyFraction === null ? '-' : `${(r.copyFraction * 100).toFixed(1)}%`,
    r.floorFraction === null ? '-' : `${(r.floorFraction * 100).toFixed(1)}%`,
    ratio(r.vsTorch),
    ratio(r.vsTorchSelective),
    ratio(r.vsPlain),
    ratio(r.vsReference),
    r.ofAllScored === null ? '-' : r.ofAllScored.toFixed(3),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]): string =>
    cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

export function formatTargets(targets: Target[]): string {
  return targets
    .map((t) => `  [${t.pass === null ? 'N/A ' : t.pass ? 'PASS' : 'FAIL'}] ${t.name} (target ${t.threshold}): ${t.detail}`)
    .join('\n');
}

function ratio(x: number | null): string {
  return x === null ? '-' : `${x.toFixed(2)}x`;
}

export function fmt(ms: number): string {
  return ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2);
}
