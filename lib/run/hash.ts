/**
 * The one non-cryptographic hash: 32-bit FNV-1a over the UTF-8 bytes of a string, for deriving
 * per-request seeds, trigger draws and held-out splits from ids.
 *   h = 0x811c9dc5; for each byte b: h = (h XOR b) * 0x01000193 mod 2^32
 * Cache keys, which must not collide, use SHA-256 instead (below).
 */
import { createHash } from 'node:crypto';

const encoder = new TextEncoder();

export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (const byte of encoder.encode(text)) h = Math.imul(h ^ byte, 0x01000193) >>> 0;
  return h;
}

/** SHA-256 of a string as hex: the key of a cached call or record, where a collision would be a wrong answer. */
export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** A cache key for everything that determines a call (model, messages, sampling settings, seed, unit). */
export function cacheKey(...parts: unknown[]): string {
  return sha256Hex(JSON.stringify(parts));
}
