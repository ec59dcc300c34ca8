/** `ipo intervene`: wires flags to lib/intervene (see docs/intervene.md). */
import { loadPrompts } from '../data/prompts.js';
import { openCallCache } from '../intervene/cache.js';
import { runIntervene } from '../intervene/runner.js';
import { createDetector, DETECTOR_KINDS, policyClient, selectPrompts } from '../intervene/setup.js';
import { DEFAULT_TRIGGERS_FILE, loadTriggers } from '../intervene/triggers.js';
import { SHARED_HELP } from './endpoint-flags.js';
import { asUsage, COMMON_HELP, runCommand } from './flags.js';
import { PAIR_RUN_HELP, PAIR_RUN_OPTIONS, readPairRunFlags, reportPairRun } from './pair-flags.js';

const HELP = `usage: ipo intervene --input FILE --output FILE --base-url URL --model NAME [options]

Builds IPO preference pairs (Algorithm 1): sample a trace, find the first compliance cue, splice in a
safety trigger, let the model continue, keep the pair once the continuation is safe.

  --input FILE            prompts: JSONL (id + prompt or messages, optional response trace) or a
                          shipped CSV/JSON benchmark file (STAR-1, JailbreakBench, StrongREJECT, ...)
  -o, --output FILE       pairs, one JSON object a line; skipped prompts go to FILE.skipped.jsonl
${SHARED_HELP.endpoint}
  --judge-base-url URL    judge server(s) (env IPO_JUDGE_BASE_URL)
  --judge-model NAME      judge model (env IPO_JUDGE_MODEL)
  --judge-api-key KEY     judge API key (env IPO_JUDGE_API_KEY)
  --detector KIND         judge (default) | self (the policy judges its own trace) | lexical (offline)
  --triggers FILE         safety triggers, one a line, '#' comments (default: the shipped six)
  --rounds N              rounds of Algorithm 1 per trigger (default 1)
  --all-triggers          run once per trigger instead of drawing one trigger
  --ignore-responses      sample a fresh trace even where the input row carries one
${PAIR_RUN_HELP}
${SHARED_HELP.sampling}
${COMMON_HELP.run}
${COMMON_HELP.common}
`;

const OPTIONS = {
  ...PAIR_RUN_OPTIONS,
  'judge-base-url': { type: 'string' },
  'judge-model': { type: 'string' },
  'judge-api-key': { type: 'string' },
  detector: { type: 'string' },
  triggers: { type: 'string' },
  rounds: { type: 'string' },
  'all-triggers': { type: 'boolean' },
  'ignore-responses': { type: 'boolean' },
} as const;

export function run(argv: string[]): Promise<number> {
  return runCommand({ name: 'intervene', help: HELP, options: OPTIONS, onInterrupt: () => 'finished prompts are kept: re-run with --resume to continue' }, argv, async (flags) => {
    const s = readPairRunFlags(flags);
    const detectorKind = flags.choice('detector', DETECTOR_KINDS, 'judge');
    const rounds = flags.int('rounds', 1, 1);
    const triggers = loadTriggers(flags.string('triggers') ?? DEFAULT_TRIGGERS_FILE);
    const prompts = selectPrompts(loadPrompts(s.input, { label: s.label }), { ignoreResponses: flags.bool('ignore-responses'), limit: s.limit });
    const policySettings = {
      endpoint: { baseUrl: flags.string('base-url'), model: flags.string('model'), apiKey: flags.string('api-key') },
      mode: s.mode,
      chatTemplate: s.chatTemplate,
      timeoutMs: s.timeoutMs,
      maxRetries: s.maxRetries,
    };
    const policy = asUsage(() => policyClient(policySettings));
    const judge = { baseUrl: flags.string('judge-base-url'), model: flags.string('judge-model'), apiKey: flags.string('judge-api-key') };
    const detector = asUsage(() => createDetector(detectorKind, { policy: policySettings, judge, timeoutMs: s.timeoutMs, maxRetries: s.maxRetries }));
    const summary = await runIntervene({
      prompts,
      output: s.output,
      format: s.format,
      resume: s.resume,
      force: s.force,
      chatTemplate: s.chatTemplate,
      allTriggers: flags.bool('all-triggers'),
      concurrency: s.concurrency,
      progress: s.progress,
      settings: { policy, detector, triggers, rounds, sampling: s.sampling, cache: openCallCache(s.cache) },
    });
    return reportPairRun('intervene', summary, s.output);
  });
}
