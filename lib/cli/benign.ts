/** `ipo benign`: parses flags and calls lib/intervene/benign.ts (see docs/intervene.md). */
import { parseArgs } from 'node:util';
import { loadPrompts } from '../data/prompts.js';
import { createModelClient, endpointFromEnv } from '../model/client.js';
import { openCallCache } from '../intervene/cache.js';
import { type RefusalSource, runBenign } from '../intervene/benign.js';
import { parseTriggers } from '../intervene/triggers.js';
import { UsageError, parseArgsMessage, SHARED_RUN_OPTIONS, parseSharedRunFlags } from '../intervene/cli-util.js';
import { readFileSync } from 'node:fs';

const HELP = `usage: ipo benign --input FILE --output FILE --base-url URL --model NAME
                  (--refusal-base-url URL --refusal-model NAME | --refusals FILE) [options]

Builds stage-2 benign pairs against over-refusal: chosen = the base model's answer to a benign
prompt, rejected = a refusal (from the stage-1 model, or drawn from a file of refusal texts).

  --input FILE              benign prompts (XSTest: the 'safe' rows are taken; JBB benign; your JSONL)
  --output FILE             pairs (same record as ipo intervene, kind "benign"); skipped: FILE.skipped.jsonl
  --base-url URL[,URL]      the base model's server(s) (env IPO_BASE_URL); --model NAME (env IPO_MODEL)
  --refusal-base-url URL    the refusing model's server(s) (env IPO_REFUSAL_BASE_URL)
  --refusal-model NAME      the refusing model, e.g. the stage-1 checkpoint (env IPO_REFUSAL_MODEL)
  --refusals FILE           instead: refusal texts, one a line ('#' comments)
  --label VALUE             keep rows whose label equals VALUE (default 'safe' when the input has labels)
  --keep-all                keep pairs whose chosen side refuses or whose rejected side does not
  --mode, --chat-template, --format, --resume, --force, --limit, --seed, --concurrency,
  --temperature, --top-p, --max-tokens, --timeout, --max-retries, --cache, --quiet
                            as for ipo intervene
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
        'refusal-base-url': { type: 'string' },
        'refusal-model': { type: 'string' },
        'refusal-api-key': { type: 'string' },
        refusals: { type: 'string' },
        'keep-all': { type: 'boolean' },
      },
    }).values;
  } catch (err) {
    process.stderr.write(`ipo benign: ${parseArgsMessage(err)}\n`);
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
    const hasRefusalModel = Boolean(str('refusal-base-url') ?? str('refusal-model') ?? process.env.IPO_REFUSAL_BASE_URL);
    if (str('refusals') && hasRefusalModel) throw new UsageError('give either --refusals or a refusal endpoint, not both');
    if (!str('refusals') && !hasRefusalModel) throw new UsageError('a refusal source is required: --refusal-base-url/--refusal-model or --refusals FILE');

    let prompts = loadPrompts(str('input')!, { label: str('label') });
    if (str('label') === undefined && prompts.some((p) => p.label !== undefined)) prompts = prompts.filter((p) => p.label?.toLowerCase() === 'safe');
    if (limit !== undefined) prompts = prompts.slice(0, limit);

    const policyEndpoint = endpointFromEnv('policy', { baseUrl: str('base-url'), model: str('model'), apiKey: str('api-key'), timeoutMs, maxRetries });
    const policy = createModelClient({ ...policyEndpoint, mode, chatTemplate });
    let refusal: RefusalSource;
    if (str('refusals')) {
      let text: string;
      try {
        text = readFileSync(str('refusals')!, 'utf8');
      } catch (err) {
        throw new Error(`cannot read refusals file ${str('refusals')}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
      }
      refusal = { kind: 'texts', texts: parseTriggers(text, str('refusals')!) };
    } else {
      const endpoint = endpointFromEnv('refusal', { baseUrl: str('refusal-base-url'), model: str('refusal-model'), apiKey: str('refusal-api-key'), timeoutMs, maxRetries });
      refusal = { kind: 'model', client: createModelClient({ ...endpoint, mode, chatTemplate }) };
    }
    const output = str('output')!;
    const summary = await runBenign({
      prompts,
      output,
      format,
      chatTemplate,
      resume: Boolean(values.resume),
      force: Boolean(values.force),
      policy,
      refusal,
      sampling: { temperature, topP, ...(maxTokens !== undefined ? { maxTokens } : {}), ...(seed !== undefined ? { seed } : {}) },
      cache: openCallCache(str('cache') ?? `${output}.cache.jsonl`),
      concurrency,
      checkRefusals: !values['keep-all'],
      progress: values.quiet ? null : process.stderr,
    });
    process.stdout.write(JSON.stringify(summary) + '\n');
    process.stderr.write(
      `benign: ${summary.pairs} pairs, ${summary.skipped} skipped, ${summary.failed} failed, ${summary.alreadyDone} already done ` +
        `(${summary.prompts} prompts, ${summary.seconds.toFixed(1)} s) -> ${output}\n`,
    );
    if (summary.failed) {
      process.stderr.write(`ipo benign: ${summary.failed} prompt(s) failed; rerun with --resume to retry them\n`);
      return 1;
    }
    return 0;
  } catch (err) {
    process.stderr.write(`ipo benign: ${err instanceof Error ? err.message : String(err)}\n`);
    return err instanceof UsageError ? 2 : 1;
  }
}
