/**
 * OUT/metrics.jsonl: one JSON object a line, appended and flushed as each is known (a crash loses at
 * most the step in flight). Line kinds:
 *   step:  { stage, step, loss, margin, accuracy, lr, epoch, pairs }
 *   eval:  { stage, split: "heldout" | "heldout-benign", step, margin, accuracy, pairs }
 * `margin` is the mean over pairs of beta * ((pi_c - ref_c) - (pi_r - ref_r)); `accuracy` the share
 * of pairs whose margin is > 0.
 */
import { appendFileSync, writeFileSync } from 'node:fs';
import { readJsonl } from '../run/jsonl.js';

export interface StepLine {
  stage: 1 | 2;
  step: number;
  loss: number;
  margin: number;
  accuracy: number;
  lr: number;
  epoch: number;
  pairs: number;
}

export interface EvalLine {
  stage: 1 | 2;
  split: 'heldout' | 'heldout-benign';
  step: number;
  margin: number;
  accuracy: number;
  pairs: number;
}

export type MetricsLine = StepLine | EvalLine;

export const isEvalLine = (l: MetricsLine): l is EvalLine => 'split' in l;

export class MetricsLog {
  constructor(readonly path: string) {}

  /** Lines written so far (a torn last line from a crash is not counted). */
  read(): MetricsLine[] {
    return readJsonl<MetricsLine>(this.path);
  }

  /** Keeps the first `count` lines (dropping what was written after the last checkpoint). */
  truncate(count: number): void {
    const keep = this.read().slice(0, count);
    writeFileSync(this.path, keep.map((l) => JSON.stringify(l) + '\n').join(''));
  }

  append(line: MetricsLine): void {
    appendFileSync(this.path, JSON.stringify(line) + '\n');
  }
}
