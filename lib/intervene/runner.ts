/**
 * `ipo intervene` as a library call: Algorithm 1 over many prompts with bounded concurrency,
 * resumable output, a call cache, a progress bar and a summary.
 *
 * A prompt whose model calls fail after all retries (or whose detector never gives a valid answer)
 * is reported as failed and written nowhere, so that --resume tries it again; a prompt without a
 * compliance cue is written to the skipped file and is finished.
 */
import { probeEndpoints } from '../model/probe.js';
import type { PromptRow } from '../data/prompts.js';
import { formatError } from '../run/errors.js';
import { ProgressBar } from '../run/progress.js';
import { runPool } from '../run/pool.js';
import { type InterveneSettings, interveneUnit, isPair, traceWithCue, unitsFor } from './algorithm.js';
import { openPairStore, type StoreOptions } from './store.js';

export interface InterveneRunOptions extends StoreOptions {
  prompts: PromptRow[];
  settings: InterveneSettings;
  allTriggers: boolean;
  concurrency: number;
  /** Where progress goes; null for none. Default process.stderr. */
  progress?: (NodeJS.WritableStream & { isTTY?: boolean }) | null;
}

export interface RunSummary {
  prompts: number;
  /** Prompts all of whose units were finished before this run (--resume). */
  alreadyDone: number;
  /** Pairs written in this run. */
  pairs: number;
  /** Units skipped in this run (no cue, still unsafe after N rounds, truncated). */
  skipped: number;
  /** Prompts that failed in this run (errors after retries); --resume retries them. */
  failed: number;
  failures: Array<{ id: string; error: string }>;
  /** Skip reasons and how often each occurred in this run. */
  skipReasons: Record<string, number>;
  seconds: number;
  output: string;
  skippedFile: string;
}

/** A summary with nothing done yet in this run. */
export function startSummary(prompts: number, pending: number, output: string, skippedFile: string): RunSummary {
  return { prompts, alreadyDone: prompts - pending, pairs: 0, skipped: 0, failed: 0, failures: [], skipReasons: {}, seconds: 0, output, skippedFile };
}

export async function runIntervene(options: InterveneRunOptions): Promise<RunSummary> {
  await probeEndpoints({ policy: options.settings.policy, judge: options.settings.detector });
  const started = Date.now();
  const store = openPairStore(options);
  const units = unitsFor(options.settings.triggers.length, options.allTriggers);
  const pending = options.prompts.filter((p) => units.some((u) => !store.isDone(p.id, u)));
  const summary = startSummary(options.prompts.length, pending.length, options.output, store.skippedPath);
  const bar = options.progress === null ? undefined : new ProgressBar('intervene', pending.length, options.progress ?? process.stderr);
  const counts = () => ({ pairs: summary.pairs, skipped: summary.skipped, failed: summary.failed });
  const skip = (id: string, unit: string, reason: string) => {
    store.writeSkipped({ id, unit, reason });
    summary.skipped++;
    const general = reason.replace(/^round \d+: /, '');
    summary.skipReasons[general] = (summary.skipReasons[general] ?? 0) + 1;
  };
  try {
    await runPool(pending, options.concurrency, async (prompt) => {
      try {
        const outcome = await traceWithCue(options.settings, prompt);
        if (outcome.kind === 'skip') skip(prompt.id, '*', outcome.reason);
        else {
          for (const unit of units) {
            if (store.isDone(prompt.id, unit)) continue;
            const result = await interveneUnit(options.settings, prompt, outcome, unit);
            if (isPair(result)) {
              store.writePair(result);
              summary.pairs++;
            } else skip(result.id, result.unit, result.reason);
          }
        }
      } catch (err) {
        summary.failed++;
        const error = formatError(err);
        summary.failures.push({ id: prompt.id, error });
        bar?.note(`intervene: prompt ${prompt.id} failed: ${error}`);
      }
      bar?.tick(counts());
    });
  } finally {
    store.close();
    options.settings.cache.close();
  }
  bar?.done(counts());
  summary.seconds = (Date.now() - started) / 1000;
  return summary;
}
