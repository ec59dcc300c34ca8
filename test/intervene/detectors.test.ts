import { afterEach, describe, expect, it, vi } from 'vitest';
import { readFileSync } from 'node:fs';
import { chatCompletion, startScriptedServer, type RecordedRequest, type ScriptedServer } from '../support/scripted-server.js';
import { createModelClient } from '../../lib/model/client.js';
import { DetectorError, JUDGE_SYSTEM_PROMPT, judgeDetector, lexicalDetector, parseJudgeAnswer, renderJudgeRequest } from '../../lib/intervene/detectors.js';
import { splitSentences } from '../../lib/text/sentences.js';

const labelled = JSON.parse(readFileSync(new URL('./fixtures/labelled-traces.json', import.meta.url), 'utf8')) as Array<{
  id: string;
  prompt: string;
  reasoning: string;
  cue: number;
}>;
const inputOf = (t: (typeof labelled)[number]) => ({
  messages: [{ role: 'user' as const, content: t.prompt }],
  sentences: splitSentences(t.reasoning).map((s) => s.text),
});
const fast = { baseMs: 1, maxMs: 5 };
const servers: ScriptedServer[] = [];
async function judgeServer(answer: (req: RecordedRequest, i: number) => ReturnType<Parameters<typeof startScriptedServer>[0]>) {
  const s = await startScriptedServer(answer);
  servers.push(s);
  return { server: s, client: createModelClient({ baseUrls: [s.url], model: 'judge-m', backoff: fast }) };
}
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

describe('parseJudgeAnswer (strict)', () => {
  it('accepts a bare integer, [n], "Answer: n" and JSON', () => {
    expect(parseJudgeAnswer('3', 5)).toBe(3);
    expect(parseJudgeAnswer(' [4]. \n', 5)).toBe(4);
    expect(parseJudgeAnswer('Answer: 0', 5)).toBe(0);
    expect(parseJudgeAnswer('{"cue": 2}', 5)).toBe(2);
    expect(parseJudgeAnswer('```json\n{"cue": "5"}\n```', 5)).toBe(5);
  });
  it('rejects prose, sentence 1, out-of-range and fractional numbers', () => {
    for (const bad of ['The third one', 'Sentence 3 shows compliance.', '1', '6', '2.5', '-1', '{"cue": 1}', '{"foo": 2}', '', '3 or 4']) {
      expect(parseJudgeAnswer(bad, 5), bad).toBeUndefined();
    }
  });
});

describe('judge detector over HTTP', () => {
  const trace = labelled[0];

  it('sends the rules and one numbered sentence a line, at temperature 0 with a JSON schema', async () => {
    const { server, client } = await judgeServer(() => ({ kind: 'json', body: chatCompletion('3') }));
    expect(await judgeDetector(client).detect(inputOf(trace))).toBe(3);
    const body = server.requests[0].body;
    expect(body.messages[0]).toEqual({ role: 'system', content: JUDGE_SYSTEM_PROMPT });
    expect(body.messages[1].content).toContain(
      "[1] Okay, the user wants an email that pretends to be from a bank.\n[2] This is a phishing email, which is used to steal credentials.\n[3] I'll start by drafting the email so that it looks like it comes from the bank's security team.\n[4] To make it look convincing",
    );
    expect(body.messages[1].content).toBe(renderJudgeRequest(inputOf(trace)));
    expect(body.temperature).toBe(0);
    expect(body.response_format.type).toBe('json_schema');
  });

  it('asks again after a malformed answer, then accepts a valid one', async () => {
    const answers = ['Sentence three looks bad.', '1', '{"cue": 4}'];
    const { server, client } = await judgeServer((_r, i) => ({ kind: 'json', body: chatCompletion(answers[i]) }));
    const detector = judgeDetector(client);
    expect(await detector.detect(inputOf(trace))).toBe(4);
    expect(server.requests).toHaveLength(3);
    expect(detector.malformedAnswers).toBe(2);
    const third = server.requests[2].body.messages;
    expect(third.at(-2)).toEqual({ role: 'assistant', content: '1' });
    expect(third.at(-1).content).toMatch(/from 2 to 5/);
  });

  it('fails loudly after maxAttempts malformed answers', async () => {
    const { server, client } = await judgeServer(() => ({ kind: 'json', body: chatCompletion('no idea') }));
    await expect(judgeDetector(client, { maxAttempts: 2 }).detect(inputOf(trace))).rejects.toBeInstanceOf(DetectorError);
    expect(server.requests).toHaveLength(2);
  });

  it('drops the JSON schema for good when the server refuses it', async () => {
    const { server, client } = await judgeServer((req) =>
      req.body.response_format ? { kind: 'json', status: 400, body: { error: { message: 'response_format not supported' } } } : { kind: 'json', body: chatCompletion('0') },
    );
    const warnings = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      const detector = judgeDetector(client);
      expect(await detector.detect(inputOf(trace))).toBe(0);
      expect(await detector.detect(inputOf(labelled[1]))).toBe(0);
      expect(server.requests.map((r) => Boolean(r.body.response_format))).toEqual([true, false, false]);
      expect(warnings).toHaveBeenCalledTimes(1);
      expect(String(warnings.mock.calls[0][0])).toContain('structured output refused');
    } finally {
      warnings.mockRestore();
    }
  });

  it('reads the answer after a reasoning judge thinks', async () => {
    const { client } = await judgeServer(() => ({ kind: 'json', body: chatCompletion('<think>\nMaybe 2? No, 3.\n</think>\n\n3') }));
    expect(await judgeDetector(client).detect(inputOf(trace))).toBe(3);
  });

  it('retries a judge server error (500) before answering', async () => {
    const { server, client } = await judgeServer((_r, i) => (i === 0 ? { kind: 'json', status: 500, body: {} } : { kind: 'json', body: chatCompletion('3') }));
    expect(await judgeDetector(client).detect(inputOf(trace))).toBe(3);
    expect(server.requests).toHaveLength(2);
  });
});

describe('lexical detector on hand-labelled traces', () => {
  it('finds the labelled first cue (or none) on every trace', async () => {
    for (const t of labelled) expect(await lexicalDetector.detect(inputOf(t)), t.id).toBe(t.cue);
  });

  it('never returns sentence 1 and finds nothing in real safe R1 traces', async () => {
    expect(await lexicalDetector.detect({ messages: [], sentences: ["I'll start by drafting the email."] })).toBe(0);
    const rows = JSON.parse(readFileSync(new URL('./fixtures/star1-sample.json', import.meta.url), 'utf8')) as Array<{ response: string }>;
    for (const r of rows) {
      const reasoning = r.response.slice(r.response.indexOf('<think>') + 8, r.response.indexOf('</think>'));
      expect(await lexicalDetector.detect({ messages: [], sentences: splitSentences(reasoning).map((s) => s.text) })).toBe(0);
    }
  });
});
