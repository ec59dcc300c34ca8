/**
 * Which failures of a model server are worth another try, and how long to wait before it.
 *
 * Retried: connection errors and timeouts, 408, 409, 429, every 5xx, and a 200 whose body is not a
 * usable completion (a proxy cutting the body short). Not retried: other 4xx (bad request, auth, not
 * found), which would fail the same way again.
 *
 * Delay before retry a (0-based): min(maxMs, baseMs * 2^a) * (0.5 + 0.5 * u), u uniform in [0, 1)
 * ("equal jitter"), unless the server sent `retry-after-ms` / `retry-after` (seconds or an HTTP date),
 * which is honoured up to 60 s.
 */
import { APIConnectionError, APIError } from 'openai';

export class MalformedResponseError extends Error {
  override name = 'MalformedResponseError';
}

export function isRetryable(err: unknown): boolean {
  if (err instanceof MalformedResponseError) return true;
  if (err instanceof SyntaxError) return true; // a 200 with a body that is not JSON
  if (err instanceof APIConnectionError) return true; // includes APIConnectionTimeoutError
  if (err instanceof APIError) {
    const s = err.status;
    if (s === undefined) return true;
    return s === 408 || s === 409 || s === 429 || s >= 500;
  }
  return false;
}

export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = {
  baseMs: Number(process.env.IPO_RETRY_BASE_MS ?? 500),
  maxMs: Number(process.env.IPO_RETRY_MAX_MS ?? 20_000),
};

export function retryDelayMs(attempt: number, err: unknown, opts: BackoffOptions = DEFAULT_BACKOFF, random = Math.random): number {
  const hinted = retryAfterMs(err);
  if (hinted !== undefined) return Math.min(hinted, 60_000);
  const ceiling = Math.min(opts.maxMs, opts.baseMs * 2 ** attempt);
  return ceiling * (0.5 + 0.5 * random());
}

function retryAfterMs(err: unknown): number | undefined {
  if (!(err instanceof APIError) || !err.headers) return undefined;
  const ms = err.headers.get('retry-after-ms');
  if (ms && Number.isFinite(Number(ms))) return Math.max(0, Number(ms));
  const after = err.headers.get('retry-after');
  if (!after) return undefined;
  if (Number.isFinite(Number(after))) return Math.max(0, Number(after) * 1000);
  const date = Date.parse(after);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/** A short description of a failure for logs and skip reasons (never includes request headers). */
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
