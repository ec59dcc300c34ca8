/**
 * One tinybench 6 run per case, so each case can allocate its buffers just before it runs and
 * release them right after (the full shape holds a 1 GB logits array). tinybench 6 nests the
 * statistics under `latency` (ms) and `throughput` (ops/s); we keep the latency median.
 */
import { Bench } from 'tinybench';

export interface Timing {
  medianMs: number;
  meanMs: number;
  minMs: number;
  samples: number;
}

export interface MeasureOptions {
  iterations: number;
  warmup: number; // warm-up iterations (not timed); 0 for none
  beforeEach?: () => void; // runs before every iteration, outside the timed region
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
  bench.add(name, async () => { await fn(); }, options.beforeEach ? { beforeEach: options.beforeEach } : {});
  await bench.run();
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

/** Releases the buffers of the previous case now, not whenever V8 feels like it. */
export function collectGarbage(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) gc();
}
