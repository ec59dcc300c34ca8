import { describe, expect, it } from 'vitest';
import type { TokenizedPair } from '../../lib/data/tokenize.js';
import { cosineWithWarmup, TwoStageSchedule, type ScheduleState, type TrainingStep } from '../../lib/train/schedule.js';

function makePairs(n: number, kind: 'intervened' | 'benign', prefix: string): TokenizedPair[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `${prefix}${i}`,
    kind,
    context: new Int32Array(3 + (i % 5)),
    chosen: new Int32Array(1 + ((i * 7) % 11)),
    rejected: new Int32Array(2 + ((i * 3) % 4)),
    chosenEnded: true,
    rejectedEnded: true,
    cut: { context: 0, chosen: 0, rejected: 0 },
  }));
}

const harmful = makePairs(23, 'intervened', 'h');
const benign = makePairs(10, 'benign', 'b');

/** What identifies a step: stage, step, lr and the pair ids of every micro-batch. */
const signature = (s: TrainingStep<TokenizedPair[]>) => ({ stage: s.stage, step: s.step, lr: s.lr, sft: s.sftWeight, ids: s.microBatches.map((m) => m.map((p) => p.id)) });

async function collect(schedule: TwoStageSchedule, from?: ScheduleState, limit = Infinity) {
  const steps: TrainingStep<TokenizedPair[]>[] = [];
  for await (const step of schedule.steps(from)) {
    steps.push(step);
    if (steps.length >= limit) break;
  }
  return steps;
}

describe('cosine learning rate with warm-up', () => {
  it('matches hand-computed points (T = 20, warm-up ratio 0.1 -> W = 2)', () => {
    const peak = 1e-5;
    // warm-up peak * (k + 1) / (W + 1): the first step is never at lr 0
    expect(cosineWithWarmup(0, 20, peak, 0.1)).toBeCloseTo(peak / 3, 15);
    expect(cosineWithWarmup(1, 20, peak, 0.1)).toBeCloseTo((2 * peak) / 3, 15);
    expect(cosineWithWarmup(2, 20, peak, 0.1)).toBeCloseTo(peak, 15); // decay starts at the peak
    expect(cosineWithWarmup(11, 20, peak, 0.1)).toBeCloseTo(peak / 2, 15); // halfway through the 18 decay steps: cos(pi/2) = 0
    expect(cosineWithWarmup(19, 20, peak, 0.1)).toBeCloseTo(peak * 0.5 * (1 + Math.cos((Math.PI * 17) / 18)), 15);
    // ceil: T = 15 -> W = ceil(1.5) = 2
    expect(cosineWithWarmup(1, 15, peak, 0.1)).toBeCloseTo((2 * peak) / 3, 15);
  });

  it('the schedule gives each stage its own curve', () => {
    const s = new TwoStageSchedule(harmful, benign, { batchSize: 4, microBatch: 2, epochs: [2, 1], learningRate: 1e-3 });
    // stage 1: 2 epochs x ceil(23 / 4) = 12 steps, W = ceil(1.2) = 2; stage 2: 10 + round(0.5 * 10) = 15 pairs -> 4 steps, W = 1
    expect(s.stageSteps(1)).toBe(12);
    expect(s.stageSteps(2)).toBe(4);
    expect(s.lr(1, 1)).toBeCloseTo(1e-3 / 3, 15);
    expect(s.lr(1, 2)).toBeCloseTo(2e-3 / 3, 15);
    expect(s.lr(1, 3)).toBeCloseTo(1e-3, 15);
    expect(s.lr(2, 1)).toBeCloseTo(5e-4, 15);
    expect(s.lr(2, 2)).toBeCloseTo(1e-3, 15);
    expect(s.lr(2, 3)).toBeCloseTo(1e-3 * 0.5 * (1 + Math.cos(Math.PI / 3)), 15);
  });
});

describe('TwoStageSchedule', () => {
  it('stage 1 visits every harmful pair once per epoch, pure DPO', async () => {
    const s = new TwoStageSchedule(harmful, benign, { batchSize: 4, microBatch: 3, epochs: [2, 1], seed: 11 });
    const steps = (await collect(s)).filter((x) => x.stage === 1);
    expect(steps.length).toBe(12);
    for (const epoch of [1, 2]) {
      const ids = steps.filter((x) => x.epoch === epoch).flatMap((x) => x.microBatches.flat().map((p) => p.id));
      expect(ids.length).toBe(23);
      expect(new Set(ids)).toEqual(new Set(harmful.map((p) => p.id)));
    }
    for (const step of steps) {
      expect(step.sftWeight).toBe(0);
      expect(step.benignPairs).toBe(0);
      expect(step.microBatches.every((m) => m.length <= 3)).toBe(true);
    }
    expect(steps.slice(0, -1).every((x) => x.pairs === 4 || x.step === 6)).toBe(true);
    expect(steps[5].pairs).toBe(3); // 23 = 5 * 4 + 3: the last step of an epoch is short
  });

  it('stage 2 mixes all benign pairs with round(mixRatio * nBenign) distinct harmful ones per epoch, with the SFT term', async () => {
    for (const mixRatio of [0.3, 0.5, 0.7, 2]) {
      const s = new TwoStageSchedule(harmful, benign, { batchSize: 5, microBatch: 5, epochs: [1, 3], mixRatio, seed: 2 });
      const stage2 = (await collect(s)).filter((x) => x.stage === 2);
      const h = Math.round(mixRatio * 10);
      expect(s.harmfulPerStage2Epoch).toBe(h);
      for (const epoch of [1, 2, 3]) {
        const visited = stage2.filter((x) => x.epoch === epoch).flatMap((x) => x.microBatches.flat());
        const benignIds = visited.filter((p) => p.kind === 'benign').map((p) => p.id);
        const harmfulIds = visited.filter((p) => p.kind === 'intervened').map((p) => p.id);
        expect(benignIds.sort()).toEqual(benign.map((p) => p.id).sort());
        expect(harmfulIds.length).toBe(h);
        expect(new Set(harmfulIds).size).toBe(h); // without replacement
      }
      expect(stage2.every((x) => x.sftWeight === 0.2)).toBe(true);
      expect(stage2.reduce((n, x) => n + x.benignPairs, 0)).toBe(30);
    }
  });

  it('is deterministic per seed; another seed gives another order', async () => {
    const opts = { batchSize: 4, microBatch: 2, epochs: 1 as const };
    const a = (await collect(new TwoStageSchedule(harmful, benign, { ...opts, seed: 5 }))).map(signature);
    const b = (await collect(new TwoStageSchedule(harmful, benign, { ...opts, seed: 5 }))).map(signature);
    const c = (await collect(new TwoStageSchedule(harmful, benign, { ...opts, seed: 6 }))).map(signature);
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
  });

  it('resumes exactly from the state saved after any step (JSON round trip)', async () => {
    const options = { batchSize: 4, microBatch: 2, epochs: [2, 2] as [number, number], seed: 99 };
    const full = (await collect(new TwoStageSchedule(harmful, benign, options))).map(signature);
    expect(full.length).toBe(12 + 8);
    for (const k of [1, 5, 6, 7, 11, 12, 13, 16, 19]) {
      const first = await collect(new TwoStageSchedule(harmful, benign, options), undefined, k);
      const saved = JSON.parse(JSON.stringify(first[k - 1].state)) as ScheduleState;
      // A fresh process: a new schedule object, only the saved state carried over.
      const rest = await collect(new TwoStageSchedule(harmful, benign, options), saved);
      expect([...first.map(signature), ...rest.map(signature)]).toEqual(full);
    }
    const all = await collect(new TwoStageSchedule(harmful, benign, options));
    expect(all[all.length - 1].state.finished).toBe(true);
    expect(await collect(new TwoStageSchedule(harmful, benign, options), all[all.length - 1].state)).toEqual([]);
  });

  it('a fixed step count repeats or cuts epochs and still resumes exactly', async () => {
    const options = { batchSize: 4, microBatch: 4, steps: [9, 2] as [number, number], seed: 1 };
    const full = (await collect(new TwoStageSchedule(harmful, benign, options))).map(signature);
    expect(full.filter((x) => x.stage === 1).length).toBe(9);
    expect(full.filter((x) => x.stage === 2).length).toBe(2);
    const first = await collect(new TwoStageSchedule(harmful, benign, options), undefined, 8);
    const rest = await collect(new TwoStageSchedule(harmful, benign, options), first[7].state);
    expect([...first, ...rest].map(signature)).toEqual(full);
  });

  it('calls onStageStart before each stage, flagging a resumed one', async () => {
    const s = new TwoStageSchedule(harmful, benign, { batchSize: 8, microBatch: 8 });
    const calls: string[] = [];
    const hooks = { onStageStart: (info: { stage: number; pairs: TokenizedPair[]; resumed: boolean }) => void calls.push(`${info.stage}:${info.pairs.length}:${info.resumed}`) };
    const steps: TrainingStep<TokenizedPair[]>[] = [];
    for await (const step of s.steps(undefined, hooks)) steps.push(step);
    expect(calls).toEqual(['1:23:false', '2:33:false']);
    calls.length = 0;
    for await (const _ of s.steps(steps[1].state, hooks)) void _;
    expect(calls).toEqual(['1:23:true', '2:33:false']);
  });

  it('refuses a state from other data or settings, and bad options', async () => {
    const s = new TwoStageSchedule(harmful, benign, { batchSize: 4 });
    const other = new TwoStageSchedule(harmful, benign, { batchSize: 5 });
    await expect(collect(s, other.initialState())).rejects.toThrow(/fingerprint/);
    expect(() => new TwoStageSchedule(harmful, benign, { batchSize: 0 })).toThrow(RangeError);
    expect(() => new TwoStageSchedule(harmful, benign, { warmupRatio: 1 })).toThrow(RangeError);
    expect(() => new TwoStageSchedule([], benign)).toThrow(/harmful/);
    expect(() => new TwoStageSchedule(harmful, [], { stage2: true })).toThrow(/benign/);
    expect(new TwoStageSchedule(harmful, []).stages()).toEqual([1]);
  });
});
