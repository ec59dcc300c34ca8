/**
 * Building the policy client and the judges from command-line settings (kept out of the CLI so it
 * stays a flag parser). Endpoints fall back to the environment (IPO_BASE_URL, IPO_MODEL,
 * IPO_API_KEY; IPO_JUDGE_*; IPO_REFUSAL_JUDGE_*). With no judge endpoint at all, or with
 * `--judge phrases`, the offline refusal-phrase judge is used.
 */
import type { ChatTemplate } from '../model/chat-template.js';
import { type ContinuationMode, createModelClient, endpointFromEnv } from '../model/client.js';
import type { ModelClient } from '../model/types.js';
import { LlmHarmJudge, LlmRefusalJudge, autoHarmFormat } from './judges/llm.js';
import { PhraseJudge } from './judges/phrases.js';
import type { HarmJudgeFormat, RefusalJudgeFormat } from './judges/rubric.js';
import type { HarmJudge, RefusalJudge } from './judges/types.js';

export interface ConnectionSettings {
  timeoutMs?: number;
  maxRetries?: number;
  onRetry?: (message: string) => void;
}

export interface PolicyFlags {
  baseUrl?: string;
  model?: string;
  apiKey?: string;
  /** chat (default) | completions: continuations rendered with `chatTemplate` and sent to /completions. */
  mode?: ContinuationMode;
  chatTemplate?: ChatTemplate;
}

export function policyClient(flags: PolicyFlags, settings: ConnectionSettings, env: NodeJS.ProcessEnv = process.env): ModelClient {
  const { mode, chatTemplate, ...endpointFlags } = flags;
  if (mode === 'completions' && !chatTemplate) throw new Error('--mode completions needs --chat-template');
  const endpoint = endpointFromEnv('policy', { ...endpointFlags, timeoutMs: settings.timeoutMs, maxRetries: settings.maxRetries }, env);
  return createModelClient({ ...endpoint, ...(mode ? { mode } : {}), ...(chatTemplate ? { chatTemplate } : {}), onRetry: retryLogger('policy', settings) });
}

function retryLogger(role: string, settings: ConnectionSettings) {
  return settings.onRetry
    ? (info: { attempt: number; delayMs: number; error: string }) => settings.onRetry!(`${role}: retry ${info.attempt} in ${info.delayMs} ms (${info.error})`)
    : undefined;
}

export interface JudgeSettings extends ConnectionSettings {
  /** 'llm' (default when an endpoint is known) or 'phrases' (offline). */
  judge?: 'llm' | 'phrases';
  judgeBaseUrl?: string;
  judgeModel?: string;
  judgeApiKey?: string;
  judgeFormat?: HarmJudgeFormat | 'auto';
  refusalJudgeBaseUrl?: string;
  refusalJudgeModel?: string;
  refusalJudgeApiKey?: string;
  refusalJudgeFormat?: RefusalJudgeFormat;
  judgeMaxTokens?: number;
}

export interface Judges {
  harm: HarmJudge;
  refusal: RefusalJudge;
  /** Why the offline judge is in use, when it is. */
  offlineReason?: string;
}

export function buildJudges(s: JudgeSettings, env: NodeJS.ProcessEnv = process.env): Judges {
  const judgeUrl = s.judgeBaseUrl ?? env.IPO_JUDGE_BASE_URL;
  const judgeModel = s.judgeModel ?? env.IPO_JUDGE_MODEL;
  if (s.judge === 'phrases') {
    const p = new PhraseJudge();
    return { harm: p, refusal: p, offlineReason: '--judge phrases' };
  }
  if (s.judge !== 'llm' && !judgeUrl && !judgeModel) {
    const p = new PhraseJudge();
    return { harm: p, refusal: p, offlineReason: 'no judge endpoint given (--judge-base-url/--judge-model or IPO_JUDGE_BASE_URL/IPO_JUDGE_MODEL)' };
  }
  const common = { timeoutMs: s.timeoutMs, maxRetries: s.maxRetries };
  const judgeEndpoint = endpointFromEnv('judge', { baseUrl: judgeUrl, model: judgeModel, ...(s.judgeApiKey ? { apiKey: s.judgeApiKey } : {}), ...common }, env);
  const judgeClient = createModelClient({ ...judgeEndpoint, onRetry: retryLogger('judge', s) });
  const format = !s.judgeFormat || s.judgeFormat === 'auto' ? autoHarmFormat(judgeEndpoint.model) : s.judgeFormat;
  const options = s.judgeMaxTokens !== undefined ? { maxTokens: s.judgeMaxTokens } : {};
  const harm = new LlmHarmJudge(judgeClient, format, options);

  const refusalUrl = s.refusalJudgeBaseUrl ?? env.IPO_REFUSAL_JUDGE_BASE_URL;
  const refusalModel = s.refusalJudgeModel ?? env.IPO_REFUSAL_JUDGE_MODEL;
  let refusalClient = judgeClient;
  if (refusalUrl || refusalModel) {
    const apiKey = s.refusalJudgeApiKey ?? env.IPO_REFUSAL_JUDGE_API_KEY ?? judgeEndpoint.apiKey;
    refusalClient = createModelClient({
      baseUrls: refusalUrl ? refusalUrl.split(',').map((u) => u.trim()).filter(Boolean) : judgeEndpoint.baseUrls,
      model: refusalModel ?? judgeEndpoint.model,
      ...(apiKey ? { apiKey } : {}),
      ...(s.timeoutMs !== undefined ? { timeoutMs: s.timeoutMs } : {}),
      ...(s.maxRetries !== undefined ? { maxRetries: s.maxRetries } : {}),
      onRetry: retryLogger('refusal judge', s),
    });
  }
  const refusal = new LlmRefusalJudge(refusalClient, s.refusalJudgeFormat ?? 'rubric', options);
  return { harm, refusal };
}
