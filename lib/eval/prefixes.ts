/**
 * Where CSR is measured along a reasoning trace. A point is a prefix of the reasoning; its
 * `position` is the number of tokens in it and its `sentence` the sentence that ends it (stride
 * 'sentence') or holds its last token (stride N tokens).
 *
 * Tokens here are counted without the policy's tokenizer: a token is a run of letters/digits or a
 * single other non-space character (/\w+|[^\w\s]/u). That is close to, and usually below, a BPE
 * count; it keeps `--window` and `--stride N` meaningful for any model without shipping its
 * tokenizer. Sentences come from the intervention engine's splitter (lib/text/sentences.ts),
 * so CSR sentences and compliance-cue sentences are numbered alike.
 */
import { splitSentences, type Sentence } from '../text/sentences.js';

export type Stride = { kind: 'sentence' } | { kind: 'tokens'; tokens: number };

export interface PrefixPoint {
  /** 1-based. */
  index: number;
  /** Length of the prefix in characters: the prefix is reasoning.slice(0, end). */
  end: number;
  position: number;
  sentence: string;
}

const TOKEN = /[\p{L}\p{N}_]+|[^\s\p{L}\p{N}_]/gu;

/** [start, end) character spans of the approximate tokens. */
export function tokenSpans(text: string): Array<[number, number]> {
  return [...text.matchAll(TOKEN)].map((m) => [m.index!, m.index! + m[0].length]);
}

export function countTokens(text: string): number {
  return tokenSpans(text).length;
}

export function parseStride(value: string): Stride {
  if (value === 'sentence') return { kind: 'sentence' };
  const m = /^(\d+)(?:-?tokens?)?$/.exec(value);
  if (!m || Number(m[1]) < 1) throw new Error(`--stride must be 'sentence' or a positive token count like 16 or 16-tokens, got '${value}'`);
  return { kind: 'tokens', tokens: Number(m[1]) };
}

export function prefixPoints(reasoning: string, stride: Stride): PrefixPoint[] {
  const sentences = splitSentences(reasoning);
  const spans = tokenSpans(reasoning);
  const tokensBefore = (offset: number) => {
    let n = 0;
    while (n < spans.length && spans[n]![1] <= offset) n++;
    return n;
  };
  if (stride.kind === 'sentence') {
    return sentences.map((s, i) => ({ index: i + 1, end: s.end, position: tokensBefore(s.end), sentence: s.text }));
  }
  const holding = (offset: number): Sentence | undefined => sentences.find((s) => offset < s.end) ?? sentences[sentences.length - 1];
  const points: PrefixPoint[] = [];
  for (let t = stride.tokens; t < spans.length + stride.tokens; t += stride.tokens) {
    const count = Math.min(t, spans.length);
    const end = spans[count - 1]![1];
    points.push({ index: points.length + 1, end, position: count, sentence: holding(end - 1)?.text ?? '' });
    if (count === spans.length) break;
  }
  return points;
}
