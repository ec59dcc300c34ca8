/**
 * Stage-2 benign pairs (against over-refusal): for a benign prompt, chosen = the base model's normal
 * answer, rejected = a refusal, from a second endpoint (the stage-1 model) or from a list of refusal
 * texts. Records follow lib/pairs/record.ts with prefix '', cueIndex 0, cueSentence null,
 * trigger null, kind 'benign'. Each side is a whole turn minus its leading "<think>\n"; a side
 * without reasoning is written as an empty reasoning, "\n</think>\n\n" + answer.
 *
 * With the refusal check on (default) a prompt is skipped when the chosen answer itself refuses or the
 * rejected one does not (lib/text/refusal.ts): such a pair would teach nothing or the opposite.
 */
import { probeEndpoints } from '../model/probe.js';
import type { PromptRow } from '../data/prompts.js';
import type { ModelClient } from '../model/types.js';
import { joinTrace, parseTrace, THINK_OPEN } from '../model/reasoning.js';
import { formatError } from '../run/errors.js';
import { cacheKey, fnv1a } from '../run/hash.js';
import { ProgressBar } from '../run/progress.js';
import { runPool } from '../run/pool.js';
import type { CallCache } from './cache.js';
import { type IpoPair, type PairSampling } from '../pairs/record.js';
import { requestSeed, rollout } from './algorithm.js';
import { looksLikeRefusal } from '../text/refusal.js';
import { openPairStore, type StoreOptions } from './store.js';
import { startSummary, type RunSummary } from './runner.js';

export type RefusalSource = { kind: 'model'; client: ModelClient } | { kind: 'texts'; texts: string[] };

export interface BenignRunOptions extends StoreOptions {
  prompts: PromptRow[];
  policy: ModelClient;
  refusal: RefusalSource;
  sampling: PairSampling;
  cache: CallCache;
  concurrency: number;
  /** Skip pairs whose chosen side refuses or whose rejected side does not (default true). */
  checkRefusals?: boolean;
  progress?: (NodeJS.WritableStream & { isTTY?: boolean }) | null;
}

/** A turn as the text after "<think>\n" (see the module comment). */
export function sideText(raw: string): string {
  return joinTrace(parseTrace(raw)).slice(THINK_OPEN.length + 1);
}

export async function runBenign(options: BenignRunOptions): Promise<RunSummary> {
  await probeEndpoints({ policy: options.policy, refusal: options.refusal.kind === 'model' ? options.refusal.client : undefined });
  const started = Date.now();
  const store = openPairStore(options);
  const pending = options.prompts.filter((p) => !store.isDone(p.id, 'benign'));
  const summary = startSummary(options.prompts.length, pending.length, options.output, store.skippedPath);
  const bar = options.progress === null ? undefined : new ProgressBar('benign', pending.length, options.progress ?? process.stderr);
  const skip = (id: string, reason: string) => {
    store.writeSkipped({ id, unit: 'benign', reason });
    summary.skipped++;
    summary.skipReasons[reason] = (summary.skipReasons[reason] ?? 0) + 1;
  };
  const check = options.checkRefusals ?? true;
  const settings = { policy: options.policy, sampling: options.sampling, cache: options.cache };
  try {
    await runPool(pending, options.concurrency, async (prompt) => {
      try {
        const chosenRaw = (await rollout(settings, prompt)).raw;
        const chosen = parseTrace(chosenRaw);
        const rejectedRaw = await refusalFor(options, prompt);
        const rejected = parseTrace(rejectedRaw);
        if ((chosen.hasReasoning && !chosen.closed) || !chosen.answer.trim()) skip(prompt.id, 'the chosen turn has no answer (cut off?)');
        else if ((rejected.hasReasoning && !rejected.closed) || !rejected.answer.trim()) skip(prompt.id, 'the rejected turn has no answer (cut off?)');
        else if (check && looksLikeRefusal(chosen.answer)) skip(prompt.id, 'the chosen answer refuses');
        else if (check && !looksLikeRefusal(rejected.answer)) skip(prompt.id, 'the rejected answer does not refuse');
        else {
          const pair: IpoPair = {
            id: prompt.id,
            kind: 'benign',
            unit: 'benign',
            messages: prompt.messages,
            prefix: '',
            cueIndex: 0,
            cueSentence: null,
            trigger: null,
            chosen: sideText(chosenRaw),
            rejected: sideText(rejectedRaw),
            rounds: 0,
            detector: 'none',
            model: options.policy.model,
            rejectedModel: options.refusal.kind === 'model' ? options.refusal.client.model : 'refusal-texts',
            sampling: options.sampling,
          };
          store.writePair(pair);
          summary.pairs++;
        }
      } catch (err) {
        summary.failed++;
        const error = formatError(err);
        summary.failures.push({ id: prompt.id, error });
        bar?.note(`benign: prompt ${prompt.id} failed: ${error}`);
      }
      bar?.tick({ pairs: summary.pairs, skipped: summary.skipped, failed: summary.failed });
    });
  } finally {
    store.close();
    options.cache.close();
  }
  bar?.done({ pairs: summary.pairs, skipped: summary.skipped, failed: summary.failed });
  summary.seconds = (Date.now() - started) / 1000;
  return summary;
}

async function refusalFor(options: BenignRunOptions, prompt: PromptRow): Promise<string> {
  if (options.refusal.kind === 'texts') {
    const texts = options.refusal.texts;
    return texts[fnv1a(`${options.sampling.seed ?? 0}|${prompt.id}`) % texts.length];
  }
  const client = options.refusal.client;
  const seed = requestSeed(options.sampling.seed, prompt.id, 'refusal');
  const key = cacheKey('refusal', client.model, prompt.messages, options.sampling, seed);
  const cached = options.cache.get<{ raw: string }>(key);
  if (cached) return cached.raw;
  const g = await client.chat(prompt.messages, {
    temperature: options.sampling.temperature,
    topP: options.sampling.topP,
    ...(options.sampling.maxTokens !== undefined ? { maxTokens: options.sampling.maxTokens } : {}),
    ...(seed !== undefined ? { seed } : {}),
  });
  options.cache.put(key, { raw: g.raw, finishReason: g.finishReason });
  return g.raw;
}
