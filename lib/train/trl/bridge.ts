/**
 * The metrics bridge: the Python side's `@ipo {json}` events become OUT/metrics.jsonl (the same
 * lines as the TensorFlow.js engine, lib/train/metrics.ts), OUT/chart.svg and progress lines.
 *
 * Resume: the first event, `start {stage, step}`, says where training picks up; metrics lines from
 * that point on (a step line after it, an eval line at or after it) were written by the killed run
 * and are dropped, so the file ends up exactly as an uninterrupted run writes it.
 */
import { writeFileSync } from 'node:fs';
import { renderChart } from '../chart.js';
import { MetricsLog, isEvalLine, type EvalLine, type MetricsLine, type StepLine } from '../metrics.js';
import type { Stage } from '../schedule.js';

export const EVENT_PREFIX = '@ipo ';

export type TrlEvent =
  | { event: 'start'; stage: Stage; step: number; finished: boolean }
  | { event: 'stage'; stage: Stage; steps: number; pairs: number; model: string }
  | { event: 'step'; stage: Stage; step: number; loss: number | null; margin: number | null; accuracy: number | null; lr: number | null }
  | { event: 'eval'; stage: Stage; split: EvalLine['split']; step: number; margin: number; accuracy: number; pairs: number }
  | { event: 'saved'; stage: Stage; path: string }
  | { event: 'info'; message: string }
  | { event: 'error'; message: string };

export function parseEvent(line: string): TrlEvent | null {
  if (!line.startsWith(EVENT_PREFIX)) return null;
  try {
    return JSON.parse(line.slice(EVENT_PREFIX.length)) as TrlEvent;
  } catch {
    return null;
  }
}

const before = (l: MetricsLine, stage: Stage, step: number, inclusive: boolean) =>
  l.stage < stage || (l.stage === stage && (inclusive ? l.step <= step : l.step < step));

/** Keeps the lines an uninterrupted run has written before training resumes at (stage, step). */
export function keepBefore(lines: MetricsLine[], stage: Stage, step: number): MetricsLine[] {
  return lines.filter((l) => before(l, stage, step, !isEvalLine(l)));
}

export interface BridgeOptions {
  metricsPath: string;
  chartPath: string;
  batchSize: number;
  /** Steps and per-step epochs of each stage, from the plan. */
  stages: Map<Stage, { steps: number; epochs: number[] }>;
  log: (line: string) => void;
}

export class MetricsBridge {
  readonly metrics: MetricsLog;
  errors: string[] = [];
  resumedAt: { stage: Stage; step: number } | null = null;

  constructor(private readonly o: BridgeOptions) {
    this.metrics = new MetricsLog(o.metricsPath);
  }

  handle(e: TrlEvent): void {
    const log = this.o.log;
    switch (e.event) {
      case 'start': {
        const kept = keepBefore(this.metrics.read(), e.stage, e.step);
        writeFileSync(this.metrics.path, kept.map((l) => JSON.stringify(l) + '\n').join(''));
        if (e.finished) log('this run is already finished');
        else if (e.stage !== 1 || e.step !== 0) {
          this.resumedAt = { stage: e.stage, step: e.step };
          log(`resuming at stage ${e.stage}, after step ${e.step}`);
        }
        break;
      }
      case 'stage':
        log(`stage ${e.stage}: ${e.steps} steps of ${this.o.batchSize} pairs from ${e.model}`);
        break;
      case 'step': {
        const plan = this.o.stages.get(e.stage);
        const line: StepLine = {
          stage: e.stage,
          step: e.step,
          loss: e.loss ?? NaN,
          margin: e.margin ?? NaN,
          accuracy: e.accuracy ?? NaN,
          lr: e.lr ?? NaN,
          epoch: plan?.epochs[e.step - 1] ?? 1,
          pairs: this.o.batchSize,
        };
        this.metrics.append(line);
        log(progressLine(line, plan?.steps ?? e.step));
        break;
      }
      case 'eval': {
        const line: EvalLine = { stage: e.stage, split: e.split, step: e.step, margin: e.margin, accuracy: e.accuracy, pairs: e.pairs };
        this.metrics.append(line);
        log(`  held-out ${e.split === 'heldout' ? 'harmful' : 'benign'} after stage ${e.stage} step ${e.step}: margin ${signed(e.margin)}  accuracy ${e.accuracy.toFixed(2)}  (${e.pairs} pairs)`);
        this.chart();
        break;
      }
      case 'saved':
        log(`stage ${e.stage} model saved: ${e.path}`);
        break;
      case 'info':
        log(e.message);
        break;
      case 'error':
        this.errors.push(e.message);
        break;
    }
  }

  chart(title = 'ipo train --engine trl: two-stage DPO on the divergent segments'): void {
    writeFileSync(this.o.chartPath, renderChart(this.metrics.read(), title));
  }
}

/** The same progress line as the TensorFlow.js engine's. */
function progressLine(l: StepLine, stageSteps: number): string {
  const width = 20;
  const filled = Math.round((width * l.step) / stageSteps);
  const bar = '█'.repeat(filled) + '░'.repeat(Math.max(0, width - filled));
  const n = String(stageSteps).length;
  return `stage ${l.stage} ${bar} ${String(l.step).padStart(n)}/${stageSteps}  loss ${l.loss.toFixed(4)}  margin ${signed(l.margin)}  acc ${l.accuracy.toFixed(2)}  lr ${l.lr.toExponential(1)}`;
}

function signed(v: number): string {
  const digits = Math.abs(v).toFixed(4);
  return (v < 0 && digits !== '0.0000' ? '-' : '+') + digits;
}
