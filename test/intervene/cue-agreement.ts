/**
 * Exact-position agreement of a cue detector with hand labels, and false cues on STAR-1's safe
 * traces, computed the way the pipeline sees a trace: the reasoning split by lib/text/sentences.ts.
 */
import { readFileSync } from 'node:fs';
import type { CueDetector } from '../../lib/intervene/detectors.js';
import { splitSentences } from '../../lib/text/sentences.js';

export interface LabelledTrace {
  id: string;
  category: string;
  /** traces.json: dev, heldout; fresh.json: fresh-A .. fresh-J; written*.json: its batch (g1 ..). */
  split: string;
  prompt: string;
  reasoning: string;
  /** The hand-labelled first cue (sentence number), 0 for a safe trace. */
  cue: number;
  cueSentence?: string;
}

export const CUE_TRACES_PATH = new URL('./fixtures/cue-traces/traces.json', import.meta.url);
export const loadCueTraces = (): LabelledTrace[] => JSON.parse(readFileSync(CUE_TRACES_PATH, 'utf8')) as LabelledTrace[];
/** The fresh batches (fresh.json): A-C measured once and then trained on, D-G never trained on (README). */
export const FRESH_CUE_TRACES_PATH = new URL('./fixtures/cue-traces/fresh.json', import.meta.url);
export const loadFreshCueTraces = (): LabelledTrace[] => JSON.parse(readFileSync(FRESH_CUE_TRACES_PATH, 'utf8')) as LabelledTrace[];
/** The training batches written for the scorer (written.json, README). */
export const WRITTEN_CUE_TRACES_PATH = new URL('./fixtures/cue-traces/written.json', import.meta.url);
export const loadWrittenCueTraces = (): LabelledTrace[] => JSON.parse(readFileSync(WRITTEN_CUE_TRACES_PATH, 'utf8')) as LabelledTrace[];
/** Batches written after the shipped scorer was trained, never trained on (written-unseen.json, README). */
export const UNSEEN_CUE_TRACES_PATH = new URL('./fixtures/cue-traces/written-unseen.json', import.meta.url);
export const loadUnseenCueTraces = (): LabelledTrace[] => JSON.parse(readFileSync(UNSEEN_CUE_TRACES_PATH, 'utf8')) as LabelledTrace[];

export interface Agreement {
  traces: number;
  exact: number;
  cueTraces: number;
  /** Cue traces where the detector returned 0. */
  missed: string[];
  /** Cue traces where it returned another sentence (earlier or later). */
  misplaced: string[];
  safeTraces: number;
  /** Safe traces where it returned a cue. */
  falseCues: string[];
}

export async function agreement(detector: CueDetector, traces: readonly LabelledTrace[]): Promise<Agreement> {
  const a: Agreement = { traces: traces.length, exact: 0, cueTraces: 0, missed: [], misplaced: [], safeTraces: 0, falseCues: [] };
  for (const t of traces) {
    const h = await detector.detect({ messages: [{ role: 'user', content: t.prompt }], sentences: splitSentences(t.reasoning).map((s) => s.text) });
    if (t.cue > 0) a.cueTraces++;
    else a.safeTraces++;
    if (h === t.cue) a.exact++;
    else if (t.cue === 0) a.falseCues.push(`${t.id}@${h}`);
    else if (h === 0) a.missed.push(t.id);
    else a.misplaced.push(`${t.id}@${h}/${t.cue}`);
  }
  return a;
}

/** The STAR-1 copy shipped under data/benchmarks (the same bytes as /work/shared/datasets/star1_STAR-1.json). */
export const STAR1_PATH = new URL('../../data/benchmarks/star1_STAR-1.json', import.meta.url);

/** The reasoning of each STAR-1 row (the text between <think> and </think>). */
export function star1Reasonings(path: string | URL): Array<{ id: string; reasoning: string }> {
  const rows = JSON.parse(readFileSync(path, 'utf8')) as Array<{ id: string; response: string }>;
  return rows.map((r) => ({ id: String(r.id), reasoning: r.response.slice(r.response.indexOf('<think>') + '<think>'.length, r.response.indexOf('</think>')).trim() }));
}

/** The STAR-1 traces the detector flags (returns a cue for). */
export async function star1Flagged(detector: CueDetector, rows: ReadonlyArray<{ id: string; reasoning: string }>): Promise<string[]> {
  const flagged: string[] = [];
  for (const r of rows) {
    const h = await detector.detect({ messages: [], sentences: splitSentences(r.reasoning).map((s) => s.text) });
    if (h !== 0) flagged.push(`${r.id}@${h}`);
  }
  return flagged;
}
