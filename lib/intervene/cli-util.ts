/** Small flag checks shared by `ipo intervene` and `ipo benign` (the CLI holds no other logic). */

export class UsageError extends Error {
  override name = 'UsageError';
}

export function intFlag(value: string | undefined, name: string, min: number, fallback?: number): number | undefined {
  if (value === undefined) return fallback;
  if (!/^-?\d+$/.test(value.trim())) throw new UsageError(`--${name} must be an integer, got '${value}'`);
  const n = Number(value);
  if (n < min) throw new UsageError(`--${name} must be at least ${min}, got ${n}`);
  return n;
}

export function numberFlag(value: string | undefined, name: string, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < min || n > max) throw new UsageError(`--${name} must be a number in [${min}, ${max}], got '${value}'`);
  return n;
}

export function choiceFlag<T extends string>(value: string | undefined, name: string, choices: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!(choices as readonly string[]).includes(value)) throw new UsageError(`--${name} must be one of ${choices.join(', ')}, got '${value}'`);
  return value as T;
}

/** A one-line reason for a parseArgs error (unknown option, missing value). */
export function parseArgsMessage(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.split('\n')[0];
}

/** The flags `ipo intervene` and `ipo benign` share (node:util parseArgs options). */
export const SHARED_RUN_OPTIONS = {
  input: { type: 'string' },
  output: { type: 'string' },
  'base-url': { type: 'string' },
  model: { type: 'string' },
  'api-key': { type: 'string' },
  mode: { type: 'string' },
  'chat-template': { type: 'string' },
  format: { type: 'string' },
  resume: { type: 'boolean' },
  force: { type: 'boolean' },
  limit: { type: 'string' },
  seed: { type: 'string' },
  concurrency: { type: 'string' },
  temperature: { type: 'string' },
  'top-p': { type: 'string' },
  'max-tokens': { type: 'string' },
  timeout: { type: 'string' },
  'max-retries': { type: 'string' },
  cache: { type: 'string' },
  label: { type: 'string' },
  quiet: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;
