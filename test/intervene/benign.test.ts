import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chatCompletion, startScriptedServer, type ScriptedServer } from '../support/scripted-server.js';
import { createModelClient } from '../../lib/model/client.js';
import { openCallCache } from '../../lib/intervene/cache.js';
import { runBenign, sideText } from '../../lib/intervene/benign.js';
import { assistantText, readPairs } from '../../lib/pairs/record.js';
import { looksLikeRefusal } from '../../lib/text/refusal.js';
import { run as benignCommand } from '../../lib/cli/benign.js';
import { captured } from '../support/capture.js';
import type { PromptRow } from '../../lib/data/prompts.js';

const benignCli = captured(benignCommand);

const fast = { baseMs: 1, maxMs: 5 };
const servers: ScriptedServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});
const tmp = () => mkdtempSync(join(tmpdir(), 'ipo-benign-'));
const row = (id: string, content: string): PromptRow => ({ id, messages: [{ role: 'user', content }], row: 0 });
const lines = (p: string) => readFileSync(p, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));

/** The base model answers everything except "refuse me"; the stage-1 model refuses everything except "comply". */
async function servePair() {
  const base = await startScriptedServer((req) => {
    const u: string = req.body.messages.at(-1).content;
    return { kind: 'json', body: chatCompletion(u === 'refuse me' ? "<think>\nNo.\n</think>\n\nI'm sorry, I can't." : `<think>\nEasy.\n</think>\n\nHere is how to ${u}.`) };
  });
  const stage1 = await startScriptedServer((req) => {
    const u: string = req.body.messages.at(-1).content;
    return { kind: 'json', body: chatCompletion(u === 'comply' ? 'Sure, done.' : 'I cannot help with that.', { reasoning_content: 'This might be harmful.' }) };
  });
  servers.push(base, stage1);
  return { base, stage1 };
}

describe('ipo benign', () => {
  it('pairs the base answer (chosen) with the stage-1 refusal (rejected) and skips what would teach nothing', async () => {
    const { base, stage1 } = await servePair();
    const dir = tmp();
    const out = join(dir, 'benign.jsonl');
    const summary = await runBenign({
      prompts: [row('k', 'kill a Python process'), row('r', 'refuse me'), row('c', 'comply')],
      output: out,
      format: 'ipo',
      resume: false,
      policy: createModelClient({ baseUrls: [base.url], model: 'base-m', backoff: fast }),
      refusal: { kind: 'model', client: createModelClient({ baseUrls: [stage1.url], model: 'stage1-m', backoff: fast }) },
      sampling: { temperature: 0.6, topP: 0.95 },
      cache: openCallCache(join(dir, 'cache.jsonl')),
      concurrency: 2,
      progress: null,
    });
    expect(summary).toMatchObject({ pairs: 1, skipped: 2, failed: 0 });
    const [pair] = readPairs(out);
    expect(pair).toEqual({
      id: 'k',
      kind: 'benign',
      unit: 'benign',
      messages: [{ role: 'user', content: 'kill a Python process' }],
      prefix: '',
      cueIndex: 0,
      cueSentence: null,
      trigger: null,
      chosen: 'Easy.\n</think>\n\nHere is how to kill a Python process.',
      rejected: 'This might be harmful.\n</think>\n\nI cannot help with that.',
      rounds: 0,
      detector: 'none',
      model: 'base-m',
      rejectedModel: 'stage1-m',
      sampling: { temperature: 0.6, topP: 0.95 },
    });
    expect(assistantText(pair, 'rejected')).toBe('<think>\nThis might be harmful.\n</think>\n\nI cannot help with that.');
    expect(lines(out + '.skipped.jsonl').sort((a, b) => a.id.localeCompare(b.id))).toEqual([
      { id: 'c', unit: 'benign', reason: 'the rejected answer does not refuse' },
      { id: 'r', unit: 'benign', reason: 'the chosen answer refuses' },
    ]);
  });

  it('CLI: XSTest safe rows by default, refusal texts from a file, resume', async () => {
    const { base } = await servePair();
    const dir = tmp();
    const refusals = join(dir, 'refusals.txt');
    writeFileSync(refusals, "# fixed refusals\nI'm sorry, but I can't help with that.\n");
    const out = join(dir, 'b.jsonl');
    const input = new URL('./fixtures/xstest_prompts.csv', import.meta.url).pathname;
    const argv = ['--input', input, '--output', out, '--base-url', base.url, '--model', 'base-m', '--refusals', refusals, '--quiet'];
    expect(await benignCli(argv)).toBe(0);
    expect(benignCli.last.stderr).toMatch(new RegExp(`^benign: 2 pairs, 0 skipped, 0 failed, 0 already done \\(2 prompts, [\\d.]+ s\\) -> ${out}\n$`));
    const pairs = readPairs(out);
    expect(pairs.map((p) => p.id)).toEqual(['1', '2']);
    expect(pairs[0].rejected).toBe("\n</think>\n\nI'm sorry, but I can't help with that.");
    expect(pairs[0].rejectedModel).toBe('refusal-texts');
    const requests = base.requests.length;
    expect(await benignCli([...argv, '--resume'])).toBe(0);
    expect(JSON.parse(benignCli.last.stdout)).toMatchObject({ prompts: 2, alreadyDone: 2, pairs: 0 });
    expect(readPairs(out)).toHaveLength(2);
    expect(base.requests.length).toBe(requests);
  });

  it('a side without reasoning is an empty reasoning', () => {
    expect(sideText('Plain answer.')).toBe('\n</think>\n\nPlain answer.');
    expect(sideText('<think>\nR.\n</think>\nA.')).toBe('R.\n</think>\nA.');
  });

  it('recognises refusals by their opening', () => {
    expect(looksLikeRefusal("I'm sorry, but I can't help with that.")).toBe(true);
    expect(looksLikeRefusal('I cannot assist with this request.')).toBe(true);
    expect(looksLikeRefusal('To kill a Python process, run kill PID. It cannot hurt.')).toBe(false);
  });
});
