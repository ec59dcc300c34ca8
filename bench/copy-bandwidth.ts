/**
 * The machine's memory copy bandwidth: a large buffer copied with TypedArray.set (a memmove),
 * on one thread and split across `threads` workers. Bandwidth counts bytes read + bytes written
 * (2 x size / time), the same accounting as the loss's "one read plus one write of the logits".
 * The buffers are filled first so that no page is a shared zero page or faulted in while timed.
 * Also measured, for information: filling a freshly allocated buffer of the same size, which
 * includes the page faults a new gradient buffer pays (expensive in some VMs).
 */
import { Worker } from 'node:worker_threads';
import { Rng } from './inputs.js';
import { collectGarbage, measure, type Timing } from './measure.js';

export interface CopyBandwidth {
  bytes: number;
  threads: number;
  singleThreadGBs: number;
  multiThreadGBs: number;
  bestGBs: number; // the denominator of "fraction of copy bandwidth": the faster of the two
  /** Filling a freshly allocated buffer (page faults + kernel zeroing + the write), bytes written
   * per second: what a gradient written into a new buffer pays on top of the copy. */
  freshWriteGBs: number;
  singleThread: Timing;
  multiThread: Timing;
  freshWrite: Timing;
}

export async function measureCopyBandwidth(bytes: number, threads: number, iterations: number): Promise<CopyBandwidth> {
  const words = Math.floor(bytes / 8 / threads) * threads;
  const size = words * 8;
  const source = new SharedArrayBuffer(size);
  const target = new SharedArrayBuffer(size);
  const from = new Float64Array(source);
  const to = new Float64Array(target);
  const rng = new Rng(7);
  for (let i = 0; i < from.length; i++) from[i] = rng.next();
  to.fill(1);

  const singleThread = await measure('copy 1 thread', () => to.set(from), { iterations, warmup: 1 });

  const perWorker = size / threads;
  const workers = Array.from({ length: threads }, (_, k) =>
    new Worker(new URL('./copy-worker.js', import.meta.url), {
      workerData: { source, target, begin: k * perWorker, end: (k + 1) * perWorker },
    }));
  const copyAll = (): Promise<unknown[]> =>
    Promise.all(workers.map((w) => new Promise((resolve) => {
      w.once('message', resolve);
      w.postMessage('copy');
    })));
  let multiThread: Timing;
  try {
    multiThread = await measure(`copy ${threads} threads`, copyAll, { iterations, warmup: 1 });
  } finally {
    for (const w of workers) await w.terminate();
  }

  const freshWrite = await measure('fresh buffer write', () => { new Float64Array(words).fill(1); }, {
    iterations: Math.max(3, Math.floor(iterations / 2)), warmup: 1, beforeEach: collectGarbage,
  });

  const gbs = (t: Timing): number => (2 * size) / (t.medianMs * 1e6);
  return {
    bytes: size,
    threads,
    singleThreadGBs: gbs(singleThread),
    multiThreadGBs: gbs(multiThread),
    bestGBs: Math.max(gbs(singleThread), gbs(multiThread)),
    freshWriteGBs: size / (freshWrite.medianMs * 1e6),
    singleThread,
    multiThread,
    freshWrite,
  };
}
