/**
 * Building what `ipo intervene` and `ipo benign` run with from plain settings (kept out of the CLI
 * so it stays a flag parser): the policy client, the cue detector, the refusal source and the
 * prompt selection. Endpoints fall back to the environment through model/client.ts's
 * endpointFromEnv (IPO_BASE_URL, IPO_MODEL, IPO_API_KEY; IPO_JUDGE_*; IPO_REFUSAL_*).
 */
import type { PromptRow } from '../data/prompts.js';
import type { ChatTemplate } from '../model/chat-template.js';
import { type ContinuationMode, createModelClient, endpointFromEnv, type EndpointFlags } from '../model/client.js';
import type { ModelClient } from '../model/types.js';
import type { RefusalSource } from './benign.js';
import { type CueDetector, judgeDetector, lexicalDetector } from './detectors.js';
import { parseTriggers } from './triggers.js';
import { readTextFile } from '../run/errors.js';

export const DETECTOR_KINDS = ['judge', 'self', 'lexical'] as const;
export type DetectorKind = (typeof DETECTOR_KINDS)[number];

export interface ConnectionSettings {
  timeoutMs?: number;
  maxRetries?: number;
}

export interface PolicySettings extends ConnectionSettings {
  endpoint: EndpointFlags;
  mode: ContinuationMode;
  chatTemplate?: ChatTemplate;
}

/** The continuation mode: completions with a chat template (the template is rendered here), else chat. */
export function continuationMode(requested: ContinuationMode | undefined, chatTemplate: ChatTemplate | undefined): ContinuationMode {
  const mode = requested ?? (chatTemplate ? 'completions' : 'chat');
  if (mode === 'completions' && !chatTemplate) throw new Error('--mode completions needs --chat-template');
  return mode;
}

export function policyClient(s: PolicySettings, env: NodeJS.ProcessEnv = process.env): ModelClient {
  const endpoint = endpointFromEnv('policy', { ...s.endpoint, ...connection(s) }, env);
  return createModelClient({ ...endpoint, mode: s.mode, ...(s.chatTemplate ? { chatTemplate: s.chatTemplate } : {}) });
}

/**
 * judge: a separate judge endpoint; self: the policy judges its own trace (chat mode); lexical: the
 * offline phrase detector, no model call.
 */
export function createDetector(kind: DetectorKind, s: { policy: PolicySettings; judge: EndpointFlags } & ConnectionSettings, env: NodeJS.ProcessEnv = process.env): CueDetector {
  if (kind === 'lexical') return lexicalDetector;
  if (kind === 'self') {
    const endpoint = endpointFromEnv('policy', { ...s.policy.endpoint, ...connection(s) }, env);
    return judgeDetector(createModelClient({ ...endpoint, mode: 'chat' }), { role: 'self' });
  }
  const endpoint = endpointFromEnv('judge', { ...s.judge, ...connection(s) }, env);
  return judgeDetector(createModelClient(endpoint), { role: 'judge' });
}

/** Refusal texts from a file (one a line, '#' comments) or a refusing model's endpoint; exactly one. */
export function refusalSource(
  s: { refusalsFile?: string; endpoint: EndpointFlags; mode: ContinuationMode; chatTemplate?: ChatTemplate } & ConnectionSettings,
  env: NodeJS.ProcessEnv = process.env,
): RefusalSource {
  const hasModel = Boolean(s.endpoint.baseUrl ?? s.endpoint.model ?? env.IPO_REFUSAL_BASE_URL);
  if (s.refusalsFile && hasModel) throw new Error('give either --refusals or a refusal endpoint, not both');
  if (!s.refusalsFile && !hasModel) throw new Error('a refusal source is required: --refusal-base-url/--refusal-model or --refusals FILE');
  if (s.refusalsFile) {
    const text = readTextFile(s.refusalsFile, 'refusals file');
    return { kind: 'texts', texts: parseTriggers(text, s.refusalsFile) };
  }
  const endpoint = endpointFromEnv('refusal', { ...s.endpoint, ...connection(s) }, env);
  return { kind: 'model', client: createModelClient({ ...endpoint, mode: s.mode, ...(s.chatTemplate ? { chatTemplate: s.chatTemplate } : {}) }) };
}

/** The prompts `ipo intervene` runs: optionally without their traces, then the first `limit`. */
export function selectPrompts(prompts: PromptRow[], s: { ignoreResponses?: boolean; limit?: number }): PromptRow[] {
  const rows = s.ignoreResponses ? prompts.map(({ response: _ignored, ...rest }) => rest) : prompts;
  return s.limit !== undefined ? rows.slice(0, s.limit) : rows;
}

/**
 * The prompts `ipo benign` runs: with no label asked for, an input that has labels (XSTest) keeps its
 * 'safe' rows only (its 'unsafe' ones are not benign); then the first `limit`.
 */
export function selectBenignPrompts(prompts: PromptRow[], s: { label?: string; limit?: number }): PromptRow[] {
  const rows = s.label === undefined && prompts.some((p) => p.label !== undefined) ? prompts.filter((p) => p.label?.toLowerCase() === 'safe') : prompts;
  return s.limit !== undefined ? rows.slice(0, s.limit) : rows;
}

function connection(s: ConnectionSettings): ConnectionSettings {
  return { ...(s.timeoutMs !== undefined ? { timeoutMs: s.timeoutMs } : {}), ...(s.maxRetries !== undefined ? { maxRetries: s.maxRetries } : {}) };
}
