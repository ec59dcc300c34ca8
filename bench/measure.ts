/**
 * One tinybench 6 run per case, so each case can allocate its buffers just before it runs and
 * release them right after (the full shape holds a 1 GB logits array). tinybench 6 nests the
 * statistics under `latency` (ms) and `throughput` (ops/s); we keep the latency median.
 */
import { Bench } from 'tinybench';
import { startProgress } from './progress.js';

export interface Timing {
  medianMs: number;
  meanMs: number;
  minMs: number;
  samples: number;
}

export interface MeasureOptions {
  iterations: number;
  warmup: number; // warm-up iterations (not timed); 0 for none
  beforeEach?: () => void | Promise<void>; // runs before every iteration, outside the timed region
  quiet?: boolean; // no progress line (cases of many very short calls)
}

export async function measure(name: string, fn: () => unknown, options: MeasureOptions): Promise<Timing> {
  const bench = new Bench({
    name,
    iterations: options.iterations,
    time: 0,
    warmup: options.warmup > 0,
    warmupIterations: options.warmup,
    warmupTime: 0,
    throws: true,
  });
  // An async task function (awaiting fn, which may itself be async): tinybench then knows it is async without calling it once to find
  // out, which would run an extra, untimed, un-prepared iteration.
  const progress = options.quiet ? undefined : startProgress(name, options.iterations + options.warmup);
  let calls = 0;
  const beforeEach = async (): Promise<void> => {
    if (calls++ > 0) progress?.tick(); // the previous call has finished
    await options.beforeEach?.();
    guardMemory(name);
  };
  bench.add(name, async () => { await fn(); }, { beforeEach });
  try {
    await bench.run();
  } finally {
    progress?.done();
  }
  const result = bench.tasks[0].result;
  if (result.state !== 'completed') {
    const error = 'error' in result ? (result.error as Error) : undefined;
    throw new Error(`benchmark case ${name} did not complete (${result.state})${error ? `: ${error.message}` : ''}`);
  }
  return {
    medianMs: result.latency.p50,
    meanMs: result.latency.mean,
    minMs: result.latency.min,
    samples: result.latency.samplesCount,
  };
}

/** The benchmark shares its machine: stop rather than grow past this (a leak in the code under test). */
export const MEMORY_BUDGET_BYTES = 8 * 2 ** 30;

export function guardMemory(caseName: string): void {
  const rss = process.memoryUsage.rss();
  if (rss > MEMORY_BUDGET_BYTES) {
    throw new Error(`benchmark case ${caseName}: resident memory ${(rss / 2 ** 30).toFixed(1)} GiB exceeds the ` +
      `${MEMORY_BUDGET_BYTES / 2 ** 30} GiB budget (memory not released between calls?)`);
  }
}

/**
 * Collects the previous call's arrays and lets the event loop turn a few times, as a training loop
 * that awaits anything does: a native gradient buffer goes back to ipo-node's cache only when its
 * finalizer runs, which Node queues on the event loop after the garbage collection.
 */
export async function releaseGarbage(): Promise<void> {
  for (let i = 0; i < 3; i++) {
    collectGarbage();
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** Releases the buffers of the previous case now, not whenever V8 feels like it. */
export function collectGarbage(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) gc();
}
