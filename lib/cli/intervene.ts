/** `ipo intervene`: parses flags and calls lib/intervene (see docs/intervene.md). */
import { parseArgs } from 'node:util';
import { loadPrompts } from '../data/prompts.js';
import { createModelClient, endpointFromEnv } from '../model/client.js';
import { type CueDetector, judgeDetector, lexicalDetector } from '../intervene/detectors.js';
import { DEFAULT_TRIGGERS_FILE, loadTriggers } from '../intervene/triggers.js';
import { openCallCache } from '../intervene/cache.js';
import { runIntervene } from '../intervene/runner.js';
import { UsageError, choiceFlag, intFlag, parseArgsMessage, SHARED_RUN_OPTIONS, parseSharedRunFlags } from '../intervene/cli-util.js';

const HELP = `usage: ipo intervene --input FILE --output FILE --base-url URL --model NAME [options]

Builds IPO preference pairs (Algorithm 1): sample a trace, find the first compliance cue, splice in a
safety trigger, let the model continue, keep the pair once the continuation is safe.

  --input FILE            prompts: JSONL (id + prompt or messages, optional response trace) or a
                          shipped CSV/JSON benchmark file (STAR-1, JailbreakBench, StrongREJECT, ...)
  --output FILE           pairs, one JSON object a line; skipped prompts go to FILE.skipped.jsonl
  --base-url URL[,URL]    policy server(s), OpenAI-compatible (env IPO_BASE_URL); several = replicas
  --model NAME            policy model (env IPO_MODEL); key from --api-key or env IPO_API_KEY
  --judge-base-url URL    judge server(s) (env IPO_JUDGE_BASE_URL)
  --judge-model NAME      judge model (env IPO_JUDGE_MODEL); key from env IPO_JUDGE_API_KEY
  --detector KIND         judge (default) | self (the policy judges its own trace) | lexical (offline)
  --triggers FILE         safety triggers, one a line, '#' comments (default: the shipped six)
  --rounds N              rounds of Algorithm 1 per trigger (default 1)
  --all-triggers          run once per trigger instead of drawing one trigger
  --mode MODE             completions (render --chat-template, call /completions) | chat (vLLM
                          continue_final_message); default completions with --chat-template, else chat
  --chat-template FILE    the model's tokenizer_config.json or a .jinja file
  --concurrency N         prompts in flight (default 8)
  --resume                continue an interrupted run (skips finished ids)
  --force                 overwrite an existing output instead of refusing
  --limit N               only the first N prompts of the input
  --seed N                seed for trigger draws, also sent to the server
  --format ipo|trl        ipo records (default) or TRL rows {prompt, chosen, rejected}
  --temperature T         sampling temperature (default 0.6)
  --top-p P               nucleus sampling (default 0.95)
  --max-tokens N          token limit per generation (server default if unset)
  --timeout S             seconds per request before it is retried (default 600)
  --max-retries N         retries per request on 429/5xx/timeouts (default 4)
  --cache FILE            model-call cache (default OUTPUT.cache.jsonl)
  --label VALUE           keep only input rows whose label column equals VALUE
  --ignore-responses      sample a fresh trace even where the input row carries one
  --quiet                 no progress bar
`;

export async function run(argv: string[]): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        ...SHARED_RUN_OPTIONS,
        'judge-base-url': { type: 'string' },
        'judge-model': { type: 'string' },
        'judge-api-key': { type: 'string' },
        detector: { type: 'string' },
        triggers: { type: 'string' },
        rounds: { type: 'string' },
        'all-triggers': { type: 'boolean' },
        'ignore-responses': { type: 'boolean' },
      },
    }).values;
  } catch (err) {
    process.stderr.write(`ipo intervene: ${parseArgsMessage(err)}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const str = (k: string) => values[k] as string | undefined;
  try {
    const { format, concurrency, limit, seed, maxTokens, maxRetries, timeoutMs, temperature, topP, chatTemplate, mode } =
      parseSharedRunFlags(str, values);
    const detectorKind = choiceFlag(str('detector'), 'detector', ['judge', 'self', 'lexical'] as const, 'judge');
    const rounds = intFlag(str('rounds'), 'rounds', 1, 1)!;

    const triggers = loadTriggers(str('triggers') ?? DEFAULT_TRIGGERS_FILE);
    let prompts = loadPrompts(str('input')!, { label: str('label') });
    if (values['ignore-responses']) prompts = prompts.map(({ response: _ignored, ...rest }) => rest);
    if (limit !== undefined) prompts = prompts.slice(0, limit);

    const policyEndpoint = endpointFromEnv('policy', { baseUrl: str('base-url'), model: str('model'), apiKey: str('api-key'), timeoutMs, maxRetries });
    const policy = createModelClient({ ...policyEndpoint, mode, chatTemplate });
    let detector: CueDetector;
    if (detectorKind === 'lexical') detector = lexicalDetector;
    else if (detectorKind === 'self') detector = judgeDetector(createModelClient({ ...policyEndpoint, mode: 'chat' }), { role: 'self' });
    else {
      const judgeEndpoint = endpointFromEnv('judge', { baseUrl: str('judge-base-url'), model: str('judge-model'), apiKey: str('judge-api-key'), timeoutMs, maxRetries });
      detector = judgeDetector(createModelClient(judgeEndpoint), { role: 'judge' });
    }

    const output = str('output')!;
    const summary = await runIntervene({
      prompts,
      output,
      format,
      resume: Boolean(values.resume),
      force: Boolean(values.force),
      chatTemplate,
      allTriggers: Boolean(values['all-triggers']),
      concurrency,
      progress: values.quiet ? null : process.stderr,
      settings: {
        policy,
        detector,
        triggers,
        rounds,
        sampling: { temperature, topP, ...(maxTokens !== undefined ? { maxTokens } : {}), ...(seed !== undefined ? { seed } : {}) },
        cache: openCallCache(str('cache') ?? `${output}.cache.jsonl`),
      },
    });
    process.stdout.write(JSON.stringify(summary) + '\n');
    process.stderr.write(
      `intervene: ${summary.pairs} pairs, ${summary.skipped} skipped, ${summary.failed} failed, ${summary.alreadyDone} already done ` +
        `(${summary.prompts} prompts, ${summary.seconds.toFixed(1)} s) -> ${output}\n`,
    );
    if (summary.failed) {
      process.stderr.write(`ipo intervene: ${summary.failed} prompt(s) failed; rerun with --resume to retry them\n`);
      return 1;
    }
    return 0;
  } catch (err) {
    process.stderr.write(`ipo intervene: ${err instanceof Error ? err.message : String(err)}\n`);
    return err instanceof UsageError ? 2 : 1;
  }
}
