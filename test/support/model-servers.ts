/**
 * Scripted servers that behave like the real OpenAI-compatible servers users run, on top of
 * test/support/scripted-server.ts. A `write` function says what the "model" would write in full for a
 * request; the server then applies the real server's rules to it:
 *
 * - vLLM (vllm/entrypoints/openai): GET /models lists the model with `max_model_len`; an unknown model
 *   is a 404 `{"error":{"message","type":"NotFoundError","code":404}}`; /v1/completions without `max_tokens` stops
 *   after 16 tokens (OpenAI's legacy default, finish_reason 'length'); prompt + max_tokens beyond
 *   max_model_len is a 400 that states both numbers; chat without max_tokens may use the rest of
 *   the context; with a reasoning parser the reasoning goes to `reasoning_content` (or `reasoning`,
 *   newer versions) and `content` keeps the answer only.
 * - llama.cpp server: GET /models lists the model with `meta.n_ctx_train`; reasoning in
 *   `reasoning_content`; any model name is accepted.
 * - Ollama (OpenAI-compatible /v1): GET /models lists ids only; reasoning in `thinking` here, as its
 *   native API names it.
 *
 * Tokens are counted by a toy rule, one token per 4 UTF-8 bytes (truncation cuts at that boundary).
 */
import { chatCompletion, startScriptedServer, textCompletion, type RecordedRequest, type ScriptedResponse, type ScriptedServer } from './scripted-server.js';

export const TOY_BYTES_PER_TOKEN = 4;
export const toyTokenCount = (text: string) => Math.ceil(Buffer.byteLength(text, 'utf8') / TOY_BYTES_PER_TOKEN);
/** The first `tokens` toy tokens of a text. */
export function toyTruncate(text: string, tokens: number): string {
  return Buffer.from(text, 'utf8').subarray(0, tokens * TOY_BYTES_PER_TOKEN).toString('utf8');
}

export type ServerKind = 'vllm' | 'llama.cpp' | 'ollama';

export interface ModelServerOptions {
  kind: ServerKind;
  model: string;
  /** The served context (vLLM max_model_len, llama.cpp n_ctx_train). */
  context?: number;
  /** Where the reasoning goes in chat answers; undefined: left in content as <think>. */
  reasoningField?: 'reasoning_content' | 'reasoning' | 'thinking';
  /** What the model writes in full for this request (completions: the continuation of the prompt). */
  write: (req: RecordedRequest) => string;
  /** Generation requests answered by this instead (faults); return undefined to answer normally. */
  fault?: (req: RecordedRequest, index: number) => ScriptedResponse | undefined;
}

function listing(o: ModelServerOptions) {
  const base = { id: o.model, object: 'model', created: 0, owned_by: o.kind === 'vllm' ? 'vllm' : o.kind === 'ollama' ? 'library' : 'llamacpp' };
  if (o.kind === 'vllm') return { object: 'list', data: [{ ...base, root: o.model, parent: null, max_model_len: o.context ?? 4096, permission: [] }] };
  if (o.kind === 'llama.cpp') return { object: 'list', data: [{ ...base, meta: { vocab_type: 2, n_vocab: 151936, n_ctx_train: o.context ?? 4096, n_embd: 1024, n_params: 1, size: 1 } }] };
  return { object: 'list', data: [base] };
}

/** Splits "<think>R</think>A" (or "R</think>A" when the prompt opened the reasoning) like vLLM's deepseek_r1 parser. */
function splitReasoning(text: string): { reasoning?: string; content: string } {
  const close = text.indexOf('</think>');
  // no close tag: all of it is (cut-off) reasoning, as vLLM's deepseek_r1 parser returns it
  if (close < 0) return { reasoning: text.replace(/^<think>\n?/, ''), content: '' };
  return { reasoning: text.slice(0, close).replace(/^<think>\n?/, ''), content: text.slice(close + '</think>'.length).replace(/^\n+/, '') };
}

export async function startModelServer(o: ModelServerOptions): Promise<ScriptedServer> {
  const context = o.context ?? 4096;
  return startScriptedServer(
    (req, index) => {
      const fault = o.fault?.(req, index);
      if (fault) return fault;
      if (o.kind !== 'llama.cpp' && req.body?.model !== o.model) {
        return o.kind === 'vllm'
          ? { kind: 'json', status: 404, body: { error: { message: `The model \`${req.body?.model}\` does not exist.`, type: 'NotFoundError', param: null, code: 404 } } }
          : { kind: 'json', status: 404, body: { error: { message: `model "${req.body?.model}" not found, try pulling it first`, type: 'api_error' } } };
      }
      const promptText = req.path === '/completions' ? String(req.body.prompt) : JSON.stringify(req.body.messages);
      const promptTokens = toyTokenCount(promptText);
      const requested: number | undefined = req.body.max_tokens;
      if (o.kind === 'vllm' && requested !== undefined && promptTokens + requested > context) {
        return {
          kind: 'json',
          status: 400,
          body: {
            error: {
              message: `'max_tokens' or 'max_completion_tokens' is too large: ${requested}. This model's maximum context length is ${context} tokens and your request has ${promptTokens} input tokens (${requested} > ${context} - ${promptTokens}).`,
              type: 'BadRequestError',
              param: null,
              code: 400,
            },
          },
        };
      }
      // vLLM's legacy completions default is 16; otherwise the rest of the context
      const limit = requested ?? (req.path === '/completions' && o.kind === 'vllm' ? 16 : context - promptTokens);
      const full = o.write(req);
      const cut = toyTokenCount(full) > limit;
      const text = cut ? toyTruncate(full, limit) : full;
      const finish_reason = cut ? 'length' : 'stop';
      if (req.path === '/completions') return { kind: 'json', body: textCompletion(text, { finish_reason, model: o.model }) };
      if (!o.reasoningField) return { kind: 'json', body: chatCompletion(text, { finish_reason, model: o.model }) };
      const { reasoning, content } = splitReasoning(text);
      return { kind: 'json', body: chatCompletion(content, { finish_reason, model: o.model, ...(reasoning !== undefined ? { [o.reasoningField]: reasoning } : {}) }) };
    },
    { models: listing(o) },
  );
}
