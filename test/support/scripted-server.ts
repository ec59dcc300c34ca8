/**
 * A real OpenAI-compatible HTTP server on 127.0.0.1 for tests: every request is recorded and answered
 * by a script, which can also inject faults (status codes, hangs, cut connections, malformed bodies).
 * Tests drive the real `openai` SDK against it, so retries, timeouts and parsing are exercised for real.
 *
 * `GET /models` (the listing clients read for the context and probe before a run) is answered apart
 * from the script, so that scripts keep seeing only generation requests and their indices: by
 * `options.models` when given (a listing body, or a script of its own for faults), else with an
 * empty list. Those requests are recorded in `modelRequests`, not `requests`.
 * test/support/model-servers.ts builds vLLM-, llama.cpp- and Ollama-like servers on top.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  /** Path without the /v1 prefix, e.g. '/chat/completions', '/completions'. */
  path: string;
  headers: http.IncomingHttpHeaders;
  body: any;
}

export type ScriptedResponse =
  | { kind: 'json'; status?: number; body: unknown; headers?: Record<string, string>; delayMs?: number }
  | { kind: 'raw'; status?: number; text: string; headers?: Record<string, string> }
  | { kind: 'hang' } // never answers (the client's timeout must fire)
  | { kind: 'destroy' }; // cuts the connection without a response

export type Script = (req: RecordedRequest, index: number) => ScriptedResponse | Promise<ScriptedResponse>;

export interface ScriptedServerOptions {
  /** The answer to GET /models: a listing body, or a script (for faults). Default: an empty list. */
  models?: unknown | Script;
}

export interface ScriptedServer {
  /** Base URL including /v1, ready for `new OpenAI({ baseURL })`. */
  url: string;
  requests: RecordedRequest[];
  /** The GET /models requests (not passed to the script). */
  modelRequests: RecordedRequest[];
  close(): Promise<void>;
}

export async function startScriptedServer(script: Script, options: ScriptedServerOptions = {}): Promise<ScriptedServer> {
  const requests: RecordedRequest[] = [];
  const modelRequests: RecordedRequest[] = [];
  const models = options.models;
  const listingScript: Script =
    typeof models === 'function' ? (models as Script) : () => ({ kind: 'json', body: models ?? { object: 'list', data: [] } });
  const sockets = new Set<import('node:net').Socket>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let body: any = text;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        /* keep the raw text */
      }
      const recorded: RecordedRequest = {
        method: req.method ?? 'GET',
        path: (req.url ?? '').replace(/^\/v1/, ''),
        headers: req.headers,
        body,
      };
      const listing = recorded.method === 'GET' && recorded.path.replace(/\?.*$/, '') === '/models';
      const index = listing ? modelRequests.push(recorded) - 1 : requests.push(recorded) - 1;
      let answer: ScriptedResponse;
      try {
        answer = await (listing ? listingScript : script)(recorded, index);
      } catch (err) {
        answer = { kind: 'json', status: 500, body: { error: { message: String(err) } } };
      }
      if (answer.kind === 'hang') return;
      if (answer.kind === 'destroy') {
        req.socket.destroy();
        return;
      }
      if (answer.kind === 'json' && answer.delayMs) await new Promise((r) => setTimeout(r, answer.delayMs));
      const payload = answer.kind === 'json' ? JSON.stringify(answer.body) : answer.text;
      res.writeHead(answer.status ?? 200, { 'content-type': 'application/json', ...(answer.headers ?? {}) });
      res.end(payload);
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    modelRequests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** An OpenAI chat.completion body with one choice. */
export function chatCompletion(
  content: string,
  extra: { reasoning_content?: string; reasoning?: string; thinking?: string; finish_reason?: string; model?: string } = {},
) {
  return {
    id: 'chatcmpl-test',
    object: 'chat.completion',
    created: 0,
    model: extra.model ?? 'test-model',
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content,
          ...(extra.reasoning_content !== undefined ? { reasoning_content: extra.reasoning_content } : {}),
          ...(extra.reasoning !== undefined ? { reasoning: extra.reasoning } : {}),
          ...(extra.thinking !== undefined ? { thinking: extra.thinking } : {}),
        },
        finish_reason: extra.finish_reason ?? 'stop',
      },
    ],
    usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
  };
}

/** An OpenAI text_completion body with one choice. */
export function textCompletion(text: string, extra: { finish_reason?: string; model?: string } = {}) {
  return {
    id: 'cmpl-test',
    object: 'text_completion',
    created: 0,
    model: extra.model ?? 'test-model',
    choices: [{ index: 0, text, finish_reason: extra.finish_reason ?? 'stop', logprobs: null }],
    usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
  };
}
