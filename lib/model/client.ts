/**
 * ModelClient over the `openai` SDK (v6) for any OpenAI-compatible server (vLLM, Ollama, llama.cpp
 * server, OpenAI).
 *
 * - Replicas: requests go round-robin over `baseUrls`; a retry goes to the next replica.
 * - Retries: our own loop (the SDK's is switched off so that a retry can change replica) on
 *   connection errors, timeouts, 408/409/429/5xx and malformed bodies, with jittered exponential
 *   backoff (lib/model/retry.ts). `maxRetries` retries after the first try.
 * - Reasoning: read from `<think>...</think>` in the content or from a separate field of the message:
 *   `reasoning_content` (vLLM's reasoning parsers, llama.cpp server, DeepSeek's API), `reasoning`
 *   (newer vLLM), `thinking` (Ollama). The client does not stream.
 * - Completions mode always sends `max_tokens` (lib/model/context.ts): the caller's, else the
 *   client's `maxTokens`, else the server's context (from GET /models) minus the prompt.
 * - Errors name the server: a dead one says "Connection error: cannot reach URL (ECONNREFUSED)", not
 *   the SDK's bare "Connection error.". `probe()` checks every replica once before a run
 *   (lib/model/probe.ts).
 * - Continuing a partial assistant turn: mode 'chat' sends it as the last message with vLLM's
 *   `continue_final_message: true, add_generation_prompt: false`; mode 'completions' renders the chat
 *   template into a raw prefix (lib/model/chat-template.ts) and calls /completions.
 * The API key is only ever handed to the SDK: it is not logged and not put in errors.
 */
import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError } from 'openai';
import type { ChatMessage, EndpointConfig, Generation, ModelClient, SamplingOptions } from './types.js';
import { type ChatTemplate, renderContinuation, renderPrompt } from './chat-template.js';
import { DEFAULT_CLOSING, parseTrace, combineReasoning } from './reasoning.js';
import { contextFromModelList, contextOverflow, defaultMaxTokens } from './context.js';
import { formatError } from '../run/errors.js';
import { type BackoffOptions, DEFAULT_BACKOFF, MalformedResponseError, isRetryable, retryDelayMs, sleep } from './retry.js';

export type ContinuationMode = 'chat' | 'completions';

export interface ModelClientOptions extends EndpointConfig {
  mode?: ContinuationMode;
  chatTemplate?: ChatTemplate;
  /** Backoff between retries (defaults: 500 ms base, 20 s cap; env IPO_RETRY_BASE_MS / IPO_RETRY_MAX_MS). */
  backoff?: BackoffOptions;
  /** Called before each retry (for progress/logging). */
  onRetry?: (info: { attempt: number; delayMs: number; error: string; baseUrl: string }) => void;
  /**
   * Completion limit for calls that set none (the CLI's `--max-tokens`). In completions mode, when
   * neither is set, the server's context minus the prompt is sent (lib/model/context.ts).
   */
  maxTokens?: number;
}

/** What one replica answered to GET /models. */
export interface ReplicaReport {
  baseUrl: string;
  /** The model ids it lists. */
  models: string[];
  /** The context it reports for the client's model, if any. */
  context?: number;
}

/** A client made by createModelClient: the ModelClient calls plus the endpoint checks. */
export interface EndpointClient extends ModelClient {
  readonly stats: ClientStats;
  readonly baseUrls: readonly string[];
  /** GET /models on every replica, once, no retries; throws ProbeError naming the URL and the answer. */
  probe(): Promise<ReplicaReport[]>;
}

/** A replica that cannot serve the run: unreachable, an HTTP error, or the model is not listed. */
export class ProbeError extends Error {
  override name = 'ProbeError';
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

export function createModelClient(config: ModelClientOptions): EndpointClient {
  if (!config.baseUrls.length) throw new Error('no base URL for the model endpoint');
  if (!config.model) throw new Error('no model name for the model endpoint');
  if (config.maxTokens !== undefined && !(Number.isInteger(config.maxTokens) && config.maxTokens >= 1)) {
    throw new Error(`maxTokens must be an integer >= 1 (got ${config.maxTokens})`);
  }
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
        if (attempt >= maxRetries || !isRetryable(err)) throw namingServer(err, config.baseUrls[index]);
        const delayMs = retryDelayMs(attempt, err, backoff);
        stats.retries++;
        config.onRetry?.({ attempt: attempt + 1, delayMs, error: formatError(err), baseUrl: config.baseUrls[index] });
        await sleep(delayMs);
      }
    }
  }

  function sampling(options: SamplingOptions | undefined): Record<string, unknown> {
    const body: Record<string, unknown> = {
      temperature: options?.temperature ?? DEFAULT_TEMPERATURE,
      top_p: options?.topP ?? DEFAULT_TOP_P,
    };
    const maxTokens = options?.maxTokens ?? config.maxTokens;
    if (maxTokens !== undefined) body.max_tokens = maxTokens;
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
      return {
        content: (message.content as string | null) ?? '',
        reasoning: reasoningField(message),
        finishReason: choice?.finish_reason ?? undefined,
      };
    });
  }

  // The served context, read once from GET /models (undefined where the server reports none).
  let context: Promise<number | undefined> | undefined;
  function servedContext(): Promise<number | undefined> {
    context ??= (async () => {
      for (const sdk of sdks) {
        try {
          const found = contextFromModelList(await sdk.get('/models', { timeout: 30_000 }), config.model);
          if (found !== undefined) return found;
        } catch {
          /* no listing on this replica: try the next, else the documented default */
        }
      }
      return undefined;
    })();
    return context;
  }

  async function completionRequest(prompt: string, options: SamplingOptions | undefined): Promise<{ text: string; finishReason?: string }> {
    const explicit = options?.maxTokens ?? config.maxTokens;
    let maxTokens = explicit ?? defaultMaxTokens(await servedContext(), prompt);
    const send = () =>
      withRetries(async (sdk) => {
        const body = { model: config.model, prompt, ...sampling(options), max_tokens: maxTokens };
        const res = (await sdk.completions.create(body as unknown as OpenAI.CompletionCreateParamsNonStreaming)) as unknown;
        const choice = (res as { choices?: Array<{ text?: unknown; finish_reason?: string }> })?.choices?.[0];
        if (!choice || typeof choice.text !== 'string') throw new MalformedResponseError('completion without text');
        return { text: choice.text, finishReason: choice.finish_reason ?? undefined };
      });
    try {
      return await send();
    } catch (err) {
      // our estimate of the prompt was short: the server said the real length, ask for the remainder
      const overflow = explicit === undefined && err instanceof APIError && err.status === 400 ? contextOverflow(err.message) : undefined;
      if (!overflow || overflow.context - overflow.promptTokens < 1 || overflow.context - overflow.promptTokens >= maxTokens) throw err;
      maxTokens = overflow.context - overflow.promptTokens;
      return send();
    }
  }

  async function probe(): Promise<ReplicaReport[]> {
    const reports: ReplicaReport[] = [];
    for (const [i, sdk] of sdks.entries()) {
      const baseUrl = config.baseUrls[i];
      let listing: unknown;
      try {
        listing = await sdk.get('/models', { timeout: Math.min(config.timeoutMs ?? DEFAULT_TIMEOUT_MS, 30_000) });
      } catch (err) {
        throw new ProbeError(probeFailure(baseUrl, err));
      }
      const data = (listing as { data?: unknown })?.data;
      if (!Array.isArray(data)) throw new ProbeError(`${baseUrl}/models did not answer a model list (is the base URL right? it usually ends in /v1): ${JSON.stringify(listing).slice(0, 200)}`);
      const models = (data as Array<{ id?: unknown }>).map((m) => String(m?.id));
      if (models.length > 0 && !models.includes(config.model)) {
        throw new ProbeError(`${baseUrl} does not serve model "${config.model}" (it serves: ${models.slice(0, 10).join(', ')})`);
      }
      const found = contextFromModelList(listing, config.model);
      reports.push({ baseUrl, models, ...(found !== undefined ? { context: found } : {}) });
    }
    const known = reports.find((r) => r.context !== undefined)?.context;
    if (known !== undefined) context ??= Promise.resolve(known);
    return reports;
  }

  function generation(raw: string, finishReason: string | undefined): Generation {
    const parsed = parseTrace(raw);
    return { reasoning: parsed.reasoning, answer: parsed.answer, raw, finishReason };
  }

  return {
    model: config.model,
    stats,
    baseUrls: config.baseUrls,
    probe,
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

/** The reasoning a server returned beside the content, under any of the names servers use. */
export function reasoningField(message: Record<string, unknown>): string | undefined {
  for (const key of ['reasoning_content', 'reasoning', 'thinking']) {
    const v = message[key];
    if (typeof v === 'string' && v !== '') return v;
  }
  return undefined;
}

/** The SDK says "Connection error." and HTTP errors do not name the server: add the URL. */
function namingServer(err: unknown, baseUrl: string): unknown {
  if (err instanceof APIConnectionError) {
    const code = (err.cause as NodeJS.ErrnoException | undefined)?.code ?? (err.cause as { cause?: NodeJS.ErrnoException } | undefined)?.cause?.code;
    const what = err instanceof APIConnectionTimeoutError ? 'timed out' : `cannot reach it${code ? ` (${code})` : ''}`;
    const named = err instanceof APIConnectionTimeoutError ? new APIConnectionTimeoutError({ message: `Request timed out: ${baseUrl}` }) : new APIConnectionError({ message: `Connection error: ${baseUrl}: ${what}`, cause: err.cause as Error | undefined });
    return named;
  }
  if (err instanceof APIError && !err.message.includes(baseUrl)) err.message = `${err.message} (${baseUrl})`;
  return err;
}

function probeFailure(baseUrl: string, err: unknown): string {
  const named = namingServer(err, baseUrl);
  if (named instanceof APIError && named.status !== undefined) {
    const hint = named.status === 404 ? ' (is the base URL right? it usually ends in /v1)' : '';
    return `${baseUrl}/models answered HTTP ${named.status}${hint}: ${named.message}`;
  }
  return named instanceof Error ? named.message : String(named);
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
