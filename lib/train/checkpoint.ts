/**
 * Checkpoints that survive a kill at any instant. Tensors go to `weights-<n>.bin` in TensorFlow.js's
 * weights format (tf.io.encodeWeights: raw little-endian float32 plus a manifest of names, shapes,
 * dtypes); `state.json` names the current weights file and carries everything else (schedule state,
 * optimizer step, metrics lines written). Writing order makes state.json the commit point: new
 * weights file, then state.json via rename, then the old weights file is removed. A kill before the
 * rename leaves the previous checkpoint whole.
 */
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type * as tfjs from '@tensorflow/tfjs';
import type { Tf } from '../tfjs/index.js';
import { writeFileAtomic } from '../run/files.js';

export interface CheckpointFile<M> {
  version: 1;
  weightsFile: string;
  specs: tfjs.io.WeightsManifestEntry[];
  meta: M;
}

export async function saveCheckpoint<M>(tf: Tf, dir: string, serial: number, tensors: Record<string, tfjs.Tensor>, meta: M): Promise<void> {
  const { data, specs } = await tf.io.encodeWeights(tensors);
  const weightsFile = `weights-${serial}.bin`;
  writeFileSync(join(dir, weightsFile), new Uint8Array(data));
  const state: CheckpointFile<M> = { version: 1, weightsFile, specs, meta };
  writeFileAtomic(join(dir, 'state.json'), JSON.stringify(state, null, 1));
  for (const f of readdirSync(dir)) if (/^weights-\d+\.bin$/.test(f) && f !== weightsFile) rmSync(join(dir, f), { force: true });
}

export function hasCheckpoint(dir: string): boolean {
  return existsSync(join(dir, 'state.json'));
}

export function loadCheckpoint<M>(tf: Tf, dir: string): { tensors: Record<string, tfjs.Tensor>; meta: M } {
  const path = join(dir, 'state.json');
  let state: CheckpointFile<M>;
  try {
    state = JSON.parse(readFileSync(path, 'utf8')) as CheckpointFile<M>;
  } catch (err) {
    throw new Error(`cannot read checkpoint ${path}: ${(err as Error).message}`);
  }
  if (state.version !== 1) throw new Error(`${path}: unknown checkpoint version`);
  const bytes = readFileSync(join(dir, state.weightsFile));
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  return { tensors: tf.io.decodeWeights(buffer, state.specs) as Record<string, tfjs.Tensor>, meta: state.meta };
}
