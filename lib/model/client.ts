/**
 * ModelClient over the `openai` SDK (v6) for any OpenAI-compatible server (vLLM, Ollama, llama.cpp
 * server, OpenAI).
 *
 * - Replicas: requests go round-robin over `baseUrls`; a retry goes to the next replica.
 * - Retries: our own loop (the SDK's is switched off so that a retry can change replica) on
 *   connection errors, timeouts, 408/409/429/5xx and malformed bodies, with jittered exponential
 *   backoff (lib/model/retry.ts). `maxRetries` retries after the first try.
 * - Reasoning: read from `<think>...</think>` in the content or from `reasoning_content`.
 * - Continuing a partial assistant turn: mode 'chat' sends it as the last message with vLLM's
 *   `continue_final_message: true, add_generation_prompt: false`; mode 'completions' renders the chat
 *   template into a raw prefix (lib/model/chat-template.ts) and calls /completions.
 * The API key is only ever handed to the SDK: it is not logged and not put in errors.
 */
import OpenAI from 'openai';
import type { ChatMessage, EndpointConfig, Generation, ModelClient, SamplingOptions } from './types.js';
import { type ChatTemplate, renderContinuation, renderPrompt } from './chat-template.js';
import { DEFAULT_CLOSING, parseTrace, combineReasoning } from './reasoning.js';
import { type BackoffOptions, DEFAULT_BACKOFF, MalformedResponseError, describeError, isRetryable, retryDelayMs, sleep } from './retry.js';

export type ContinuationMode = 'chat' | 'completions';

export interface ModelClientOptions extends EndpointConfig {
  mode?: ContinuationMode;
  chatTemplate?: ChatTemplate;
  /** Backoff between retries (defaults: 500 ms base, 20 s cap; env IPO_RETRY_BASE_MS / IPO_RETRY_MAX_MS). */
  backoff?: BackoffOptions;
  /** Called before each retry (for progress/logging). */
  onRetry?: (info: { attempt: number; delayMs: number; error: string; baseUrl: string }) => void;
}

export const DEFAULT_TEMPERATURE = 0.6;
export const DEFAULT_TOP_P = 0.95;
export const DEFAULT_TIMEOUT_MS = 600_000;
export const DEFAULT_MAX_RETRIES = 4;

/** Counts what the client did, for summaries and tests. */
export interface ClientStats {
  requests: number;
  retries: number;
}

export function createModelClient(config: ModelClientOptions): ModelClient & { readonly stats: ClientStats } {
  if (!config.baseUrls.length) throw new Error('no base URL for the model endpoint');
  if (!config.model) throw new Error('no model name for the model endpoint');
  const mode = config.mode ?? 'chat';
  if (mode === 'completions' && !config.chatTemplate) {
    throw new Error("mode 'completions' needs the model's chat template (--chat-template tokenizer_config.json or .jinja)");
  }
  const maxRetries = config.maxRetries ?? DEFAULT_MAX_RETRIES;
  const backoff = config.backoff ?? DEFAULT_BACKOFF;
  const sdks = config.baseUrls.map(
    (baseURL) =>
      new OpenAI({
        baseURL,
        // 'EMPTY' is what vLLM expects without a key; never fall back to OPENAI_API_KEY, which would send
        // a user's OpenAI key to whatever server the base URL names.
        apiKey: config.apiKey || 'EMPTY',
        organization: null,
        project: null,
        maxRetries: 0,
        timeout: config.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      }),
  );
  let next = 0;
  const stats: ClientStats = { requests: 0, retries: 0 };

  async function withRetries<T>(call: (sdk: OpenAI) => Promise<T>): Promise<T> {
    let index = next++ % sdks.length;
    for (let attempt = 0; ; attempt++, index = (index + 1) % sdks.length) {
      stats.requests++;
      try {
        return await call(sdks[index]);
      } catch (err) {
        if (attempt >= maxRetries || !isRetryable(err)) throw err;
        const delayMs = retryDelayMs(attempt, err, backoff);
        stats.retries++;
        config.onRetry?.({ attempt: attempt + 1, delayMs, error: describeError(err), baseUrl: config.baseUrls[index] });
        await sleep(delayMs);
      }
    }
  }

  function sampling(options: SamplingOptions | undefined): Record<string, unknown> {
    const body: Record<string, unknown> = {
      temperature: options?.temperature ?? DEFAULT_TEMPERATURE,
      top_p: options?.topP ?? DEFAULT_TOP_P,
    };
    if (options?.maxTokens !== undefined) body.max_tokens = options.maxTokens;
    if (options?.seed !== undefined) body.seed = options.seed;
    if (options?.stop?.length) body.stop = options.stop;
    return body;
  }

  async function chatRequest(body: Record<string, unknown>): Promise<{ content: string; reasoning: string | undefined; finishReason?: string }> {
    return withRetries(async (sdk) => {
      const res = (await sdk.chat.completions.create(body as unknown as OpenAI.ChatCompletionCreateParamsNonStreaming)) as unknown;
      const choice = (res as { choices?: Array<{ message?: Record<string, unknown>; finish_reason?: string }> })?.choices?.[0];
      const message = choice?.message;
      if (!message || (typeof message.content !== 'string' && message.content !== null && message.content !== undefined)) {
        throw new MalformedResponseError('chat completion without a message');
      }
      const rc = message.reasoning_content ?? message.reasoning;
      return {
        content: (message.content as string | null) ?? '',
        reasoning: typeof rc === 'string' ? rc : undefined,
        finishReason: choice?.finish_reason ?? undefined,
      };
    });
  }

  async function completionRequest(prompt: string, options: SamplingOptions | undefined): Promise<{ text: string; finishReason?: string }> {
    return withRetries(async (sdk) => {
      const body = { model: config.model, prompt, ...sampling(options) };
      const res = (await sdk.completions.create(body as unknown as OpenAI.CompletionCreateParamsNonStreaming)) as unknown;
      const choice = (res as { choices?: Array<{ text?: unknown; finish_reason?: string }> })?.choices?.[0];
      if (!choice || typeof choice.text !== 'string') throw new MalformedResponseError('completion without text');
      return { text: choice.text, finishReason: choice.finish_reason ?? undefined };
    });
  }

  function generation(raw: string, finishReason: string | undefined): Generation {
    const parsed = parseTrace(raw);
    return { reasoning: parsed.reasoning, answer: parsed.answer, raw, finishReason };
  }

  return {
    model: config.model,
    stats,
    async chat(messages: ChatMessage[], options?: SamplingOptions & { jsonSchema?: Record<string, unknown> }): Promise<Generation> {
      if (mode === 'completions' && !options?.jsonSchema) {
        const prompt = renderPrompt(config.chatTemplate!, messages);
        const { text, finishReason } = await completionRequest(prompt, options);
        return generation(text, finishReason);
      }
      const body: Record<string, unknown> = { model: config.model, messages, ...sampling(options) };
      if (options?.jsonSchema) {
        body.response_format = { type: 'json_schema', json_schema: { name: 'answer', schema: options.jsonSchema, strict: true } };
      }
      const { content, reasoning, finishReason } = await chatRequest(body);
      return generation(combineReasoning(content, reasoning), finishReason);
    },
    async continueAssistant(messages: ChatMessage[], assistantPrefix: string, options?: SamplingOptions): Promise<Generation> {
      if (mode === 'completions') {
        const prompt = renderContinuation(config.chatTemplate!, messages, assistantPrefix);
        const { text, finishReason } = await completionRequest(prompt, options);
        return generation(assistantPrefix + text, finishReason);
      }
      const body: Record<string, unknown> = {
        model: config.model,
        messages: [...messages, { role: 'assistant', content: assistantPrefix }],
        continue_final_message: true,
        add_generation_prompt: false,
        ...sampling(options),
      };
      const { content, reasoning, finishReason } = await chatRequest(body);
      return generation(assistantPrefix + continuationText(assistantPrefix, content, reasoning, finishReason), finishReason);
    },
  };
}

/**
 * The new text of a continued turn. Servers answer with the continuation only; a reasoning parser may
 * have moved its reasoning part into `reasoning_content` (then the close tag is put back, unless the
 * reasoning was cut off by the token limit). A server that echoes the prefix is tolerated.
 */
function continuationText(prefix: string, content: string, reasoning: string | undefined, finishReason: string | undefined): string {
  if (content.startsWith(prefix) && prefix.length > 0) content = content.slice(prefix.length);
  if (reasoning === undefined || reasoning === '') return content;
  if (content === '' && finishReason === 'length') return reasoning;
  return reasoning.replace(/\s+$/, '') + DEFAULT_CLOSING + content.replace(/^\s+/, '');
}

export interface EndpointFlags {
  /** One URL, or several separated by commas. */
  baseUrl?: string;
  model?: string;
  apiKey?: string;
  timeoutMs?: number;
  maxRetries?: number;
}

/**
 * An endpoint from flags, falling back to the environment: IPO_BASE_URL / IPO_MODEL / IPO_API_KEY for
 * the policy, IPO_JUDGE_BASE_URL / IPO_JUDGE_MODEL / IPO_JUDGE_API_KEY for the judge (and IPO_REFUSAL_* for
 * the refusal model of `ipo benign`). Base URLs may be
 * comma-separated (replicas). Throws naming the missing flag and variable.
 */
export function endpointFromEnv(role: 'policy' | 'judge' | 'refusal', flags: EndpointFlags = {}, env: NodeJS.ProcessEnv = process.env): EndpointConfig {
  const prefix = role === 'policy' ? 'IPO_' : `IPO_${role.toUpperCase()}_`;
  const flagPrefix = role === 'policy' ? '--' : `--${role}-`;
  const urls = flags.baseUrl ?? env[`${prefix}BASE_URL`];
  const model = flags.model ?? env[`${prefix}MODEL`];
  if (!urls) throw new Error(`no ${role} endpoint: pass ${flagPrefix}base-url or set ${prefix}BASE_URL`);
  if (!model) throw new Error(`no ${role} model: pass ${flagPrefix}model or set ${prefix}MODEL`);
  const baseUrls = urls
    .split(',')
    .map((u) => u.trim())
    .filter(Boolean);
  for (const u of baseUrls) {
    try {
      new URL(u);
    } catch {
      throw new Error(`${role} base URL is not a URL: ${u}`);
    }
  }
  const apiKey = flags.apiKey ?? env[`${prefix}API_KEY`];
  return {
    baseUrls,
    model,
    ...(apiKey ? { apiKey } : {}),
    ...(flags.timeoutMs !== undefined ? { timeoutMs: flags.timeoutMs } : {}),
    ...(flags.maxRetries !== undefined ? { maxRetries: flags.maxRetries } : {}),
  };
}
