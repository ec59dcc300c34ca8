/**
 * Algorithm 1 of IPO (data construction) for one prompt.
 *
 *   z ~ policy(x); h = detect(z); if h = 0: skip x.
 *   for round i = 1..N:
 *     tau = the unit's trigger (round 1 with --all-triggers) or one drawn from the pool
 *     z~ ~ policy(x, z[<h] + tau)                      (continuation of the partial turn)
 *     h~ = detect(tau + z~)                            (the new segment only, numbered from 1)
 *     if h~ = 0: emit (context x + z[<h], chosen tau + z~, rejected z[>=h]) and stop
 *     else z = z[<h] + tau + z~, h = the sentence of z where the segment's cue h~ sits
 *   after N unsafe rounds: skip this unit.
 *
 * Sentences are those of lib/text/sentences.ts over the reasoning; z[<h] is the reasoning text up
 * to the first character of sentence h (it keeps the whitespace that preceded it). Text conventions of
 * the emitted pair: lib/pairs/record.ts.
 */
import type { ChatMessage, Generation, ModelClient, SamplingOptions } from '../model/types.js';
import { parseTrace, type ParsedTrace, THINK_OPEN } from '../model/reasoning.js';
import type { CueDetector } from './detectors.js';
import { DetectorError } from './detectors.js';
import { splitSentences, type Sentence } from '../text/sentences.js';
import type { IpoPair, PairSampling, SkippedRecord } from '../pairs/record.js';
import { cacheKey, fnv1a } from '../run/hash.js';
import { Rng } from '../run/rng.js';
import type { CallCache } from './cache.js';

export interface InterveneSettings {
  policy: ModelClient;
  detector: CueDetector;
  triggers: readonly string[];
  /** N, rounds per unit (default 1, as in the paper). */
  rounds: number;
  sampling: PairSampling;
  cache: CallCache;
}

export interface PromptInput {
  id: string;
  messages: ChatMessage[];
  /** A trace that was already sampled (input rows may carry one); none is sampled then. */
  response?: string;
}

/** A unit of work: one per trigger with --all-triggers ('trigger:<k>', round 1 uses trigger k), else 'sampled'. */
export type Unit = string;

export function unitsFor(triggerCount: number, allTriggers: boolean): Unit[] {
  return allTriggers ? Array.from({ length: triggerCount }, (_, k) => `trigger:${k}`) : ['sampled'];
}

/**
 * The seed sent with a request: the user's --seed as is (vLLM, llama.cpp and OpenAI take a `seed`;
 * others ignore it). Requests differ in their prompts, so one seed does not make their samples equal.
 * The parts name the request and only go into cache keys.
 */
export function requestSeed(seed: number | undefined, ..._parts: string[]): number | undefined {
  return seed;
}

function samplingOptions(s: PairSampling, seed: number | undefined): SamplingOptions {
  return {
    temperature: s.temperature,
    topP: s.topP,
    ...(s.maxTokens !== undefined ? { maxTokens: s.maxTokens } : {}),
    ...(seed !== undefined ? { seed } : {}),
  };
}

/** The prompt's trace: the one the input carries, else a cached or fresh rollout. */
export async function rollout(settings: Pick<InterveneSettings, 'policy' | 'sampling' | 'cache'>, prompt: PromptInput): Promise<{ raw: string; sampled: boolean }> {
  if (prompt.response !== undefined) return { raw: prompt.response, sampled: false };
  const seed = requestSeed(settings.sampling.seed, prompt.id, 'rollout');
  const key = cacheKey('rollout', settings.policy.model, prompt.messages, settings.sampling, seed);
  const cached = settings.cache.get<{ raw: string }>(key);
  if (cached) return { raw: cached.raw, sampled: false };
  const g = await settings.policy.chat(prompt.messages, samplingOptions(settings.sampling, seed));
  settings.cache.put(key, { raw: g.raw, finishReason: g.finishReason });
  return { raw: g.raw, sampled: true };
}

/** Detection over the sentences of `reasoning`, cached per (detector, messages, sentences). */
export async function detectCue(settings: InterveneSettings, messages: ChatMessage[], sentences: Sentence[]): Promise<number> {
  const texts = sentences.map((s) => s.text);
  const key = cacheKey('detect', settings.detector.name, messages, texts);
  const cached = settings.cache.get<{ h: number }>(key);
  if (cached) return cached.h;
  const h = await settings.detector.detect({ messages, sentences: texts });
  if (!Number.isInteger(h) || h < 0 || h === 1 || h > texts.length) {
    throw new DetectorError(`${settings.detector.name} returned ${h} for ${texts.length} sentences (expected 0 or 2..${texts.length})`);
  }
  settings.cache.put(key, { h });
  return h;
}

/** Outcome of the prompt-level step: either a trace with its first cue, or a reason to skip the whole prompt. */
export type TraceOutcome = { kind: 'cue'; trace: ParsedTrace; cue: number } | { kind: 'skip'; reason: string };

export async function traceWithCue(settings: InterveneSettings, prompt: PromptInput): Promise<TraceOutcome> {
  const { raw } = await rollout(settings, prompt);
  const trace = parseTrace(raw);
  if (!trace.hasReasoning || !trace.reasoning.trim()) return { kind: 'skip', reason: 'no reasoning in the trace' };
  if (!trace.closed) return { kind: 'skip', reason: 'the reasoning never closed (</think> missing: raise --max-tokens)' };
  const sentences = splitSentences(trace.reasoning);
  const cue = await detectCue(settings, prompt.messages, sentences);
  if (cue === 0) return { kind: 'skip', reason: 'no compliance cue' };
  return { kind: 'cue', trace, cue };
}

/** Runs the rounds of one unit from a trace with cue h; returns the pair or why there is none. */
export async function interveneUnit(
  settings: InterveneSettings,
  prompt: PromptInput,
  start: { trace: ParsedTrace; cue: number },
  unit: Unit,
): Promise<IpoPair | SkippedRecord> {
  const rng = new Rng(fnv1a(`${settings.sampling.seed ?? 0}|${prompt.id}|${unit}`));
  const fixed = unit.startsWith('trigger:') ? Number(unit.slice('trigger:'.length)) : undefined;
  let z = start.trace;
  let h = start.cue;
  for (let round = 1; round <= settings.rounds; round++) {
    const trigger = round === 1 && fixed !== undefined ? settings.triggers[fixed] : settings.triggers[rng.int(settings.triggers.length)];
    const sentences = splitSentences(z.reasoning);
    const cueSentence = sentences[h - 1];
    const prefix = z.reasoning.slice(0, cueSentence.start);
    const rejected = z.reasoning.slice(cueSentence.start) + z.closing + z.answer;
    const head = THINK_OPEN + '\n' + prefix;
    const raw = await continuation(settings, prompt, unit, round, head + trigger);
    const next = parseTrace(raw);
    if (!next.closed) return { id: prompt.id, unit, reason: `round ${round}: the continuation never closed its reasoning (raise --max-tokens)` };
    const chosen = raw.slice(head.length);
    // the segment tau + z~ alone, as Algorithm 1 hands it to the detector
    const segmentSentences = splitSentences(next.reasoning.slice(prefix.length));
    const hNext = await detectCue(settings, prompt.messages, segmentSentences);
    if (hNext === 0) {
      return {
        id: prompt.id,
        kind: 'intervened',
        unit,
        messages: prompt.messages,
        prefix,
        cueIndex: h,
        cueSentence: cueSentence.text,
        trigger,
        chosen,
        rejected,
        rounds: round,
        detector: settings.detector.name,
        model: settings.policy.model,
        sampling: settings.sampling,
      };
    }
    // the new trace is prefix + segment; its cue is the sentence holding the segment's cue
    const cueOffset = prefix.length + segmentSentences[hNext - 1].start;
    const full = splitSentences(next.reasoning);
    const containing = full.findIndex((s) => s.start <= cueOffset && cueOffset < s.end);
    z = next;
    h = (containing >= 0 ? containing : full.findIndex((s) => s.start >= cueOffset)) + 1;
    if (h < 2) return { id: prompt.id, unit, reason: `round ${round}: cue of the continuation could not be located` };
  }
  return { id: prompt.id, unit, reason: `still a compliance cue after ${settings.rounds} round(s)` };
}

async function continuation(settings: InterveneSettings, prompt: PromptInput, unit: Unit, round: number, assistantPrefix: string): Promise<string> {
  const seed = requestSeed(settings.sampling.seed, prompt.id, unit, String(round));
  const key = cacheKey('continue', settings.policy.model, prompt.messages, assistantPrefix, settings.sampling, seed, unit, round);
  const cached = settings.cache.get<{ raw: string }>(key);
  if (cached) return cached.raw;
  const g: Generation = await settings.policy.continueAssistant(prompt.messages, assistantPrefix, samplingOptions(settings.sampling, seed));
  if (!g.raw.startsWith(assistantPrefix)) throw new Error('the continuation does not extend the prefix it was given');
  settings.cache.put(key, { raw: g.raw, finishReason: g.finishReason });
  return g.raw;
}

export function isPair(r: IpoPair | SkippedRecord): r is IpoPair {
  return 'chosen' in r;
}
