/** `ipo benign`: wires flags to lib/intervene/benign.ts (see docs/intervene.md). */
import { loadPrompts } from '../data/prompts.js';
import { runBenign } from '../intervene/benign.js';
import { openCallCache } from '../intervene/cache.js';
import { policyClient, refusalSource, selectBenignPrompts } from '../intervene/setup.js';
import { SHARED_HELP } from './endpoint-flags.js';
import { asUsage, COMMON_HELP, runCommand } from './flags.js';
import { PAIR_RUN_HELP, PAIR_RUN_OPTIONS, readPairRunFlags, reportPairRun } from './pair-flags.js';

const HELP = `usage: ipo benign --input FILE --output FILE --base-url URL --model NAME
                  (--refusal-base-url URL --refusal-model NAME | --refusals FILE) [options]

Builds stage-2 benign pairs against over-refusal: chosen = the base model's answer to a benign
prompt, rejected = a refusal (from the stage-1 model, or drawn from a file of refusal texts).

  --input FILE              benign prompts (XSTest: the 'safe' rows are taken; JBB benign; your JSONL)
  -o, --output FILE         pairs (same record as ipo intervene, kind "benign"); skipped: FILE.skipped.jsonl
${SHARED_HELP.endpoint}
  --refusal-base-url URL    the refusing model's server(s) (env IPO_REFUSAL_BASE_URL)
  --refusal-model NAME      the refusing model, e.g. the stage-1 checkpoint (env IPO_REFUSAL_MODEL)
  --refusal-api-key KEY     its API key (env IPO_REFUSAL_API_KEY)
  --refusals FILE           instead: refusal texts, one a line ('#' comments)
  --keep-all                keep pairs whose chosen side refuses or whose rejected side does not
${PAIR_RUN_HELP}
                          (default for benign: 'safe' when the input has labels)
${SHARED_HELP.sampling}
${COMMON_HELP.run}
${COMMON_HELP.common}
`;

const OPTIONS = {
  ...PAIR_RUN_OPTIONS,
  'refusal-base-url': { type: 'string' },
  'refusal-model': { type: 'string' },
  'refusal-api-key': { type: 'string' },
  refusals: { type: 'string' },
  'keep-all': { type: 'boolean' },
} as const;

export function run(argv: string[]): Promise<number> {
  return runCommand({ name: 'benign', help: HELP, options: OPTIONS, onInterrupt: () => 'finished prompts are kept: re-run with --resume to continue' }, argv, async (flags) => {
    const s = readPairRunFlags(flags);
    const connection = { timeoutMs: s.timeoutMs, maxRetries: s.maxRetries };
    const refusal = asUsage(() =>
      refusalSource({
        refusalsFile: flags.string('refusals'),
        endpoint: { baseUrl: flags.string('refusal-base-url'), model: flags.string('refusal-model'), apiKey: flags.string('refusal-api-key') },
        mode: s.mode,
        chatTemplate: s.chatTemplate,
        ...connection,
      }),
    );
    const prompts = selectBenignPrompts(loadPrompts(s.input, { label: s.label }), { label: s.label, limit: s.limit });
    const endpoint = { baseUrl: flags.string('base-url'), model: flags.string('model'), apiKey: flags.string('api-key') };
    const policy = asUsage(() => policyClient({ endpoint, mode: s.mode, chatTemplate: s.chatTemplate, ...connection }));
    const summary = await runBenign({
      prompts,
      output: s.output,
      format: s.format,
      chatTemplate: s.chatTemplate,
      resume: s.resume,
      force: s.force,
      policy,
      refusal,
      sampling: s.sampling,
      cache: openCallCache(s.cache),
      concurrency: s.concurrency,
      checkRefusals: !flags.bool('keep-all'),
      progress: s.progress,
    });
    return reportPairRun('benign', summary, s.output);
  });
}
