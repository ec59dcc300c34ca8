/** The flags `ipo intervene` and `ipo benign` share beyond the common ones: input, pair output, mode. */
import { loadChatTemplate, type ChatTemplate } from '../model/chat-template.js';
import { continuationMode } from '../intervene/setup.js';
import { ENDPOINT_OPTIONS, readConnection, readSampling, SAMPLING_OPTIONS, type Connection, type Sampling } from './endpoint-flags.js';
import { asUsage, COMMON_OPTIONS, type Flags, OUTPUT_OPTION, RUN_OPTIONS, UsageError } from './flags.js';

export const PAIR_RUN_OPTIONS = {
  ...COMMON_OPTIONS,
  ...OUTPUT_OPTION,
  ...ENDPOINT_OPTIONS,
  ...SAMPLING_OPTIONS,
  ...RUN_OPTIONS,
  input: { type: 'string' },
  mode: { type: 'string' },
  'chat-template': { type: 'string' },
  format: { type: 'string' },
  resume: { type: 'boolean' },
  force: { type: 'boolean' },
  cache: { type: 'string' },
  label: { type: 'string' },
} as const;

export const PAIR_RUN_HELP = `  --mode MODE             completions (render --chat-template, call /completions) | chat (vLLM
                          continue_final_message); default completions with --chat-template, else chat
  --chat-template FILE    the model's tokenizer_config.json or a .jinja file
  --format ipo|trl        ipo records (default) or TRL rows {prompt, chosen, rejected}
  --resume                continue an interrupted run (skips finished ids)
  --force                 overwrite an existing output instead of refusing
  --cache FILE            model-call cache (default OUTPUT.cache.jsonl)
  --label VALUE           keep only input rows whose label column equals VALUE`;

export interface PairRunSettings extends Connection {
  input: string;
  output: string;
  format: 'ipo' | 'trl';
  resume: boolean;
  force: boolean;
  cache: string;
  label?: string;
  concurrency: number;
  limit?: number;
  sampling: Sampling;
  chatTemplate?: ChatTemplate;
  mode: 'completions' | 'chat';
  progress: NodeJS.WritableStream | null;
}

export function readPairRunFlags(flags: Flags): PairRunSettings {
  const input = flags.required('input');
  const output = flags.required('output');
  const resume = flags.bool('resume');
  const force = flags.bool('force');
  if (resume && force) throw new UsageError('--resume and --force exclude each other');
  const format = flags.choice('format', ['ipo', 'trl'] as const, 'ipo');
  const requestedMode = flags.choice('mode', ['completions', 'chat'] as const);
  const templatePath = flags.string('chat-template');
  const chatTemplate = templatePath ? loadChatTemplate(templatePath) : undefined;
  const mode = asUsage(() => continuationMode(requestedMode, chatTemplate));
  if (format === 'trl' && !chatTemplate) throw new UsageError('--format trl needs --chat-template');
  const label = flags.string('label');
  const limit = flags.limit();
  return {
    input,
    output,
    format,
    resume,
    force,
    cache: flags.string('cache') ?? `${output}.cache.jsonl`,
    ...(label !== undefined ? { label } : {}),
    concurrency: flags.concurrency(),
    ...(limit !== undefined ? { limit } : {}),
    sampling: readSampling(flags),
    ...readConnection(flags),
    ...(chatTemplate ? { chatTemplate } : {}),
    mode,
    progress: flags.quiet() ? null : process.stderr,
  };
}

/** The closing lines of a pair-building run: the summary as JSON on stdout, one line on stderr. */
export function reportPairRun(command: string, summary: { pairs: number; skipped: number; failed: number; alreadyDone: number; prompts: number; seconds: number }, output: string): number {
  process.stdout.write(JSON.stringify(summary) + '\n');
  process.stderr.write(
    `${command}: ${summary.pairs} pairs, ${summary.skipped} skipped, ${summary.failed} failed, ${summary.alreadyDone} already done ` +
      `(${summary.prompts} prompts, ${summary.seconds.toFixed(1)} s) -> ${output}\n`,
  );
  if (!summary.failed) return 0;
  process.stderr.write(`ipo ${command}: ${summary.failed} prompt(s) failed; rerun with --resume to retry them\n`);
  return 1;
}
