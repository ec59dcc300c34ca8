/**
 * One truth for tokenization: on the shipped pairs, with the real Qwen3 and Llama 3 tokenizers,
 *  - the engine's rows (tokenizePair's ids, passed pre-tokenized) go through TRL's own collator, and
 *    the ids TRL's loss scores (under completion_mask) are exactly tokenizePair's segments, after a
 *    prompt that is exactly the context;
 *  - TRL's own text tokenization of the same pairs (toTrlRow, DPOTrainer._prepare_dataset) is
 *    compared too, and every place it would differ is named: that is why the engine never lets TRL
 *    tokenize.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readPairs, toTrlRow } from '../../../lib/pairs/record.js';
import { createPairTokenizer } from '../../../lib/data/tokenize.js';
import { loadTokenizer } from '../../../lib/data/tokenizer.js';
import { defaultDataDir } from '../../../lib/train/run.js';
import { toRow } from '../../../lib/train/trl/plan.js';
import { env, llama3Dir, qwen3Dir, runPython } from './helpers.js';

const harmful = readPairs(join(defaultDataDir(), 'harmful.jsonl'));
const benign = readPairs(join(defaultDataDir(), 'benign.jsonl'));
const pairs = [...harmful, ...benign];

interface Oracle {
  eos: string;
  merges: Array<[boolean, boolean]>;
  text: Array<{ prompt_ids: number[]; chosen_ids: number[]; rejected_ids: number[] }>;
  engine: Array<{ chosen: number[]; rejected: number[]; prompt_chosen: number[]; prompt_rejected: number[] }>;
}

let views: Map<string, ReturnType<typeof prepare> & { oracle: Oracle }> | undefined;
/** One Python run for both tokenizers (its imports are most of its time). */
function trlView(dir: string) {
  if (!views) {
    const jobs = [qwen3Dir, llama3Dir].map(prepare);
    const scratch = mkdtempSync(join(tmpdir(), 'ipo-trl-tok-'));
    writeFileSync(join(scratch, 'jobs.json'), JSON.stringify(jobs.map((j) => j.job)));
    const oracles = JSON.parse(runPython('trl_tokenize_oracle.py', [join(scratch, 'jobs.json')])) as Oracle[];
    views = new Map(jobs.map((j, i) => [j.job.tokenizer, { ...j, oracle: oracles[i] }]));
  }
  return views.get(dir)!;
}

function prepare(dir: string) {
  const tokenizer = loadTokenizer(dir);
  const tokenized = pairs.map((p) => createPairTokenizer(tokenizer, tokenizer.template!, { maxLength: 100_000 }).tokenize(p));
  const job = { tokenizer: dir, text: pairs.map((p) => toTrlRow(p, tokenizer.template!)), ids: tokenized.map(toRow) };
  return { tokenizer, tokenized, job };
}

describe.skipIf(!env.python)('TRL scores the tokens tokenizePair scores', () => {
  for (const [name, dir] of [
    ['Qwen3', qwen3Dir],
    ['Llama 3', llama3Dir],
  ] as const) {
    it(`${name}: the engine's rows, through TRL's collator, score exactly the segments after exactly the context`, () => {
      const { tokenized, oracle } = trlView(dir);
      expect(oracle.engine).toHaveLength(pairs.length);
      tokenized.forEach((t, i) => {
        const e = oracle.engine[i];
        expect(e.chosen, pairs[i].id).toEqual(Array.from(t.chosen));
        expect(e.rejected, pairs[i].id).toEqual(Array.from(t.rejected));
        expect(e.prompt_chosen, pairs[i].id).toEqual(Array.from(t.context));
        expect(e.prompt_rejected, pairs[i].id).toEqual(Array.from(t.context));
      });
    }, 240_000);

    it(`${name}: TRL's own text tokenization differs exactly where a merge crosses the boundary (or the end token differs)`, () => {
      const { tokenizer, tokenized, oracle } = trlView(dir);
      expect(oracle.text).toHaveLength(pairs.length);
      const endId = tokenizer.tokenId(oracle.eos)!;
      // Llama 3's eos_token is <|end_of_text|> but an assistant turn ends with <|eot_id|>: TRL's text
      // path ends every segment with eos_token. Qwen3's eos_token is <|im_end|>, the turn's end.
      const endDiffers = name === 'Llama 3';
      expect(endId === tokenized[0].chosen[tokenized[0].chosen.length - 1]).toBe(!endDiffers);
      let merged = 0;
      tokenized.forEach((t, i) => {
        const x = oracle.text[i];
        const id = pairs[i].id;
        // The prompt: TRL tokenizes the prompt alone, as tokenizePair tokenizes the context alone.
        expect(x.prompt_ids, id).toEqual(Array.from(t.context));
        const expected = [t.chosen, t.rejected].map((seg) => [...Array.from(seg).slice(0, -1), endDiffers ? endId : seg[seg.length - 1]]);
        const theirs = [x.chosen_ids, x.rejected_ids];
        oracle.merges[i].forEach((merge, k) => {
          if (!merge) {
            expect(theirs[k], `${id}: no boundary merge, same ids`).toEqual(expected[k]);
          } else {
            // A merge across the boundary (here: the prefix ends with a space, the segment starts a
            // word): TRL would score ids that are not the segment's own (it loses the first word).
            merged++;
            expect(theirs[k], `${id}: boundary merge`).not.toEqual(expected[k]);
            expect(tokenizer.decode(theirs[k]).startsWith(k === 0 ? pairs[i].chosen : pairs[i].rejected), id).toBe(false);
          }
        });
      });
      // Every harmful pair's prefix ends with ". " and its segments start with a word.
      const spaceBoundary = pairs.filter((p) => /\s$/.test(p.prefix)).length;
      expect(spaceBoundary).toBe(harmful.length);
      expect(merged).toBe(2 * spaceBoundary);
    }, 240_000);
  }
});
