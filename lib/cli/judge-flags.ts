/** The judge flags `ipo eval` and `ipo csr` share, read into lib/eval/setup.ts's JudgeSettings. */
import type { JudgeSettings } from '../eval/setup.js';
import type { Flags } from './flags.js';

export const JUDGE_OPTIONS = {
  judge: { type: 'string' },
  'judge-base-url': { type: 'string' },
  'judge-model': { type: 'string' },
  'judge-api-key': { type: 'string' },
  'judge-format': { type: 'string' },
  'judge-max-tokens': { type: 'string' },
} as const;

export const JUDGE_HELP = `  --judge llm|phrases      phrases = offline refusal-phrase judge (default when no judge endpoint is set)
  --judge-base-url URL     --judge-model NAME   --judge-api-key KEY   (env IPO_JUDGE_BASE_URL, IPO_JUDGE_MODEL, IPO_JUDGE_API_KEY)
  --judge-format F         auto | guard | rubric | json (default auto: guard for *guard* models, else rubric)
  --judge-max-tokens N     default 512`;

export function readJudgeFlags(flags: Flags): JudgeSettings {
  const judge = flags.choice('judge', ['llm', 'phrases'] as const);
  const judgeMaxTokens = flags.int('judge-max-tokens', 1);
  return {
    ...(judge ? { judge } : {}),
    judgeBaseUrl: flags.string('judge-base-url'),
    judgeModel: flags.string('judge-model'),
    judgeApiKey: flags.string('judge-api-key'),
    judgeFormat: flags.choice('judge-format', ['auto', 'guard', 'rubric', 'json'] as const, 'auto'),
    ...(judgeMaxTokens !== undefined ? { judgeMaxTokens } : {}),
  };
}
