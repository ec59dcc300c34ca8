/** Small flag checks shared by `ipo intervene` and `ipo benign` (the CLI holds no other logic). */
import { loadChatTemplate, type ChatTemplate } from '../model/chat-template.js';
import { DEFAULT_TEMPERATURE, DEFAULT_TOP_P } from '../model/client.js';

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

/** The settings `ipo intervene` and `ipo benign` parse the same way from SHARED_RUN_OPTIONS. */
export interface SharedRunSettings {
  format: 'ipo' | 'trl';
  concurrency: number;
  limit?: number;
  seed?: number;
  maxTokens?: number;
  maxRetries: number;
  timeoutMs: number;
  temperature: number;
  topP: number;
  chatTemplate?: ChatTemplate;
  mode: 'completions' | 'chat';
}

/** Checks and converts the shared flags; throws UsageError with a one-line reason. */
export function parseSharedRunFlags(str: (name: string) => string | undefined, flags: { resume?: unknown; force?: unknown }): SharedRunSettings {
  if (!str('input')) throw new UsageError('--input is required');
  if (!str('output')) throw new UsageError('--output is required');
  if (flags.resume && flags.force) throw new UsageError('--resume and --force exclude each other');
  const format = choiceFlag(str('format'), 'format', ['ipo', 'trl'] as const, 'ipo');
  const chatTemplate = str('chat-template') ? loadChatTemplate(str('chat-template')!) : undefined;
  const mode = choiceFlag(str('mode'), 'mode', ['completions', 'chat'] as const, chatTemplate ? 'completions' : 'chat');
  if (mode === 'completions' && !chatTemplate) throw new UsageError('--mode completions needs --chat-template');
  if (format === 'trl' && !chatTemplate) throw new UsageError('--format trl needs --chat-template');
  return {
    format,
    concurrency: intFlag(str('concurrency'), 'concurrency', 1, 8)!,
    limit: intFlag(str('limit'), 'limit', 0),
    seed: intFlag(str('seed'), 'seed', 0),
    maxTokens: intFlag(str('max-tokens'), 'max-tokens', 1),
    maxRetries: intFlag(str('max-retries'), 'max-retries', 0, 4)!,
    timeoutMs: numberFlag(str('timeout'), 'timeout', 0.001, 86_400, 600) * 1000,
    temperature: numberFlag(str('temperature'), 'temperature', 0, 5, DEFAULT_TEMPERATURE),
    topP: numberFlag(str('top-p'), 'top-p', 0, 1, DEFAULT_TOP_P),
    ...(chatTemplate ? { chatTemplate } : {}),
    mode,
  };
}
