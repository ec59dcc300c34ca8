/**
 * A persistent cache of model calls (rollouts, continuations, detections), so that re-running with
 * another detector, resuming after a crash or widening --rounds does not re-sample what was already
 * sampled. Stored through lib/run/jsonl.ts as `{ key, value }` lines; the last line for a key wins.
 * Keys come from `cacheKey` (lib/run/hash.ts) over everything that determines the call.
 */
import { KeyedJsonl } from '../run/jsonl.js';

export interface CallCache {
  get<T>(key: string): T | undefined;
  put(key: string, value: unknown): void;
  /** Hits since creation. */
  readonly hits: number;
  close(): void;
}

/** In-memory cache backed by a JSONL file (or memory only when path is undefined). */
export function openCallCache(path: string | undefined): CallCache {
  const memory = new Map<string, unknown>();
  const file = path ? new KeyedJsonl<{ key: string; value: unknown }>(path) : undefined;
  let hits = 0;
  return {
    get<T>(key: string) {
      const v = (file ? file.get(key)?.value : memory.get(key)) as T | undefined;
      if (v !== undefined) hits++;
      return v;
    },
    put(key, value) {
      if (file) file.put({ key, value });
      else memory.set(key, value);
    },
    get hits() {
      return hits;
    },
    close() {
      file?.close();
    },
  };
}
