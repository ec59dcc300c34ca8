/**
 * `ipo csr` as a library call. For each trace and each measured prefix (plus the empty prefix, the
 * baseline), sample `samples` continuations of the assistant turn `<think>\n + prefix`, judge each,
 * and compute CSR = safe / judged. Then find turning points (lib/eval/csr.ts) and draw the curve.
 *
 * What "ends up safe" means (--judge-on):
 *   response  (default) the continuation's final answer is judged safe; a continuation that never
 *             closes its reasoning has no answer and is judged on its reasoning instead
 *   reasoning the reasoning the continuation wrote (after the given prefix) is judged safe
 *   both      both are safe (the answer is only judged when the reasoning was safe)
 * Continuations and verdicts are cached in DIR/continuations.jsonl and DIR/csr-judgements.jsonl.
 */
import { probeEndpoints } from '../model/probe.js';
import { join } from 'node:path';
import { THINK_OPEN } from '../model/reasoning.js';
import type { ModelClient, SamplingOptions } from '../model/types.js';
import { formatError } from '../run/errors.js';
import { sha256Hex } from '../run/hash.js';
import { KeyedJsonl } from '../run/jsonl.js';
import { runPool } from '../run/pool.js';
import { progressReporter } from '../run/progress.js';
import { csrChartSvg } from './charts.js';
import { csrValue, findTurningPoints, type TurningPoint, type TurningPointOptions } from './csr.js';
import type { HarmJudge, HarmTarget, HarmVerdict } from './judges/types.js';
import { prefixPoints, type Stride } from './prefixes.js';
import { writeFileAtomic } from '../run/files.js';
import type { CsrTrace } from './traces.js';
import { mkdirSync } from 'node:fs';

export type JudgeOn = 'response' | 'reasoning' | 'both';

export interface CsrRunOptions {
  traces: readonly CsrTrace[];
  policy: ModelClient;
  judge: HarmJudge;
  samples: number;
  stride: Stride;
  turning: TurningPointOptions;
  judgeOn: JudgeOn;
  /** How the policy continues a prefix ('chat' unless the client was built for 'completions'); part of the cache key. */
  continuationMode?: 'chat' | 'completions';
  sampling: SamplingOptions & { temperature: number; topP: number };
  /** Also measure the empty prefix (CSR_0), the predecessor of point 1. Default true. */
  baseline?: boolean;
  concurrency: number;
  outputDir: string;
  onProgress?: (message: string) => void;
}

export interface CsrPointResult {
  index: number;
  position: number;
  sentence: string;
  csr: number | null;
  /** Continuations judged at this point. */
  samples: number;
  safe: number;
}

export interface CsrTraceResult {
  id: string;
  prompt: string;
  baseline: { csr: number | null; samples: number; safe: number } | null;
  points: CsrPointResult[];
  turningPoints: TurningPoint[];
  /** Sentences at safety triggers (CSR rose above mu and stayed). */
  triggers: string[];
  /** Sentences at compliance cues (CSR fell below eta and stayed). */
  cues: string[];
  chart: string;
  failures: Array<{ unit: string; error: string }>;
}

interface ContinuationRecord {
  key: string;
  trace: string;
  point: number;
  sample: number;
  reasoning: string;
  answer: string;
  closed: boolean;
}

interface VerdictRecord {
  key: string;
  continuation: string;
  judge: string;
  judgeOn: JudgeOn;
  safe: boolean | null;
  verdicts: HarmVerdict[];
}

function hash(text: string): string {
  return sha256Hex(text).slice(0, 16);
}

/** A file name for a trace's chart: its id made safe, plus a hash when that changed it. */
export function chartFileName(id: string): string {
  const safe = id.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 80);
  return `csr-${safe}${safe === id ? '' : '-' + hash(id).slice(0, 6)}.svg`;
}

export async function runCsr(options: CsrRunOptions): Promise<CsrTraceResult[]> {
  await probeEndpoints({ policy: options.policy, judge: options.judge });
  mkdirSync(options.outputDir, { recursive: true });
  const continuations = new KeyedJsonl<ContinuationRecord>(join(options.outputDir, 'continuations.jsonl'));
  const verdicts = new KeyedJsonl<VerdictRecord>(join(options.outputDir, 'csr-judgements.jsonl'));
  // A continuation from /completions differs from chat's continue_final_message: a distinct key (chat keeps the old one).
  const settings = JSON.stringify([options.policy.model, options.sampling, ...(options.continuationMode === 'completions' ? ['completions'] : [])]);
  const results: CsrTraceResult[] = [];

  for (const [t, trace] of options.traces.entries()) {
    const points = prefixPoints(trace.reasoning, options.stride);
    const measured = [...(options.baseline !== false ? [{ index: 0, end: 0, position: 0, sentence: '' }] : []), ...points];
    const units = measured.flatMap((p) => Array.from({ length: options.samples }, (_, sample) => ({ p, sample })));
    const safeCount = new Map<number, { safe: number; samples: number }>(measured.map((p) => [p.index, { safe: 0, samples: 0 }]));
    const tick = progressReporter(units.length, (done, total) => `trace ${t + 1}/${options.traces.length} (${trace.id}): ${done}/${total} continuations`, options.onProgress);

    const failures = await runPool(units, options.concurrency, async ({ p, sample }) => {
      const prefix = THINK_OPEN + '\n' + trace.reasoning.slice(0, p.end);
      const key = hash(`${settings}\u0000${trace.prompt}\u0000${prefix}\u0000${sample}`);
      let c = continuations.get(key);
      if (!c) {
        const seed = options.sampling.seed !== undefined ? options.sampling.seed + sample : undefined;
        const g = await options.policy.continueAssistant([{ role: 'user', content: trace.prompt }], prefix, { ...options.sampling, ...(seed !== undefined ? { seed } : {}) });
        const given = trace.reasoning.slice(0, p.end);
        // The judge sees what the continuation wrote, not the prefix it was given.
        const ownReasoning = g.reasoning.startsWith(given) ? g.reasoning.slice(given.length) : g.reasoning;
        const closed = g.raw.includes('</think>');
        c = { key, trace: trace.id, point: p.index, sample, reasoning: ownReasoning.trim(), answer: g.answer, closed };
        continuations.put(c);
      }
      const vkey = `${key}|${options.judge.id}|${options.judgeOn}`;
      let v = verdicts.get(vkey);
      if (!v) {
        const judged: HarmVerdict[] = [];
        const judge = async (target: HarmTarget, text: string) => {
          if (text.trim() === '') return false; // nothing written: nothing harmful
          const verdict = await options.judge.judgeHarm(trace.prompt, text, target);
          judged.push(verdict);
          return verdict.harmful;
        };
        let harmful: boolean | null;
        if (options.judgeOn === 'reasoning') harmful = await judge('reasoning', c.reasoning);
        else if (options.judgeOn === 'response') harmful = c.closed ? await judge('response', c.answer) : await judge('reasoning', c.reasoning);
        else {
          harmful = await judge('reasoning', c.reasoning);
          if (harmful === false) harmful = await judge('response', c.answer);
        }
        v = { key: vkey, continuation: key, judge: options.judge.id, judgeOn: options.judgeOn, safe: harmful === null ? null : !harmful, verdicts: judged };
        verdicts.put(v);
      }
      const counts = safeCount.get(p.index)!;
      if (v.safe !== null) {
        counts.samples++;
        if (v.safe) counts.safe++;
      }
      tick();
    });

    const base = options.baseline !== false ? safeCount.get(0)! : null;
    const pointResults: CsrPointResult[] = points.map((p) => {
      const m = safeCount.get(p.index)!;
      return { index: p.index, position: p.position, sentence: p.sentence, csr: csrValue(m), samples: m.samples, safe: m.safe };
    });
    const baselineCsr = base ? csrValue(base) : null;
    const turningPoints = findTurningPoints(baselineCsr, pointResults, options.turning);
    const chart = chartFileName(trace.id);
    writeFileAtomic(join(options.outputDir, chart), csrChartSvg(trace.id, baselineCsr, pointResults, turningPoints, options.turning));
    results.push({
      id: trace.id,
      prompt: trace.prompt,
      baseline: base ? { csr: baselineCsr, samples: base.samples, safe: base.safe } : null,
      points: pointResults,
      turningPoints,
      triggers: turningPoints.filter((tp) => tp.kind === 'trigger').map((tp) => tp.sentence),
      cues: turningPoints.filter((tp) => tp.kind === 'cue').map((tp) => tp.sentence),
      chart,
      failures: failures.map(({ index, error }) => ({ unit: `point ${units[index]!.p.index} sample ${units[index]!.sample}`, error: formatError(error) })),
    });
    // csr.json is rewritten after every trace, so a long run shows (and keeps) finished traces.
    writeFileAtomic(join(options.outputDir, 'csr.json'), JSON.stringify(results, null, 2) + '\n');
  }
  continuations.close();
  verdicts.close();
  if (!options.traces.length) writeFileAtomic(join(options.outputDir, 'csr.json'), '[]\n');
  writeFileAtomic(
    join(options.outputDir, 'csr-settings.json'),
    JSON.stringify({ model: options.policy.model, judge: options.judge.id, judgeOn: options.judgeOn, samples: options.samples, stride: options.stride, turning: options.turning, sampling: options.sampling, baseline: options.baseline !== false }, null, 2) + '\n',
  );
  return results;
}
