/**
 * The flags of commands that call a model server, declared once with one name, unit and range:
 *   --base-url URL[,URL], --model NAME, --api-key KEY   (env IPO_BASE_URL, IPO_MODEL, IPO_API_KEY)
 *   --timeout S      seconds per request, in [0.001, 86400], default 600 (--timeout-ms: deprecated alias)
 *   --max-retries N  integer >= 0, default 4
 *   --temperature T  [0, 2], default 0.6      --top-p P   [0, 1], default 0.95
 *   --max-tokens N   integer >= 1             --seed N    integer >= 0
 */
import { DEFAULT_MAX_RETRIES, DEFAULT_TEMPERATURE, DEFAULT_TIMEOUT_MS, DEFAULT_TOP_P } from '../model/client.js';
import { type Flags, type OptionSpecs, UsageError } from './flags.js';

export const ENDPOINT_OPTIONS = {
  'base-url': { type: 'string' },
  model: { type: 'string' },
  'api-key': { type: 'string' },
  timeout: { type: 'string' },
  'timeout-ms': { type: 'string' },
  'max-retries': { type: 'string' },
} as const satisfies OptionSpecs;

export const SAMPLING_OPTIONS = {
  temperature: { type: 'string' },
  'top-p': { type: 'string' },
  'max-tokens': { type: 'string' },
  seed: { type: 'string' },
} as const satisfies OptionSpecs;

/** The ranges of the shared flags (declared once; help texts quote them). */
export const SHARED_RANGES = {
  temperature: [0, 2],
  topP: [0, 1],
  timeoutSeconds: [0.001, 86_400],
} as const;

/** Help lines for the shared flags, so every command describes them the same way. */
export const SHARED_HELP = {
  endpoint: `  --base-url URL[,URL]    policy server(s), OpenAI-compatible (env IPO_BASE_URL); several = replicas
  --model NAME            policy model (env IPO_MODEL)
  --api-key KEY           policy API key (env IPO_API_KEY); never printed
  --timeout S             seconds per request before it is retried (default ${DEFAULT_TIMEOUT_MS / 1000})
  --max-retries N         retries per request on 429/5xx/timeouts (default ${DEFAULT_MAX_RETRIES})`,
  sampling: `  --temperature T         sampling temperature in [0, 2] (default ${DEFAULT_TEMPERATURE})
  --top-p P               nucleus sampling in [0, 1] (default ${DEFAULT_TOP_P})
  --max-tokens N          token limit per generation
  --seed N                base seed, also sent to the server`,
};

export interface Sampling {
  temperature: number;
  topP: number;
  maxTokens?: number;
  seed?: number;
}

export interface Connection {
  timeoutMs: number;
  maxRetries: number;
}

/** The shared sampling flags (SAMPLING_OPTIONS). */
export function readSampling(flags: Flags): Sampling {
  const maxTokens = flags.int('max-tokens', 1);
  const seed = flags.int('seed', 0);
  return {
    temperature: flags.number('temperature', { min: SHARED_RANGES.temperature[0], max: SHARED_RANGES.temperature[1] }, DEFAULT_TEMPERATURE),
    topP: flags.number('top-p', { min: SHARED_RANGES.topP[0], max: SHARED_RANGES.topP[1] }, DEFAULT_TOP_P),
    ...(maxTokens !== undefined ? { maxTokens } : {}),
    ...(seed !== undefined ? { seed } : {}),
  };
}

/** --timeout (seconds; the deprecated --timeout-ms still read) and --max-retries. */
export function readConnection(flags: Flags): Connection {
  let timeoutMs = flags.number('timeout', { min: SHARED_RANGES.timeoutSeconds[0], max: SHARED_RANGES.timeoutSeconds[1] }, DEFAULT_TIMEOUT_MS / 1000) * 1000;
  if (flags.has('timeout-ms')) {
    if (flags.has('timeout')) throw new UsageError('give --timeout (seconds), not both --timeout and --timeout-ms');
    flags.notice('--timeout-ms is deprecated: use --timeout SECONDS');
    timeoutMs = flags.int('timeout-ms', 1)!;
  }
  return { timeoutMs, maxRetries: flags.int('max-retries', 0, DEFAULT_MAX_RETRIES) };
}
