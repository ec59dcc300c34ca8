/**
 * How many tokens a completions request may ask for when the caller set no limit.
 *
 * Why: OpenAI's legacy /v1/completions defaults `max_tokens` to 16, and vLLM follows it, so a
 * continuation sent without a limit is cut after 16 tokens. In completions mode the client therefore
 * always sends one:
 *
 *   max_tokens = explicit limit (per call, else the client's `maxTokens`)
 *              | context - estimatedPromptTokens   where the server reports its context
 *              | DEFAULT_COMPLETION_MAX_TOKENS     where it does not
 *
 * The context comes from `GET /models`, per server:
 *  - vLLM: `data[].max_model_len` (the served context, --max-model-len);
 *  - llama.cpp server: `data[].meta.n_ctx` where present, else `meta.n_ctx_train` (the trained context;
 *    llama.cpp does not reject a larger n_predict, it stops at its own context);
 *  - Ollama: nothing (id, object, created, owned_by only): the default applies.
 *
 * The prompt length is estimated without a tokenizer as ceil(UTF-8 bytes / 3): BPE vocabularies of
 * Qwen/Llama average about 4 bytes per token on English prose, so the estimate leaves room. When a
 * prompt packs more tokens than that (long digit runs), vLLM answers 400 stating the real prompt
 * length; `contextOverflow` reads that answer so the request can be sent once more with the exact
 * remainder.
 */

/** Sent when the server reports no context: the native context of Qwen3 (and a long R1 trace). */
export const DEFAULT_COMPLETION_MAX_TOKENS = 32_768;

/** The context a `GET /models` answer reports for `model`, or undefined. */
export function contextFromModelList(list: unknown, model: string): number | undefined {
  const data = (list as { data?: unknown })?.data;
  if (!Array.isArray(data)) return undefined;
  const entry = (data as Array<Record<string, unknown>>).find((m) => m?.id === model) ?? (data.length === 1 ? data[0] : undefined);
  if (!entry) return undefined;
  const meta = (entry.meta ?? {}) as Record<string, unknown>;
  for (const v of [entry.max_model_len, meta.n_ctx, meta.n_ctx_train, entry.context_length, entry.context_window]) {
    if (typeof v === 'number' && Number.isInteger(v) && v > 0) return v;
  }
  return undefined;
}

/** An upper-leaning estimate of a prompt's token count (see the module comment). */
export function estimatePromptTokens(prompt: string): number {
  return Math.ceil(Buffer.byteLength(prompt, 'utf8') / 3);
}

/** The completion limit to send for a prompt when the caller gave none. */
export function defaultMaxTokens(context: number | undefined, prompt: string): number {
  if (context === undefined) return DEFAULT_COMPLETION_MAX_TOKENS;
  return Math.max(1, context - estimatePromptTokens(prompt));
}

/**
 * The context and the prompt's real token count stated by a server that rejected a too-large
 * max_tokens, or undefined. vLLM's wordings:
 *  - "This model's maximum context length is 4096 tokens. However, you requested 4200 tokens (200 in
 *    the messages, 4000 in the completion). ..."
 *  - "'max_tokens' or 'max_completion_tokens' is too large: 4000. This model's maximum context length
 *    is 4096 tokens and your request has 200 input tokens (4000 > 4096 - 200)."
 */
export function contextOverflow(message: string): { context: number; promptTokens: number } | undefined {
  const context = /maximum context length is (\d+) tokens/i.exec(message)?.[1];
  const prompt = /\((\d+) in the messages/i.exec(message)?.[1] ?? /request has (\d+) input tokens/i.exec(message)?.[1];
  if (!context || !prompt) return undefined;
  return { context: Number(context), promptTokens: Number(prompt) };
}
