/**
 * Utility checks: GSM8K and MATH-500 accuracy, so a user can see that safety training did not cost
 * reasoning. Files: GSM8K's test.jsonl ({question, answer ending in "#### N"}) and MATH-500 as
 * shipped ({prompt, answer}; also {problem, answer} as in the PRM800K split).
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { extractFinalAnswer, extractGsm8kPrediction, gsm8kGold, mathCorrect, numbersEqual } from './answers.js';
import { sampleGenerations, type GenerationRunOptions } from './run-eval.js';
import { writeUtilityReport, type UtilityReport } from './report.js';
import { ratio } from './wilson.js';
import { parseJsonlText } from '../run/jsonl.js';

export type UtilityBenchmark = 'gsm8k' | 'math500';

export function isUtilityBenchmark(name: string): name is UtilityBenchmark {
  return name === 'gsm8k' || name === 'math500';
}

export interface UtilityItem {
  id: string;
  prompt: string;
  /** GSM8K: the gold number as text; MATH-500: the gold LaTeX answer. */
  gold: string;
}

/** Appended to GSM8K questions so the final answer is boxed (MATH-500 prompts already ask for it). */
export const BOXED_INSTRUCTION = '\nPlease reason step by step, and put your final answer within \\boxed{}.';

/** Where the package keeps the utility sets (data/ next to dist/ or lib/). */
export function defaultUtilityFile(benchmark: UtilityBenchmark): string {
  const name = benchmark === 'gsm8k' ? 'gsm8k_test.jsonl' : 'math500.jsonl';
  return fileURLToPath(new URL(`../../data/${name}`, import.meta.url));
}

export function loadUtilityItems(benchmark: UtilityBenchmark, path = defaultUtilityFile(benchmark)): UtilityItem[] {
  if (!existsSync(path)) throw new Error(`${benchmark}: ${path} not found (pass the file with --benchmark-file)`);
  const items: UtilityItem[] = [];
  for (const { line, value: row } of parseJsonlText<Record<string, unknown>>(readFileSync(path, 'utf8'), path)) {
    const id = typeof row.id === 'string' || typeof row.id === 'number' ? String(row.id) : String(items.length);
    if (benchmark === 'gsm8k') {
      if (typeof row.question !== 'string' || typeof row.answer !== 'string') throw new Error(`${path}:${line}: need "question" and "answer"`);
      items.push({ id, prompt: row.question + BOXED_INSTRUCTION, gold: String(gsm8kGold(row.answer)) });
    } else {
      const prompt = typeof row.prompt === 'string' ? row.prompt : typeof row.problem === 'string' ? row.problem + BOXED_INSTRUCTION : undefined;
      if (prompt === undefined || typeof row.answer !== 'string') throw new Error(`${path}:${line}: need "prompt" (or "problem") and "answer"`);
      items.push({ id, prompt, gold: row.answer });
    }
  }
  return items;
}

/** Whether one model output answers the item correctly, and whether it gave any final answer. */
export function scoreOutput(benchmark: UtilityBenchmark, output: string, gold: string): { correct: boolean; answered: boolean } {
  if (benchmark === 'gsm8k') {
    const predicted = extractGsm8kPrediction(output);
    return { correct: predicted !== undefined && numbersEqual(predicted, Number(gold)), answered: predicted !== undefined };
  }
  return { correct: mathCorrect(output, gold), answered: extractFinalAnswer(output) !== undefined };
}

export async function runUtility(benchmark: UtilityBenchmark, items: readonly UtilityItem[], options: GenerationRunOptions): Promise<UtilityReport> {
  const gold = new Map(items.map((it) => [it.id, it.gold]));
  const { generations, failures } = await sampleGenerations(items, options);
  let correct = 0;
  let noAnswer = 0;
  for (const g of generations) {
    const score = scoreOutput(benchmark, g.generation.raw, gold.get(g.promptId)!);
    if (score.correct) correct++;
    if (!score.answered) noAnswer++;
  }
  const report: UtilityReport = {
    benchmark,
    model: options.policy.model,
    samplesPerPrompt: options.samples,
    sampling: { temperature: options.sampling.temperature, topP: options.sampling.topP, ...(options.sampling.maxTokens !== undefined ? { maxTokens: options.sampling.maxTokens } : {}) },
    n: generations.length,
    prompts: new Set(generations.map((g) => g.promptId)).size,
    accuracy: ratio(correct, generations.length),
    noAnswer,
    failures,
    createdAt: new Date().toISOString(),
  };
  writeUtilityReport(options.outputDir, report);
  return report;
}
