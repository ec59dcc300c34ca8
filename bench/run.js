#!/usr/bin/env node
/**
 * `npm run bench` launcher. The benchmark itself is TypeScript (bench/*.ts); this file type-checks
 * and compiles it with the project's own TypeScript compiler into node_modules/.cache/ipo-bench/
 * (ignored by git, and inside the package so that bare imports such as `tinybench` resolve), then
 * runs it in a child Node with --expose-gc so the benchmark can release its 1 GB buffers between
 * cases. Every flag is passed through; see docs/bench.md or `npm run bench -- --help`.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const benchDir = dirname(fileURLToPath(import.meta.url));
const repoRoot = dirname(benchDir);
const outDir = join(repoRoot, 'node_modules', '.cache', 'ipo-bench');

const sources = readdirSync(benchDir)
  .filter((name) => name.endsWith('.ts') && !name.endsWith('.d.ts'))
  .map((name) => join(benchDir, name));

const program = ts.createProgram(sources, {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  strict: true,
  skipLibCheck: true,
  types: ['node'],
  rootDir: benchDir,
  outDir,
});
const diagnostics = ts.getPreEmitDiagnostics(program);
if (diagnostics.length > 0) {
  const host = {
    getCanonicalFileName: (f) => f,
    getCurrentDirectory: () => repoRoot,
    getNewLine: () => '\n',
  };
  process.stderr.write(ts.formatDiagnosticsWithColorAndContext(diagnostics, host));
  process.stderr.write('bench: the benchmark sources do not type-check (see above)\n');
  process.exit(1);
}
rmSync(outDir, { recursive: true, force: true });
mkdirSync(outDir, { recursive: true });
// node_modules/ ends Node's package-scope lookup, so the compiled ESM needs its own marker.
writeFileSync(join(outDir, 'package.json'), '{ "type": "module" }\n');
const emitted = program.emit();
if (emitted.emitSkipped) {
  process.stderr.write('bench: TypeScript emitted nothing\n');
  process.exit(1);
}

const child = spawnSync(process.execPath, ['--expose-gc', join(outDir, 'main.js'), ...process.argv.slice(2)], {
  stdio: 'inherit',
  env: { ...process.env, IPO_BENCH_ROOT: repoRoot },
});
if (child.error) {
  process.stderr.write(`bench: could not start node: ${child.error.message}\n`);
  process.exit(1);
}
process.exit(child.status ?? 1);
