/**
 * The benchmarks `ipo eval` knows by name, and user files. Rows (ids, messages, HarmBench context)
 * come from the shared loader (lib/data/prompts.ts); this module adds what evaluation needs on top:
 * whether a prompt is harmful or benign, and its category.
 *
 *   name          file                                  prompts                  category column
 *   jbb           jbb_harmful-behaviors.csv             harmful                  category
 *   jbb-benign    jbb_benign-behaviors.csv              benign                   category
 *   strongreject  strongreject_dataset.csv              harmful                  category
 *   harmbench     harmbench_behaviors_text_test.csv     harmful                  SemanticCategory
 *   advbench      advbench_harmful_behaviors.csv        harmful                  (none: 'all')
 *   xstest        xstest_prompts.csv                    label safe -> benign,    type
 *                                                       unsafe -> harmful
 * A user FILE (.csv, .json, .jsonl): harmful unless a row says otherwise (`label` safe/benign, or a
 * boolean `harmful`), or --benign marks every row benign; category from `category` (else 'all').
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadPrompts, parseCsv, type PromptRow } from '../data/prompts.js';
import type { EvalPrompt } from './run-eval.js';
import { parseJsonlText } from '../run/jsonl.js';

interface BenchmarkSpec {
  file: string;
  kind: 'harmful' | 'benign' | 'label';
  categoryField?: string;
}

export const SAFETY_BENCHMARKS: Record<string, BenchmarkSpec> = {
  jbb: { file: 'jbb_harmful-behaviors.csv', kind: 'harmful', categoryField: 'category' },
  'jbb-benign': { file: 'jbb_benign-behaviors.csv', kind: 'benign', categoryField: 'category' },
  strongreject: { file: 'strongreject_dataset.csv', kind: 'harmful', categoryField: 'category' },
  harmbench: { file: 'harmbench_behaviors_text_test.csv', kind: 'harmful', categoryField: 'semanticcategory' },
  advbench: { file: 'advbench_harmful_behaviors.csv', kind: 'harmful' },
  xstest: { file: 'xstest_prompts.csv', kind: 'label', categoryField: 'type' },
};

/**
 * Folders searched for a named benchmark's file, in order: --data-dir, $IPO_DATA_DIR, then the
 * package's data/benchmarks/ and data/.
 */
export function benchmarkSearchPath(dataDir?: string): string[] {
  const pkgData = fileURLToPath(new URL('../../data/', import.meta.url));
  // An explicit --data-dir is the only place looked at: a typo must not silently fall back to the shipped copy.
  if (dataDir) return [dataDir];
  return [process.env.IPO_DATA_DIR, join(pkgData, 'benchmarks'), pkgData].filter((d): d is string => !!d);
}

export function resolveBenchmarkFile(name: string, dataDir?: string): string {
  const spec = SAFETY_BENCHMARKS[name];
  if (!spec) throw new Error(`unknown benchmark '${name}'`);
  const dirs = benchmarkSearchPath(dataDir);
  for (const dir of dirs) {
    const path = join(dir, spec.file);
    if (existsSync(path)) return path;
  }
  throw new Error(`benchmark '${name}': ${spec.file} not found in ${dirs.join(', ')} (pass --data-dir or the file itself)`);
}

/** The raw records of a prompt file in file order, keys lower-cased (for the fields PromptRow drops). */
function rawRecords(path: string): Array<Record<string, unknown>> {
  const text = readFileSync(path, 'utf8').replace(/^\uFEFF/, '');
  let records: Array<Record<string, unknown>>;
  if (path.toLowerCase().endsWith('.csv')) {
    const [header, ...body] = parseCsv(text);
    records = body.map((cells) => Object.fromEntries((header ?? []).map((h, k) => [h.trim(), cells[k]])));
  } else if (path.toLowerCase().endsWith('.json')) records = JSON.parse(text) as Array<Record<string, unknown>>;
  else records = parseJsonlText<Record<string, unknown>>(text, path).map((r) => r.value);
  return records.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k.toLowerCase(), v])));
}

function promptText(row: PromptRow): string {
  const users = row.messages.filter((m) => m.role === 'user');
  return users.length ? users[users.length - 1]!.content : row.messages[row.messages.length - 1]!.content;
}

function isBenignLabel(value: unknown): boolean {
  return typeof value === 'string' && /^(safe|benign)$/i.test(value.trim());
}

/** Loads a named benchmark or a user file as evaluation prompts. */
export function loadEvalPrompts(benchmark: string, options: { dataDir?: string; benign?: boolean } = {}): { name: string; path: string; prompts: EvalPrompt[] } {
  const spec = SAFETY_BENCHMARKS[benchmark];
  const path = spec ? resolveBenchmarkFile(benchmark, options.dataDir) : benchmark;
  if (!spec && !existsSync(path)) {
    throw new Error(`--benchmark '${benchmark}' is neither a known benchmark (${[...Object.keys(SAFETY_BENCHMARKS), 'gsm8k', 'math500'].join(', ')}) nor an existing file`);
  }
  const rows = loadPrompts(path);
  const records = rawRecords(path);
  const categoryField = spec ? spec.categoryField : 'category';
  const prompts = rows.map((row): EvalPrompt => {
    const record = records[row.row - 1] ?? {};
    let harmful: boolean;
    if (spec) harmful = spec.kind === 'harmful' || (spec.kind === 'label' && !isBenignLabel(record.label));
    else if (options.benign) harmful = false;
    else if (typeof record.harmful === 'boolean') harmful = record.harmful;
    else harmful = !isBenignLabel(record.label);
    const category = categoryField && typeof record[categoryField] === 'string' && (record[categoryField] as string).trim() !== '' ? (record[categoryField] as string).trim() : 'all';
    return { id: row.id, prompt: promptText(row), category, harmful, ...(row.messages.length > 1 ? { messages: row.messages } : {}) };
  });
  if (!prompts.length) throw new Error(`${path}: no prompts`);
  return { name: spec ? benchmark : path, path, prompts };
}
