/**
 * A persistent cache of model calls (rollouts, continuations, detections), so that re-running with
 * another detector, resuming after a crash or widening --rounds does not re-sample what was already
 * sampled. Stored as append-only JSONL `{ key, value }`; the last line for a key wins.
 *
 * Keys are SHA-256 digests of everything that determines the call (model, messages, sampling
 * settings, seed, the unit/round of the sample); see `cacheKey`.
 */
import { createHash } from 'node:crypto';
import { JsonlAppender, readJsonl } from './jsonl.js';

export interface CallCache {
  get<T>(key: string): T | undefined;
  put(key: string, value: unknown): void;
  /** Hits since creation. */
  readonly hits: number;
  close(): void;
}

export function cacheKey(...parts: unknown[]): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}

/** In-memory cache backed by a JSONL file (or memory only when path is undefined). */
export function openCallCache(path: string | undefined): CallCache {
  const map = new Map<string, unknown>();
  let appender: JsonlAppender | undefined;
  if (path) {
    for (const line of readJsonl<{ key: string; value: unknown }>(path)) if (line && typeof line.key === 'string') map.set(line.key, line.value);
    appender = new JsonlAppender(path);
  }
  let hits = 0;
  return {
    get<T>(key: string) {
      const v = map.get(key) as T | undefined;
      if (v !== undefined) hits++;
      return v;
    },
    put(key, value) {
      map.set(key, value);
      appender?.append({ key, value });
    },
    get hits() {
      return hits;
    },
    close() {
      appender?.close();
    },
  };
}

/** A 32-bit FNV-1a hash, for deriving per-request seeds and trigger choices from ids. */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** mulberry32: a small deterministic PRNG in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
