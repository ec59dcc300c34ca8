/**
 * Pairs to token ids: one shared context and two segments.
 *
 * For a pair with conversation `messages`, shared reasoning `prefix` and the two divergent segments,
 * the model saw, as one assistant turn, `"<think>\n" + prefix + segment`. We tokenize
 *
 *   context = encode(renderContinuation(template, messages, "<think>\n" + prefix))
 *   chosen  = encode(pair.chosen)   [+ end-of-turn token]
 *   rejected = encode(pair.rejected) [+ end-of-turn token]
 *
 * separately and concatenate (context ++ segment). Boundary choice: tokenizing the two pieces apart
 * (TRL tokenizes prompt and completion apart too) guarantees that chosen and rejected share the
 * context ids exactly and that every segment's ids decode back to exactly its text, even when the
 * segment starts inside a multi-byte character's neighbourhood or right after a space. The cost: at
 * the boundary the ids can differ from encode(context + segment) (a BPE merge across the boundary is
 * not made), which the model sees as a slightly unusual but valid tokenization.
 *
 * Truncation to `maxLength` tokens per sequence never cuts the start of a segment: first the context
 * loses tokens from its left (down to `minContext` tokens), then both segments lose their tails.
 */
import type { ChatMessage } from '../model/types.js';
import { renderContinuation, type ChatTemplate } from '../model/chat-template.js';
import type { TextTokenizer } from './tokenizer.js';

/** The fields of an IPO pair (lib/pairs/record.ts `IpoPair`) that tokenization reads. */
export interface PairText {
  id: string;
  /** Tells apart pairs that share an id (several triggers on one prompt). */
  unit?: string;
  messages: ChatMessage[];
  /** Shared reasoning before the divergence point ('' when the segments diverge at once). */
  prefix: string;
  chosen: string;
  rejected: string;
  kind?: 'intervened' | 'benign';
}

export interface TokenizedPair {
  id: string;
  unit?: string;
  kind: 'intervened' | 'benign';
  /** Shared context ids (after truncation), identical for both sequences. */
  context: Int32Array;
  /** Segment ids (after truncation), the end-of-turn id last when `chosenEnded`. */
  chosen: Int32Array;
  rejected: Int32Array;
  chosenEnded: boolean;
  rejectedEnded: boolean;
  /** Tokens removed by truncation: from the context's left, from each segment's tail. */
  cut: { context: number; chosen: number; rejected: number };
  /** Reference-model log-probs [chosen, rejected] of the segments, once a reference pass stored them. */
  ref?: [number, number];
}

export interface TokenizeOptions {
  /** Most tokens per sequence (context + segment). Default 1024. */
  maxLength?: number;
  /** Context tokens kept at least when truncating (default min(context length, floor(maxLength / 2))); >= 1. */
  minContext?: number;
  /**
   * Token appended to every segment so the model learns to end its turn: a token string, or null for
   * none. Default: the template's end-of-turn token (what follows an assistant message when the
   * template renders one: `<|im_end|>` for Qwen3, `<|eot_id|>` for Llama 3), else the config's eos_token.
   */
  endToken?: string | null;
}

/** The context string of a pair: the rendered conversation followed by the open reasoning and its shared prefix. */
export function contextText(template: ChatTemplate, pair: Pick<PairText, 'messages' | 'prefix'>): string {
  return renderContinuation(template, pair.messages, '<think>\n' + pair.prefix);
}

/**
 * The end-of-turn token of a template: render a conversation whose assistant message is a marker and
 * take the first token after the marker, if it is an added (special) token. Null when there is none.
 */
export function endOfTurnToken(tokenizer: TextTokenizer, template: ChatTemplate): string | null {
  const marker = 'END_OF_TURN_PROBE';
  let rendered: string;
  try {
    rendered = template.compiled.render({
      ...template.specialTokens,
      messages: [
        { role: 'user', content: 'q' },
        { role: 'assistant', content: marker },
      ],
      add_generation_prompt: false,
    });
  } catch {
    rendered = '';
  }
  const at = rendered.lastIndexOf(marker);
  if (at >= 0) {
    const rest = tokenizer.encode(rendered.slice(at + marker.length));
    if (rest.length > 0 && tokenizer.addedTokenIds.has(rest[0])) return tokenizer.decode([rest[0]]);
  }
  return tokenizer.specialTokens.eos_token ?? null;
}

/** A tokenizer bound to a template and options, reusable over a dataset. */
export interface PairTokenizer {
  readonly endTokenId: number | null;
  readonly maxLength: number;
  tokenize(pair: PairText): TokenizedPair;
}

export function createPairTokenizer(tokenizer: TextTokenizer, template: ChatTemplate, options: TokenizeOptions = {}): PairTokenizer {
  const maxLength = options.maxLength ?? 1024;
  if (!Number.isInteger(maxLength) || maxLength < 2) throw new RangeError(`maxLength must be an integer >= 2, got ${maxLength}`);
  if (options.minContext !== undefined && (!Number.isInteger(options.minContext) || options.minContext < 1 || options.minContext >= maxLength)) {
    throw new RangeError(`minContext must be an integer in [1, maxLength), got ${options.minContext}`);
  }
  const endToken = options.endToken === undefined ? endOfTurnToken(tokenizer, template) : options.endToken;
  let endTokenId: number | null = null;
  if (endToken !== null) {
    const id = tokenizer.tokenId(endToken);
    if (id === undefined) throw new Error(`end token ${JSON.stringify(endToken)} is not in the tokenizer's vocabulary`);
    endTokenId = id;
  }
  return {
    endTokenId,
    maxLength,
    tokenize(pair) {
      checkPair(pair);
      const context = tokenizer.encode(contextText(template, pair));
      const chosen = tokenizer.encode(pair.chosen);
      const rejected = tokenizer.encode(pair.rejected);
      if (endTokenId !== null) {
        chosen.push(endTokenId);
        rejected.push(endTokenId);
      }
      return truncatePair(pair, context, chosen, rejected, maxLength, options.minContext, endTokenId !== null);
    },
  };
}

/**
 * Truncation rule, with C context tokens, segments of c and r tokens, S = max(c, r), budget L:
 * if C + S > L, the context keeps k = min(C, max(m, L - S)) tokens from its right end (m = minContext),
 * then each segment keeps its first L - k tokens.
 */
export function truncatePair(
  pair: Pick<PairText, 'id' | 'unit' | 'kind'>,
  context: number[],
  chosen: number[],
  rejected: number[],
  maxLength: number,
  minContext: number | undefined,
  ended: boolean,
): TokenizedPair {
  if (context.length === 0) throw new Error(`pair ${pair.id}: empty context (the first segment token needs a context token before it)`);
  const longest = Math.max(chosen.length, rejected.length);
  let keepContext = context.length;
  if (context.length + longest > maxLength) {
    const floor = Math.min(context.length, minContext ?? Math.floor(maxLength / 2));
    keepContext = Math.min(context.length, Math.max(floor, maxLength - longest));
  }
  const segmentRoom = maxLength - keepContext;
  const keptChosen = chosen.slice(0, segmentRoom);
  const keptRejected = rejected.slice(0, segmentRoom);
  return {
    id: pair.id,
    ...(pair.unit !== undefined ? { unit: pair.unit } : {}),
    kind: pair.kind ?? 'intervened',
    context: Int32Array.from(context.slice(context.length - keepContext)),
    chosen: Int32Array.from(keptChosen),
    rejected: Int32Array.from(keptRejected),
    chosenEnded: ended && keptChosen.length === chosen.length,
    rejectedEnded: ended && keptRejected.length === rejected.length,
    cut: { context: context.length - keepContext, chosen: chosen.length - keptChosen.length, rejected: rejected.length - keptRejected.length },
  };
}

function checkPair(pair: PairText): void {
  const where = `pair ${JSON.stringify(pair?.id)}`;
  if (typeof pair?.id !== 'string') throw new TypeError(`pair.id must be a string`);
  if (!Array.isArray(pair.messages) || pair.messages.length === 0) throw new TypeError(`${where}: messages must be a non-empty array`);
  for (const key of ['prefix', 'chosen', 'rejected'] as const) {
    if (typeof pair[key] !== 'string') throw new TypeError(`${where}: ${key} must be a string`);
  }
  if (pair.chosen.length === 0 || pair.rejected.length === 0) throw new TypeError(`${where}: chosen and rejected must be non-empty`);
}

/** Totals of what truncation removed, for a progress line or a report. */
export function truncationSummary(pairs: TokenizedPair[]): { pairsCut: number; contextTokens: number; segmentTokens: number } {
  let pairsCut = 0;
  let contextTokens = 0;
  let segmentTokens = 0;
  for (const p of pairs) {
    if (p.cut.context + p.cut.chosen + p.cut.rejected > 0) pairsCut++;
    contextTokens += p.cut.context;
    segmentTokens += p.cut.chosen + p.cut.rejected;
  }
  return { pairsCut, contextTokens, segmentTokens };
}
