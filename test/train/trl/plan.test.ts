/**
 * The Node half of the TRL engine, without Python: the rows it hands TRL follow the two-stage
 * schedule pair for pair, the resume rule of the metrics bridge, and the launch command lines.
 */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { readPairs } from '../../../lib/pairs/record.js';
import { createPairTokenizer } from '../../../lib/data/tokenize.js';
import { defaultTokenizerDir, loadTokenizer } from '../../../lib/data/tokenizer.js';
import { defaultDataDir, isHeldOut } from '../../../lib/train/run.js';
import { TwoStageSchedule } from '../../../lib/train/schedule.js';
import { planStages, toRow } from '../../../lib/train/trl/plan.js';
import { keepBefore } from '../../../lib/train/trl/bridge.js';
import { launchCommand } from '../../../lib/train/trl/python.js';
import type { MetricsLine } from '../../../lib/train/metrics.js';

const base = { tokenizerDir: defaultTokenizerDir(), seed: 3, epochs: 2, batchSize: 8, microBatch: 4, learningRate: 1e-5, warmupRatio: 0.1, mixRatio: 0.5, sftWeight: 0.2, maxLength: 256, heldoutShare: 0.2 };

describe('planStages', () => {
  it('writes the schedule of lib/train/schedule.ts, step by step, as TRL rows', async () => {
    const plan = await planStages(base);
    // The independent path: tokenize and schedule here, then compare.
    const tok = loadTokenizer(base.tokenizerDir);
    const pt = createPairTokenizer(tok, tok.template!, { maxLength: base.maxLength });
    const read = (f: string, kind: string) => readPairs(join(defaultDataDir(), f)).filter((p) => p.kind === kind);
    const harmful = read('harmful.jsonl', 'intervened').filter((p) => !isHeldOut(p.id, 0.2)).map((p) => pt.tokenize(p));
    const benign = read('benign.jsonl', 'benign').filter((p) => !isHeldOut(p.id, 0.2)).map((p) => pt.tokenize(p));
    const schedule = new TwoStageSchedule(harmful, benign, { ...base });
    const expected: Record<number, string[]> = { 1: [], 2: [] };
    for await (const step of schedule.steps()) for (const m of step.microBatches) expected[step.stage].push(...m.map((p) => JSON.stringify(toRow(p))));

    expect(plan.stages.map((s) => s.stage)).toEqual([1, 2]);
    for (const s of plan.stages) {
      expect(s.steps).toBe(schedule.stageSteps(s.stage));
      expect(s.rows).toHaveLength(s.steps * base.batchSize);
      expect(s.warmupSteps).toBe(Math.ceil(0.1 * s.steps));
      expect(s.sftWeight).toBe(s.stage === 1 ? 0 : 0.2);
      const stream = expected[s.stage];
      // The schedule's stream first, then (short last steps of an epoch) its beginning again.
      expect(s.rows.map((r) => JSON.stringify(r))).toEqual(Array.from({ length: s.rows.length }, (_, i) => stream[i % stream.length]));
      expect(s.epochs).toEqual(Array.from({ length: s.steps }, (_, i) => (i < schedule.stepsPerEpoch(s.stage) ? 1 : 2)));
    }
    // Stage 2 mixes: its first epoch holds every benign pair and round(0.5 x benign) harmful ones.
    const firstEpoch2 = expected[2].slice(0, schedule.poolSize(2));
    const benignRows = new Set(benign.map((p) => JSON.stringify(toRow(p))));
    expect(firstEpoch2.filter((r) => benignRows.has(r)).length).toBe(benign.length);
    expect(firstEpoch2.length - benign.length).toBe(Math.round(0.5 * benign.length));
    expect(plan.heldout.harmful.length + harmful.length).toBe(100);
  });

  it('--max-steps caps each stage', async () => {
    const plan = await planStages({ ...base, maxSteps: 3 });
    expect(plan.stages.map((s) => [s.steps, s.rows.length, s.warmupSteps])).toEqual([
      [3, 24, 1],
      [3, 24, 1],
    ]);
  });
});

describe('metrics bridge resume rule', () => {
  const step = (stage: 1 | 2, s: number): MetricsLine => ({ stage, step: s, loss: 1, margin: 0, accuracy: 0, lr: 0, epoch: 1, pairs: 2 });
  const ev = (stage: 1 | 2, s: number): MetricsLine => ({ stage, split: 'heldout', step: s, margin: 0, accuracy: 0, pairs: 5 });
  const lines = [ev(1, 0), step(1, 1), step(1, 2), ev(1, 2), step(2, 1), step(2, 2)];
  const key = (ls: MetricsLine[]) => ls.map((l) => `${'split' in l ? 'e' : 's'}${l.stage}:${l.step}`);
  it('keeps what an uninterrupted run wrote before the resume point', () => {
    expect(key(keepBefore(lines, 1, 0))).toEqual([]);
    expect(key(keepBefore(lines, 1, 1))).toEqual(['e1:0', 's1:1']);
    // Resumed at the last step of stage 1: its eval is re-done, so the old one goes.
    expect(key(keepBefore(lines, 1, 2))).toEqual(['e1:0', 's1:1', 's1:2']);
    expect(key(keepBefore(lines, 2, 0))).toEqual(['e1:0', 's1:1', 's1:2', 'e1:2']);
    expect(key(keepBefore(lines, 2, 1))).toEqual(['e1:0', 's1:1', 's1:2', 'e1:2', 's2:1']);
  });
});

describe('launch command', () => {
  const o = { python: '/v/bin/python', configPath: '/o/trl/config.json' };
  it('one process, accelerate on N processes, with a config file, with DeepSpeed', () => {
    expect(launchCommand({ ...o, launcher: 'python', numProcesses: 1 })).toEqual(['/v/bin/python', ['-m', 'ipo_node.trl_train', '/o/trl/config.json']]);
    expect(launchCommand({ ...o, launcher: 'accelerate', numProcesses: 8, mainProcessPort: 29555 })[1]).toEqual([
      '-m', 'accelerate.commands.launch', '--num_processes', '8', '--multi_gpu', '--num_machines', '1', '--main_process_port', '29555', '-m', 'ipo_node.trl_train', '/o/trl/config.json',
    ]);
    expect(launchCommand({ ...o, launcher: 'accelerate', numProcesses: 16, accelerateConfig: 'node0.yaml' })[1].slice(2, 6)).toEqual(['--num_processes', '16', '--config_file', 'node0.yaml']);
    expect(launchCommand({ ...o, launcher: 'accelerate', numProcesses: 8, deepspeedConfig: 'ds.json' })[1].slice(2)).toEqual([
      '--num_processes', '8', '--use_deepspeed', '--deepspeed_config_file', 'ds.json', '-m', 'ipo_node.trl_train', '/o/trl/config.json',
    ]);
  });
});
