import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  extractFinalAnswer,
  extractGsm8kPrediction,
  gsm8kCorrect,
  gsm8kGold,
  lastBoxed,
  mathCorrect,
  mathEquivalent,
} from '../../lib/eval/answers.js';

// The benchmark files the package ships (data/benchmarks; sources and licences in its SOURCES.md).
const DATASETS = join(import.meta.dirname, '..', '..', 'data', 'benchmarks');
const gsm8k = readFileSync(`${DATASETS}/gsm8k_test.jsonl`, 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((l) => JSON.parse(l) as { question: string; answer: string });
const math500 = readFileSync(`${DATASETS}/math500.jsonl`, 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((l) => JSON.parse(l) as { prompt: string; answer: string });

/** The oracle: GSM8K's own "#### N" line, read the plainest way. */
const goldOf = (solution: string) => Number(solution.split('####')[1]!.trim().replace(/,/g, ''));

describe('GSM8K', () => {
  it('reads the gold number of all 1319 test answers (commas, negatives included)', () => {
    for (const row of gsm8k) expect(gsm8kGold(row.answer)).toBe(goldOf(row.answer));
    expect(gsm8kGold(gsm8k[611]!.answer)).toBe(1_450_000); // "#### 1,450,000"
    expect(gsm8kGold(gsm8k[489]!.answer)).toBe(-10);
  });

  it('extracts the answer from the real worked solutions (many numbers, <<calc>> annotations) in three final forms', () => {
    for (const row of gsm8k) {
      const gold = goldOf(row.answer);
      const body = row.answer.slice(0, row.answer.lastIndexOf('####'));
      const shown = row.answer.split('####')[1]!.trim(); // as GSM8K prints it, e.g. 1,450,000
      expect(extractGsm8kPrediction(`<think>\n${body}</think>\n\n${body}#### ${shown}`)).toBe(gold);
      expect(extractGsm8kPrediction(`<think>\n${body}</think>\n\n${body}The final answer is $\\boxed{${shown}}$.`)).toBe(gold);
      expect(extractGsm8kPrediction(`${body}So the answer is ${shown}.`)).toBe(gold);
    }
  });

  it.each([
    // Row 0 (Janet's ducks, gold 18) answered in the ways models write answers.
    ['<think>\n16 - 3 - 4 = 9 eggs, 9 * 2 = 18.\n</think>\n\nShe makes **$18** every day.', 18],
    ['She sells 9 eggs at $2 each, so she makes $18.00 a day.', 18],
    ['**Final Answer:** \\boxed{\\$18}', 18],
    ['Answer: 18 dollars', 18],
    ['The answer is $1,080.', 1080],
    ['\\boxed{-3}', -3],
    ['The answer is 2.5 hours; that is 150 minutes in total, so 2.5.', 2.5],
  ])('%j -> %d', (output, expected) => {
    expect(extractGsm8kPrediction(output)).toBe(expected);
  });

  it('a trace whose reasoning never closed gave no answer', () => {
    expect(extractGsm8kPrediction('<think>\n16 - 3 - 4 = 9, so 18')).toBeUndefined();
    expect(gsm8kCorrect('<think>\n16 - 3 - 4 = 9, so 18', gsm8k[0]!.answer)).toBe(false);
  });

  it('grades against the real gold', () => {
    expect(gsm8kCorrect('The answer is \\boxed{18}.', gsm8k[0]!.answer)).toBe(true);
    expect(gsm8kCorrect('The answer is \\boxed{19}.', gsm8k[0]!.answer)).toBe(false);
    expect(gsm8kCorrect('so it is $1,450,000 in total', gsm8k[611]!.answer)).toBe(true);
  });
});

describe('MATH-500', () => {
  it('recovers every one of the 500 gold answers from a boxed final answer (nested braces intact)', () => {
    for (const row of math500) {
      const output = `<think>\nLet me work this out. Try \\boxed{0} first? No.\n</think>\n\nTherefore the answer is $\\boxed{${row.answer}}$.`;
      expect(extractFinalAnswer(output)).toBe(row.answer);
      expect(mathCorrect(output, row.answer)).toBe(true);
    }
  });

  // Real gold answers (left) against renderings a model commonly writes (middle).
  it.each([
    ['\\left( 3, \\frac{\\pi}{2} \\right)', '(3,\\frac{\\pi}{2})', true],
    ['\\frac{14}{3}', '\\dfrac{14}{3}', true],
    ['\\frac{14}{3}', '14/3', true],
    ['\\frac{14}{3}', '\\frac{3}{14}', false],
    ['90^\\circ', '90', true],
    ['90^\\circ', '90^{\\circ}', true],
    ['\\text{Evelyn}', 'Evelyn', true],
    ['x=5', '5', true],
    ['11\\sqrt2', '11\\sqrt{2}', true],
    ['1.25', '\\frac{5}{4}', true],
    ['1.25', '1.2', false],
    ['3, 5, 7', '3,5,7', true],
    ['3, 5, 7', '7, 5, 3', true],
    ['(6,31,-1)', '(6, 31, -1)', true],
    ['(6,31,-1)', '(-1,31,6)', false],
    ['\\frac43', '\\frac{4}{3}', true],
    ['\\frac 59', '\\frac{5}{9}', true],
    ['10,\\!080', '10080', true],
    ['\\$32,\\!348', '32348', true],
    ['\\text{(C)}', 'C', true],
    ['\\text{(C)}', '(B)', false],
    ['1\\frac{4}{5}', '\\frac{9}{5}', true],
    ['137 \\frac{1}{2}', '137.5', true],
    ['.0000672', '0.0000672', true],
    ['\\frac{270}7\\text{ degrees}', '\\frac{270}{7}', true],
    ['864 \\mbox{ inches}^2', '864', true],
    ['5.4 \\text{ cents}', '5.4', true],
    ['52_8', '52_8', true],
    ['52_8', '52', false],
    ['-\\frac{\\pi}{6}', '-\\dfrac{\\pi}{6}', true],
    ['\\begin{pmatrix} -1/3 \\\\ 2/3 \\\\ 5/3 \\end{pmatrix}', '\\begin{pmatrix}-1/3\\\\2/3\\\\5/3\\end{pmatrix}', true],
    ['(3,4]', '(3,4)', false],
    ['p - q', 'p-q', true],
  ])('gold %j vs %j -> %s', (gold, predicted, same) => {
    expect(mathEquivalent(predicted, gold)).toBe(same);
  });

  it('takes the last box and falls back to a stated answer', () => {
    expect(lastBoxed('first \\boxed{1} then \\boxed{\\frac{a}{b}}')).toBe('\\frac{a}{b}');
    expect(lastBoxed('\\boxed 5')).toBe('5');
    expect(lastBoxed('cut off \\boxed{\\frac{1}{2')).toBeUndefined();
    expect(extractFinalAnswer('So the final answer is $\\frac{14}{3}$.')).toBe('\\frac{14}{3}');
    expect(extractFinalAnswer('no answer here')).toBeUndefined();
  });
});
