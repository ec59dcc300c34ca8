/** Makes sure dist/ holds a build of the CLI that is not older than its sources (npm test builds first; a lone vitest run may not). */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

export const ROOT = new URL('../../', import.meta.url).pathname;
export const CLI = join(ROOT, 'dist/cli/main.js');

function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

export function ensureBuilt(): void {
  const targets = ['dist/cli/main.js', 'dist/cli/intervene.js', 'dist/cli/benign.js'].map((p) => join(ROOT, p));
  const sources = Math.max(newest(join(ROOT, 'lib/intervene')), newest(join(ROOT, 'lib/model')), statSync(join(ROOT, 'lib/cli/intervene.ts')).mtimeMs);
  if (targets.every((t) => existsSync(t) && statSync(t).mtimeMs >= sources)) return;
  try {
    execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.build.json')], { stdio: 'ignore' });
  } catch {
    /* tsc emits even when another module of the tree has type errors */
  }
  for (const t of targets) if (!existsSync(t)) throw new Error(`build did not produce ${t}`);
}
