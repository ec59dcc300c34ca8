/**
 * The import graph of lib/ has no cycles and no upward arrows: shared infrastructure (lib/run) and
 * the loss import nothing above them, intervene and eval do not reach into each other, and nothing
 * but the CLI imports the CLI. Read from the sources' relative imports (static and dynamic).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const lib = join(import.meta.dirname, '..', '..', 'lib');

function graph(): Map<string, Set<string>> {
  const edges = new Map<string, Set<string>>();
  for (const entry of readdirSync(lib, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts')) continue;
    const file = join(entry.parentPath, entry.name);
    const from = relative(lib, file);
    const targets = new Set<string>();
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/(?:from\s+|import\()'(\.{1,2}\/[^']+)'/g)) targets.add(relative(lib, normalize(join(dirname(file), m[1]!.replace(/\.js$/, '.ts')))));
    edges.set(from, targets);
  }
  return edges;
}

const area = (file: string) => (file.includes('/') ? file.split('/')[0]! : file);

describe('lib import graph', () => {
  const edges = graph();

  it('has no cycle', () => {
    const state = new Map<string, 'open' | 'done'>();
    const cycles: string[][] = [];
    const visit = (node: string, path: string[]) => {
      state.set(node, 'open');
      for (const next of edges.get(node) ?? []) {
        if (state.get(next) === 'open') cycles.push([...path.slice(path.indexOf(next)), next]);
        else if (!state.has(next)) visit(next, [...path, next]);
      }
      state.set(node, 'done');
    };
    for (const node of edges.keys()) if (!state.has(node)) visit(node, [node]);
    expect(cycles).toEqual([]);
  });

  it('has no upward arrow between areas', () => {
    // area -> the areas it may import (besides itself)
    const allowed: Record<string, string[]> = {
      run: [],
      loss: [],
      text: ['run'],
      model: ['run'],
      tfjs: ['loss'],
      pairs: ['model', 'run'],
      data: ['loss', 'model', 'run'],
      intervene: ['data', 'model', 'pairs', 'run', 'text'],
      eval: ['data', 'model', 'run', 'text'],
      train: ['data', 'loss', 'pairs', 'run', 'tfjs'],
    };
    const wrong: string[] = [];
    for (const [from, targets] of edges) {
      const a = area(from);
      if (!(a in allowed)) continue; // cli and the entry points sit on top
      for (const to of targets) if (area(to) !== a && !allowed[a]!.includes(area(to))) wrong.push(`${from} -> ${to}`);
    }
    expect(wrong).toEqual([]);
  });
});
