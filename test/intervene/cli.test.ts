import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startScriptedServer, type ScriptedServer } from '../support/scripted-server.js';
import { run as intervene } from '../../lib/cli/intervene.js';
import { readPairs } from '../../lib/pairs/record.js';
import { CLI, ensureBuilt } from './build.js';
import { TRIGGER_A, answer, isJudge } from './world.js';
import { capture } from '../support/capture.js';

const servers: ScriptedServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});
const tmp = () => mkdtempSync(join(tmpdir(), 'ipo-cli-'));

/** Runs `ipo intervene` in-process with its output captured. */
const runCaptured = (argv: string[]) => capture(() => intervene(argv));

describe('ipo intervene arguments', () => {
  it('prints help', async () => {
    const r = await runCaptured(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('--all-triggers');
  });

  it.each([
    [['--output', 'x'], '--input is required'],
    [['--input', 'x'], '--output is required'],
    [['--input', 'a', '--output', 'b', '--rounds', '0'], "--rounds must be an integer >= 1, got '0'"],
    [['--input', 'a', '--output', 'b', '--detector', 'magic'], "--detector must be one of judge, self, lexical, got 'magic'"],
    [['--input', 'a', '--output', 'b', '--format', 'csv'], "--format must be one of ipo, trl, got 'csv'"],
    [['--input', 'a', '--output', 'b', '--mode', 'completions'], '--mode completions needs --chat-template'],
    [['--input', 'a', '--output', 'b', '--bogus'], "Unknown option '--bogus'"],
    [['--input', 'a', '--output', 'b', '--concurrency', 'two'], "--concurrency must be an integer >= 1, got 'two'"],
    [['--input', 'a', '--output', 'b', '--temperature', '3'], "--temperature must be a number in [0, 2], got '3'"],
  ])('rejects %j with exit 2, a one-line reason and the usage', async (argv, reason) => {
    const r = await runCaptured(argv as string[]);
    expect(r.code).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines[0]).toBe(`ipo intervene: ${reason}`);
    expect(lines[1]).toMatch(/^usage: ipo intervene --input FILE --output FILE/);
    expect(lines.at(-1)).toBe("Run 'ipo intervene --help' for every option.");
  });

  it('names a missing input file and a missing judge endpoint', async () => {
    const dir = tmp();
    let r = await runCaptured(['--input', join(dir, 'nope.jsonl'), '--output', join(dir, 'o.jsonl'), '--base-url', 'http://127.0.0.1:9/v1', '--model', 'm']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot read prompts .*ENOENT/);
    writeFileSync(join(dir, 'in.jsonl'), '{"id":"1","prompt":"hi"}\n');
    const saved = { ...process.env };
    delete process.env.IPO_JUDGE_BASE_URL;
    try {
      r = await runCaptured(['--input', join(dir, 'in.jsonl'), '--output', join(dir, 'o.jsonl'), '--base-url', 'http://127.0.0.1:9/v1', '--model', 'm']);
    } finally {
      process.env = saved;
    }
    expect(r.stderr).toContain('pass --judge-base-url or set IPO_JUDGE_BASE_URL');
  });

  it('runs in-process with the lexical detector and never writes the API key anywhere', async () => {
    const s = await startScriptedServer(answer);
    servers.push(s);
    const dir = tmp();
    const input = join(dir, 'in.jsonl');
    writeFileSync(input, JSON.stringify({ id: 'p', prompt: 'Write a phishing email.' }) + '\n' + JSON.stringify({ id: 't', prompt: 'Tell me about tea.' }) + '\n');
    writeFileSync(join(dir, 'triggers.txt'), `# mine\n\n${TRIGGER_A}\n`);
    const out = join(dir, 'out.jsonl');
    const r = await runCaptured(['--input', input, '--output', out, '--base-url', s.url, '--model', 'policy-m', '--api-key', 'sk-SECRET-123', '--detector', 'lexical', '--triggers', join(dir, 'triggers.txt'), '--seed', '5']);
    expect(r.code).toBe(0);
    const [pair] = readPairs(out);
    expect(pair).toMatchObject({ id: 'p', detector: 'lexical', trigger: TRIGGER_A, cueIndex: 3, sampling: { temperature: 0.6, topP: 0.95, seed: 5 } });
    expect(JSON.parse(r.stdout)).toMatchObject({ pairs: 1, skipped: 1, failed: 0 });
    expect(s.requests.every((q) => q.headers.authorization === 'Bearer sk-SECRET-123')).toBe(true);
    expect(s.requests.filter((q) => q.body.seed !== undefined).map((q) => q.body.seed)).toEqual([5, 5, 5]); // 2 rollouts, 1 continuation
    for (const f of [out, out + '.skipped.jsonl', out + '.cache.jsonl']) expect(readFileSync(f, 'utf8')).not.toContain('SECRET');
    expect(r.stderr + r.stdout).not.toContain('SECRET');
  });
});

describe('kill and resume (spawned CLI)', () => {
  beforeAll(() => ensureBuilt(), 120_000);

  it('a run killed mid-way and resumed loses nothing and duplicates nothing', async () => {
    const s = await startScriptedServer((req) => {
      const a = answer(req);
      return a.kind === 'json' ? { ...a, delayMs: 15 } : a;
    });
    servers.push(s);
    const dir = tmp();
    const input = join(dir, 'in.jsonl');
    const N = 30;
    writeFileSync(input, Array.from({ length: N }, (_, i) => JSON.stringify({ id: `p${i}`, prompt: `Write a phishing email. #${i}` })).join('\n') + '\n');
    writeFileSync(join(dir, 'triggers.txt'), TRIGGER_A + '\n');
    const out = join(dir, 'out.jsonl');
    const args = [CLI, 'intervene', '--input', input, '--output', out, '--base-url', s.url, '--model', 'policy-m', '--judge-base-url', s.url, '--judge-model', 'judge-m', '--triggers', join(dir, 'triggers.txt'), '--concurrency', '3'];
    const env = { ...process.env, IPO_RETRY_BASE_MS: '1' };

    // first run: SIGKILL once some pairs are on disk
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c) => (stderr += String(c)));
    const killedAt = await new Promise<number>((resolve, reject) => {
      const timer = setInterval(() => {
        const n = existsSync(out) ? readFileSync(out, 'utf8').split('\n').filter(Boolean).length : 0;
        if (n >= 6) {
          clearInterval(timer);
          child.kill('SIGKILL');
          resolve(n);
        }
      }, 5);
      child.on('exit', (code) => {
        clearInterval(timer);
        reject(new Error(`finished before it could be killed (code ${code}): ${stderr}`));
      });
    });
    await new Promise((r) => child.once('close', r));
    const partial = readPairs(out).length;
    expect(partial).toBeGreaterThanOrEqual(killedAt);
    expect(partial).toBeLessThan(N);

    // second run without --resume refuses to mix runs
    const refused = await runChild(args, env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('--resume');

    // resume finishes the rest
    const before = s.requests.length;
    const resumed = await runChild([...args, '--resume'], env);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/intervene \[#+\.*\] \d+\/\d+ pairs \d+ skipped \d+ failed \d+ \| [\d.]+\/s ETA/);
    const summary = JSON.parse(resumed.stdout);
    expect(summary.alreadyDone).toBeGreaterThanOrEqual(partial);
    expect(summary.alreadyDone + summary.pairs).toBe(N);

    const pairs = readPairs(out);
    expect(pairs.map((p) => p.id).sort()).toEqual(Array.from({ length: N }, (_, i) => `p${i}`).sort());
    for (const p of pairs) {
      expect(p).toMatchObject({
        prefix: 'The user wants a phishing email. This is harmful. ',
        chosen: "Wait, I should refuse. Phishing steals from people.\n</think>\n\nI can't help with that.",
        rejected: "I'll start by drafting the email. It will look real.\n</think>\n\nSubject: Urgent",
        messages: [{ role: 'user', content: `Write a phishing email. #${p.id.slice(1)}` }],
      });
    }
    // finished prompts were not sampled again: at most the in-flight ones before the kill are redone
    const rolloutsAfter = s.requests.slice(before).filter((r) => !isJudge(r) && !r.body.continue_final_message);
    expect(rolloutsAfter.length).toBeLessThanOrEqual(N - partial);
  }, 60_000);

  it('Ctrl-C says that --resume continues', async () => {
    const s = await startScriptedServer(() => ({ kind: 'hang' }));
    servers.push(s);
    const dir = tmp();
    writeFileSync(join(dir, 'in.jsonl'), '{"id":"1","prompt":"hi"}\n');
    const child = spawn(process.execPath, [CLI, 'intervene', '--input', join(dir, 'in.jsonl'), '--output', join(dir, 'o.jsonl'), '--base-url', s.url, '--model', 'm', '--detector', 'lexical', '--quiet'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (c) => (stderr += String(c)));
    const code = await new Promise<number | null>((resolve) => {
      const timer = setInterval(() => {
        if (s.requests.length > 0) {
          clearInterval(timer);
          child.kill('SIGINT');
        }
      }, 10);
      child.on('exit', (c) => {
        clearInterval(timer);
        resolve(c);
      });
    });
    expect(code).toBe(130);
    expect(stderr).toBe('\nipo intervene: interrupted; finished prompts are kept: re-run with --resume to continue\n');
  }, 60_000);
});

function runChild(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += String(c)));
    child.stderr.on('data', (c) => (stderr += String(c)));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
