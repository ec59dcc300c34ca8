/**
 * Final-answer extraction and comparison for the utility checks (GSM8K, MATH-500).
 *
 * Where the answer is looked for: the text after `</think>` (a trace whose reasoning never closed
 * gave no answer); in it, the last `\boxed{...}` / `\fbox{...}` (braces matched, so nested LaTeX
 * survives), else the last "final answer is X" / "answer: X" / "#### X", else (GSM8K only) the last
 * number.
 *
 * Comparison: GSM8K numerically (commas, `$`, units and a trailing period removed). MATH-500 by a
 * normal form in the spirit of the MATH benchmark's own `is_equiv` (no `\left`/`\right`, `\dfrac` ->
 * `\frac`, `\frac12` -> `\frac{1}{2}`, `\sqrt2` -> `\sqrt{2}`, no degree signs, no `$`, no spaces,
 * unit text dropped, `x=` dropped, thousands commas dropped), then numerically where both sides are
 * plain numbers, fractions or mixed numbers, then element-wise for comma-separated lists (in order
 * inside brackets, as a multiset when bare).
 */
import { parseTrace } from '../model/reasoning.js';

/** The part of a model's output that holds its answer, or undefined when the reasoning never closed. */
export function answerPart(output: string): string | undefined {
  const trace = parseTrace(output);
  if (!trace.hasReasoning) return output;
  return trace.closed ? trace.answer : undefined;
}

/** Content of the last \boxed{...} (or \fbox{...}, or `\boxed 5`) in the text, braces matched. */
export function lastBoxed(text: string): string | undefined {
  const at = Math.max(text.lastIndexOf('\\boxed'), text.lastIndexOf('\\fbox'));
  if (at < 0) return undefined;
  let i = at + (text.startsWith('\\boxed', at) ? '\\boxed'.length : '\\fbox'.length);
  if (text[i] === ' ') {
    const m = /^ ([^\s$]+)/.exec(text.slice(i)); // `\boxed 5`
    return m ? m[1] : undefined;
  }
  if (text[i] !== '{') return undefined;
  let depth = 0;
  for (let j = i; j < text.length; j++) {
    if (text[j] === '\\') {
      j++; // an escaped brace does not count
      continue;
    }
    if (text[j] === '{') depth++;
    else if (text[j] === '}' && --depth === 0) return text.slice(i + 1, j);
  }
  return undefined; // unbalanced: the box was cut off
}

const ANSWER_PHRASE = /(?:final answer|the answer)\s*(?:is|was|:|=)\s*:?\s*(.+)|####\s*(.+)|\banswer\s*:\s*(.+)/gi;

/** The last stated answer ("The final answer is X", "Answer: X", "#### X"), first line only. */
function statedAnswer(text: string): string | undefined {
  let last: string | undefined;
  for (const m of text.matchAll(ANSWER_PHRASE)) last = (m[1] ?? m[2] ?? m[3])!.split('\n')[0]!.trim();
  return last && last !== '' ? last : undefined;
}

/** The final answer a model gave (boxed, then stated), or undefined. */
export function extractFinalAnswer(output: string): string | undefined {
  const text = answerPart(output);
  if (text === undefined) return undefined;
  return lastBoxed(text) ?? statedAnswer(text)?.replace(/^\$+|\$+\.?$/g, '').trim();
}

const NUMBER = /-?\d{1,3}(?:,\d{3})+(?:\.\d+)?|-?\d*\.?\d+/g;

/** A plain number from text like "$1,080.", "18 dollars", "-3.5", or undefined. */
export function parseLooseNumber(text: string): number | undefined {
  const cleaned = text.replace(/\\!|\\,|\\\$|\$|\\text\{[^}]*\}|\\%|%/g, '');
  const matches = cleaned.match(NUMBER);
  if (!matches) return undefined;
  const value = Number(matches[matches.length - 1]!.replace(/,/g, ''));
  return Number.isFinite(value) ? value : undefined;
}

/** The gold number of a GSM8K answer (the text after `####`). */
export function gsm8kGold(solution: string): number {
  const at = solution.lastIndexOf('####');
  if (at < 0) throw new Error('GSM8K answer has no "####" line');
  const value = parseLooseNumber(solution.slice(at + 4));
  if (value === undefined) throw new Error(`GSM8K answer has no number after "####": ${solution.slice(at)}`);
  return value;
}

/** The number a model answered to a GSM8K question (boxed, stated, else the last number), or undefined. */
export function extractGsm8kPrediction(output: string): number | undefined {
  const text = answerPart(output);
  if (text === undefined) return undefined;
  const final = lastBoxed(text) ?? statedAnswer(text);
  return (final !== undefined ? parseLooseNumber(final) : undefined) ?? parseLooseNumber(text);
}

export function numbersEqual(a: number, b: number): boolean {
  return Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(b));
}

export function gsm8kCorrect(output: string, goldSolutionOrNumber: string | number): boolean {
  const gold = typeof goldSolutionOrNumber === 'number' ? goldSolutionOrNumber : gsm8kGold(goldSolutionOrNumber);
  const predicted = extractGsm8kPrediction(output);
  return predicted !== undefined && numbersEqual(predicted, gold);
}

/** Replaces `\cmd{...}` (braces matched) by f(content). */
function replaceCommand(s: string, command: string, f: (content: string) => string): string {
  let out = '';
  let i = 0;
  for (;;) {
    const at = s.indexOf(`\\${command}{`, i);
    if (at < 0) return out + s.slice(i);
    let depth = 0;
    let end = -1;
    for (let j = at + command.length + 1; j < s.length; j++) {
      if (s[j] === '{') depth++;
      else if (s[j] === '}' && --depth === 0) {
        end = j;
        break;
      }
    }
    if (end < 0) return out + s.slice(i);
    out += s.slice(i, at) + f(s.slice(at + command.length + 2, end));
    i = end + 1;
  }
}

/** The normal form of a MATH answer (see the module comment). */
export function normalizeMathAnswer(answer: string): string {
  let s = answer.trim();
  s = s.replace(/\n/g, '').replace(/\\!/g, '').replace(/\\\\/g, '\\');
  s = s.replace(/\\[dt]frac/g, '\\frac').replace(/\\left|\\right|\\displaystyle/g, '');
  s = s.replace(/\^\s*\{\s*\\circ\s*\}|\^\s*\\circ|°/g, '');
  s = s.replace(/\\\$|\$/g, '');
  s = s.replace(/\\%|%/g, '');
  s = s.replace(/\\[,;:]|\\quad|\\qquad|~/g, ' ');
  // Unit text (a \text{ ...} that starts with a space) and what follows it goes; other \text{X} -> X.
  for (const cmd of ['text', 'mbox', 'textbf', 'mathrm']) {
    s = s.replace(new RegExp(`\\\\${cmd}\\{\\s[^}]*\\}(?:\\^\\{?\\d\\}?)?`, 'g'), '');
    s = replaceCommand(s, cmd, (c) => c);
  }
  s = s.replace(/\s*(?:degrees?|cents?|dollars?|units?|inches|cm|meters?)\s*(?:\^\{?\d\}?)?\s*$/i, '');
  s = s.replace(/\s+/g, '');
  s = s.replace(/\.$/, '');
  // `x=5`, `k = 2`: drop a short left-hand side (as the MATH benchmark does).
  const eq = s.split('=');
  if (eq.length === 2 && eq[0]!.length <= 2) s = eq[1]!;
  s = s.replace(/\\sqrt(\w)/g, '\\sqrt{$1}');
  s = s.replace(/\\frac(\d)(\d)/g, '\\frac{$1}{$2}').replace(/\\frac(\d)\{/g, '\\frac{$1}{').replace(/\\frac\{([^{}]*)\}(\d)/g, '\\frac{$1}{$2}');
  if (/^-?\d{1,3}(,\d{3})+(\.\d+)?$/.test(s)) s = s.replace(/,/g, '');
  s = s.replace(/(^|[^\d])\.(\d)/g, '$10.$2');
  const choice = /^\(([A-Za-z])\)$/.exec(s);
  if (choice) s = choice[1]!.toUpperCase();
  if (/^-?\d+\/\d+$/.test(s)) {
    const [n, d] = s.split('/');
    s = n!.startsWith('-') ? `-\\frac{${n!.slice(1)}}{${d}}` : `\\frac{${n}}{${d}}`;
  }
  return s;
}

/** The value of a normalised answer that is a plain number, fraction or mixed number. */
export function mathNumber(normalized: string): number | undefined {
  let m = /^(-?)(\d*\.?\d+)$/.exec(normalized);
  if (m) return Number(m[1]! + m[2]!);
  m = /^(-?)\\frac\{(\d*\.?\d+)\}\{(\d*\.?\d+)\}$/.exec(normalized);
  if (m) return (m[1] ? -1 : 1) * (Number(m[2]) / Number(m[3]));
  m = /^(-?)(\d+)\\frac\{(\d+)\}\{(\d+)\}$/.exec(normalized);
  if (m) return (m[1] ? -1 : 1) * (Number(m[2]) + Number(m[3]) / Number(m[4]));
  return undefined;
}

/** Splits at commas outside (), [], {}. */
function topLevelItems(s: string): string[] {
  const items: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if ('([{'.includes(c)) depth++;
    else if (')]}'.includes(c)) depth--;
    else if (c === ',' && depth === 0) {
      items.push(s.slice(start, i));
      start = i + 1;
    }
  }
  items.push(s.slice(start));
  return items;
}

function normalizedEqual(a: string, b: string): boolean {
  if (a === b) return true;
  const x = mathNumber(a);
  const y = mathNumber(b);
  if (x !== undefined && y !== undefined) return numbersEqual(x, y);
  // Bracketed tuples/intervals: same brackets, items equal in order.
  const wrapped = /^([([])(.*)([)\]])$/;
  const wa = wrapped.exec(a);
  const wb = wrapped.exec(b);
  if (wa && wb) {
    if (wa[1] !== wb[1] || wa[3] !== wb[3]) return false;
    const ia = topLevelItems(wa[2]!);
    const ib = topLevelItems(wb[2]!);
    return ia.length > 1 && ia.length === ib.length && ia.every((item, k) => normalizedEqual(item, ib[k]!));
  }
  // Bare lists ("3,5,7"): the same items in any order.
  const ia = topLevelItems(a);
  const ib = topLevelItems(b);
  if (ia.length > 1 && ia.length === ib.length) {
    const rest = [...ib];
    for (const item of ia) {
      const k = rest.findIndex((other) => normalizedEqual(item, other));
      if (k < 0) return false;
      rest.splice(k, 1);
    }
    return true;
  }
  return false;
}

/** Whether two MATH answers are the same answer. */
export function mathEquivalent(predicted: string, gold: string): boolean {
  return normalizedEqual(normalizeMathAnswer(predicted), normalizeMathAnswer(gold));
}

export function mathCorrect(output: string, gold: string): boolean {
  const predicted = extractFinalAnswer(output);
  return predicted !== undefined && mathEquivalent(predicted, gold);
}
