/**
 * ipo-node/pipeline: everything around the loss, kept off the package root so that importing the
 * loss loads no HTTP client, chat-template engine or tokenizer.
 *
 * - model: OpenAI-compatible clients (policy, judge), chat templates, reasoning parsing
 * - intervene: sentence splitting, compliance-cue detectors, Algorithm 1, pair records
 * - evaluation: harmful-reasoning / harmful-response ratios, over-refusal, Continuation Safety Ratio
 * - data and train: tokenization, batching, reference passes, the two-stage schedule, the training run
 * - run: the shared JSONL store, pool, hash and RNG
 */
export type { ChatMessage, Generation, ModelClient, SamplingOptions, EndpointConfig } from './model/types.js';
export { createModelClient, endpointFromEnv, type ModelClientOptions, type ContinuationMode } from './model/client.js';
export { loadChatTemplate, createChatTemplate, renderPrompt, renderContinuation, type ChatTemplate } from './model/chat-template.js';
export { splitSentences, type Sentence } from './text/sentences.js';
export { judgeDetector, lexicalDetector, explainLexical, type CueDetector, type DetectionInput, type LexicalVerdict } from './intervene/detectors.js';
export { probeEndpoint, probeEndpoints, ProbeError } from './model/probe.js';
export { DEFAULT_COMPLETION_MAX_TOKENS } from './model/context.js';
export { findRefusalPhrase, looksLikeRefusal, ANSWER_REFUSAL_PHRASES, REASONING_REFUSAL_PHRASES, type RefusalScope } from './text/refusal.js';
export { readPairs, validatePair, assistantText, toTrlRow, type IpoPair, type TrlRow, type SkippedRecord } from './pairs/record.js';
export { runIntervene, type InterveneRunOptions, type RunSummary } from './intervene/runner.js';
export { runBenign, type BenignRunOptions } from './intervene/benign.js';
export { loadPrompts, type PromptRow } from './data/prompts.js';
export * as evaluation from './eval/index.js';
export { loadTokenizer, defaultTokenizerDir, type TextTokenizer } from './data/tokenizer.js';
export {
  createPairTokenizer,
  contextText,
  truncatePair,
  truncationSummary,
  type PairText,
  type PairTokenizer,
  type TokenizedPair,
  type TokenizeOptions,
} from './data/tokenize.js';
export { collate, planSteps, pairLength, type Batch, type CollateOptions } from './data/batch.js';
export { buildVocabMap, type VocabMap } from './data/vocab.js';
export { computeReferenceLogps, readReferenceLogps, writeReferenceLogps, type ForwardFn, type ReferenceOptions } from './data/reference.js';
export { Rng, type RngState } from './run/rng.js';
export { fnv1a } from './run/hash.js';
export { JsonlAppender, KeyedJsonl, readJsonl } from './run/jsonl.js';
export { runPool, type PoolFailure } from './run/pool.js';
export { TwoStageSchedule, cosineWithWarmup, type Stage, type ScheduleOptions, type ScheduleState, type TrainingStep } from './train/schedule.js';
export { runTraining, type TrainRunOptions, type TrainSummary } from './train/run.js';
