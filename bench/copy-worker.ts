/**
 * Worker for the multi-threaded copy-bandwidth measurement: copies its slice of a shared source
 * buffer into the shared destination each time the main thread says so.
 */
import { parentPort, workerData } from 'node:worker_threads';

interface CopySlice {
  source: SharedArrayBuffer;
  target: SharedArrayBuffer;
  begin: number; // byte offsets, multiples of 8
  end: number;
}

const { source, target, begin, end } = workerData as CopySlice;
const from = new Float64Array(source, begin, (end - begin) / 8);
const to = new Float64Array(target, begin, (end - begin) / 8);
parentPort!.on('message', (message: string) => {
  if (message === 'copy') {
    to.set(from);
    parentPort!.postMessage('done');
  } else if (message === 'exit') {
    parentPort!.close();
  }
});
