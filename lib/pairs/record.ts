/**
 * The pair records `ipo intervene` and `ipo benign` write (one JSON object a line) and the readers the
 * training side uses.
 *
 * Text convention (what training relies on): the assistant text of the chosen sequence is exactly
 * `"<think>\n" + prefix + chosen`, that of the rejected one `"<think>\n" + prefix + rejected`. `prefix`
 * is the reasoning before the compliance cue (no tags; it ends with the whitespace that separated the
 * last shared sentence from the cue). `chosen` and `rejected` run to the end of the turn: the rest of
 * the reasoning, then the closing separator, then the answer. The closing separator is the trace's own
 * (whitespace + `</think>` + whitespace, as the model wrote it) and `"\n</think>\n\n"` when the server
 * returned reasoning separately. Only the chosen/rejected tokens are scored; the prefix is context.
 *
 * Benign pairs (stage 2) use the same record with prefix '', cueIndex 0, cueSentence null, trigger
 * null and kind 'benign'; the chosen/rejected texts are then whole assistant turns minus the leading
 * `"<think>\n"`, so the same rule holds. A side without reasoning (a fixed refusal text) is stored as an
 * empty reasoning, `"\n</think>\n\n" + answer`, which is how Qwen3 writes a turn without thinking.
 */
import { existsSync } from 'node:fs';
import type { ChatMessage } from '../model/types.js';
import { type ChatTemplate, renderContinuation } from '../model/chat-template.js';
import { THINK_OPEN } from '../model/reasoning.js';
import { readJsonlLines } from '../run/jsonl.js';

export interface PairSampling {
  temperature: number;
  topP: number;
  maxTokens?: number;
  seed?: number;
}

export interface IpoPair {
  /** The input row's id. With --all-triggers several pairs share it; `unit` tells them apart. */
  id: string;
  kind: 'intervened' | 'benign';
  /** Which unit of work of the prompt produced it: 'trigger:<k>' with --all-triggers, else 'sampled'. */
  unit: string;
  messages: ChatMessage[];
  prefix: string;
  /** 1-based sentence number of the first compliance cue in the reasoning of the rejected trace (0 for benign). */
  cueIndex: number;
  cueSentence: string | null;
  trigger: string | null;
  chosen: string;
  rejected: string;
  /** Rounds of Algorithm 1 used (1 = the first continuation was already safe). */
  rounds: number;
  detector: string;
  model: string;
  sampling?: PairSampling;
  /** For benign pairs: the model that wrote the rejected (refusal) side. */
  rejectedModel?: string;
}

/** A prompt (or one unit of it) that produced no pair. */
export interface SkippedRecord {
  id: string;
  unit: string;
  reason: string;
}

/** The full assistant text of one side of a pair (see the convention above). */
export function assistantText(pair: IpoPair, side: 'chosen' | 'rejected'): string {
  return THINK_OPEN + '\n' + pair.prefix + pair[side];
}

/**
 * Reads a pairs JSONL file; throws naming the line for a record that is not a pair, and, when
 * `kind` is given, for a pair of another kind (a record without `kind` is an intervened pair).
 */
export function readPairs(path: string, options: { kind?: IpoPair['kind'] } = {}): IpoPair[] {
  if (!existsSync(path)) throw new Error(`${path}: no such file`);
  return readJsonlLines(path).map(({ line, value }) => {
    const pair = validatePair(value, `${path}:${line}`);
    if (options.kind && pair.kind !== options.kind) {
      const written = (value as { kind?: unknown }).kind === undefined ? 'no kind (an intervened pair)' : `kind "${pair.kind}"`;
      throw new Error(`${path}:${line}: a pair with ${written} where kind "${options.kind}" pairs are expected`);
    }
    return pair;
  });
}

export function validatePair(value: unknown, where: string): IpoPair {
  const v = value as Record<string, unknown>;
  const problems: string[] = [];
  if (!v || typeof v !== 'object') throw new Error(`${where}: not an object`);
  for (const key of ['id', 'prefix', 'chosen', 'rejected', 'detector', 'model'] as const) {
    if (typeof v[key] !== 'string') problems.push(`${key} is not a string`);
  }
  if (!Array.isArray(v.messages) || !v.messages.every((m) => m && typeof m.role === 'string' && typeof m.content === 'string')) {
    problems.push('messages is not a list of {role, content}');
  }
  if (typeof v.cueIndex !== 'number') problems.push('cueIndex is not a number');
  if (problems.length) throw new Error(`${where}: not a pair record (${problems.join('; ')})`);
  return {
    ...(v as unknown as IpoPair),
    kind: v.kind === 'benign' ? 'benign' : 'intervened',
    unit: typeof v.unit === 'string' ? v.unit : 'sampled',
    rounds: typeof v.rounds === 'number' ? v.rounds : 1,
    cueSentence: typeof v.cueSentence === 'string' ? v.cueSentence : null,
    trigger: typeof v.trigger === 'string' ? v.trigger : null,
  };
}

/** One line of `--format trl`: TRL/OpenRLHF DPO rows, the shared prefix inside `prompt`. */
export interface TrlRow {
  prompt: string;
  chosen: string;
  rejected: string;
}

/**
 * prompt = the chat template rendered up to and including `"<think>\n" + prefix` (so a trainer scores
 * only the divergent segments, as IPO does); chosen/rejected = the segments. Without a chat template
 * there is no way to render the context, so one is required.
 */
export function toTrlRow(pair: IpoPair, template: ChatTemplate): TrlRow {
  return {
    prompt: renderContinuation(template, pair.messages, THINK_OPEN + '\n' + pair.prefix),
    chosen: pair.chosen,
    rejected: pair.rejected,
  };
}
