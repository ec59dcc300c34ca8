/**
 * A deterministic sentence splitter for reasoning traces (the paper's is not published).
 *
 * Rules, applied in this order:
 *  1. A fenced code block (a line starting with ``` up to the next such line, or the end) is one
 *     sentence; nothing inside it is split.
 *  2. A line break ends a sentence: reasoning models put paragraphs, list items and headings on
 *     their own lines. Blank lines produce no sentence.
 *  3. Inside a line, a sentence ends after a run of terminators (. ! ? … or "...") and any closing
 *     quotes/brackets, when whitespace follows, except when
 *     a. the next word starts with a lower-case letter, or a digit that is not an inline list
 *        marker ("wait... maybe", "costs $3. 5 of them"; but "Gather. 2. Mix" splits),
 *     b. the dot ends a known abbreviation (e.g., i.e., vs., Dr., U.S., ...) or a single-letter
 *        initial ("J. K."), "etc." only when a capital follows it counts as an end,
 *     c. the dot ends a list marker at the start of the line ("1. ", "a. ", "iv. ").
 *     Decimals ("3.5") and dotted names ("node.js") never split because no whitespace follows the dot.
 *  4. Sentences are trimmed; each keeps its [start, end) offsets into the text, so
 *     `text.slice(0, sentences[h - 1].start)` is exactly the reasoning before sentence h.
 */

export interface Sentence {
  text: string;
  /** Offset of the first character in the source text. */
  start: number;
  /** Offset one past the last character. */
  end: number;
}

/**
 * Abbreviations that are not also common sentence-final words. Those that stand before a number
 * ("No. 5", "p. 12", "Fig. 3", "max. 3") need no entry: rule 3a keeps a digit with its sentence, and
 * listing them would glue "Wait, no." to the sentence after it, the commonest turn in R1 reasoning.
 */
const ABBREVIATIONS = new Set(
  [
    'e.g', 'i.e', 'vs', 'cf', 'viz', 'dept',
    'mr', 'mrs', 'ms', 'dr', 'prof', 'sr', 'jr', 'st', 'mt', 'ft', 'lt', 'col', 'gen', 'gov', 'sen', 'rep', 'rev', 'hon',
    'inc', 'ltd', 'co', 'corp', 'u.s', 'u.k', 'u.n', 'e.u', 'a.m', 'p.m', 'ph.d', 'b.sc', 'm.sc', 'jan', 'feb', 'mar',
    'apr', 'jun', 'jul', 'aug', 'sep', 'sept', 'oct', 'nov', 'dec', 'al',
  ].map((a) => a.toLowerCase()),
);

const TERMINATOR = /(?:\.{2,}|[.!?…]+)["'”’)\]*_]*(?=\s)/g;
const FENCE = /^\s*```/;

export function splitSentences(text: string): Sentence[] {
  const out: Sentence[] = [];
  const push = (start: number, end: number) => {
    while (start < end && /\s/.test(text[start])) start++;
    while (end > start && /\s/.test(text[end - 1])) end--;
    if (end > start) out.push({ text: text.slice(start, end), start, end });
  };
  let pos = 0;
  while (pos < text.length) {
    let lineEnd = text.indexOf('\n', pos);
    if (lineEnd < 0) lineEnd = text.length;
    const line = text.slice(pos, lineEnd);
    if (FENCE.test(line)) {
      // rule 1: the block runs to the closing fence line (inclusive)
      let end = lineEnd;
      let scan = lineEnd + 1;
      while (scan <= text.length) {
        let next = text.indexOf('\n', scan);
        if (next < 0) next = text.length;
        end = next;
        if (FENCE.test(text.slice(scan, next))) break;
        scan = next + 1;
      }
      push(pos, end);
      pos = end + 1;
      continue;
    }
    splitLine(text, pos, lineEnd, push);
    pos = lineEnd + 1;
  }
  return out;
}

function splitLine(text: string, from: number, to: number, push: (s: number, e: number) => void): void {
  const line = text.slice(from, to);
  let sentenceStart = 0;
  TERMINATOR.lastIndex = 0;
  for (let m = TERMINATOR.exec(line); m; m = TERMINATOR.exec(line)) {
    const end = m.index + m[0].length;
    const rest = line.slice(end).replace(/^\s+/, '');
    if (!rest) break; // the line end closes the sentence anyway
    if (!isBoundary(line.slice(sentenceStart, m.index), m[0], rest)) continue;
    push(from + sentenceStart, from + end);
    sentenceStart = end;
  }
  push(from + sentenceStart, to);
}

function isBoundary(before: string, terminator: string, rest: string): boolean {
  const next = rest[0];
  // 3a: a lower-case letter or digit after the terminator continues the sentence
  // (a digit that starts an inline list item, "2. " or "2) ", does begin a sentence)
  if (/[a-z]/.test(next) || (/[0-9]/.test(next) && !/^\d+[.)]\s/.test(rest))) return false;
  if (terminator[0] !== '.' || terminator.startsWith('..')) return true;
  const word = /(\S+)$/.exec(before)?.[1] ?? '';
  const bare = word.replace(/^[("'“‘*_]+/, '').toLowerCase();
  // 3c: a list marker alone at the start of the line
  if (/^\s*(?:\d+|[a-z]|[ivxlc]+)$/i.test(before) && /^\s*\S+$/.test(before)) return false;
  // 3b: abbreviations and initials
  if (bare === 'etc') return /[A-Z]/.test(next);
  if (ABBREVIATIONS.has(bare)) return false;
  if (/^[A-Z]$/.test(word.replace(/^[("'“‘*_]+/, ''))) return false;
  if (/^(?:[a-z]\.)+[a-z]$/i.test(bare)) return false; // "e.g", "U.S", "a.k.a"
  return true;
}
