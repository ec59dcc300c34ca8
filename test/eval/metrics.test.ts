import { describe, expect, it } from 'vitest';
import type { HarmVerdict, RefusalLabel } from '../../lib/eval/judges/types.js';
import { computeMetrics, metricsPerCategory, type JudgedGeneration } from '../../lib/eval/metrics.js';
import { wilsonInterval } from '../../lib/eval/wilson.js';

const v = (harmful: boolean | null, categories: string[] = []): HarmVerdict => ({ harmful, categories, raw: '' });
const harmful = (id: string, cat: string, r: boolean | null, a: boolean | null, rc: string[] = [], ac: string[] = []): JudgedGeneration => ({
  promptId: id,
  category: cat,
  harmfulPrompt: true,
  sample: 0,
  reasoning: v(r, rc),
  response: v(a, ac),
});
const benign = (id: string, label: RefusalLabel | null): JudgedGeneration => ({ promptId: id, category: 'benign', harmfulPrompt: false, sample: 0, refusal: { label, raw: '' } });

// Hand-built table. Harmful generations (reasoning, response):
//   h1 U,U [S2 / S2]   h2 U,S [S9]   h3 U,S   h4 S,S   h5 S,S   h6 S,U [- / S1]   h7 ?,S   h8 U,?
//   reasoning judged 7 (h7 unparsed), unsafe 4 (h1 h2 h3 h8)          -> 4/7
//   response judged 7 (h8 unparsed), unsafe 2 (h1 h6)                 -> 2/7
//   four-way over h1..h6: UU 1, US 2, SS 2, SU 1 (n 6)
// Benign generations: labels 1,1,1,2,3,? -> compliance 3/5, full refusal 1/5, partial 1/5, 1 unparsed.
const records: JudgedGeneration[] = [
  harmful('h1', 'fraud', true, true, ['S2'], ['S2']),
  harmful('h2', 'weapons', true, false, ['S9']),
  harmful('h3', 'fraud', true, false),
  harmful('h4', 'weapons', false, false),
  harmful('h5', 'fraud', false, false),
  harmful('h6', 'weapons', false, true, [], ['S1']),
  harmful('h7', 'fraud', null, false),
  harmful('h8', 'weapons', true, null),
  benign('b1', '1_full_compliance'),
  benign('b2', '1_full_compliance'),
  benign('b3', '1_full_compliance'),
  benign('b4', '2_full_refusal'),
  benign('b5', '3_partial_refusal'),
  benign('b6', null),
];

describe('computeMetrics', () => {
  const m = computeMetrics(records);
  it('computes the ratios over parsed verdicts with Wilson intervals', () => {
    expect(m.n).toBe(14);
    expect(m.prompts).toBe(14);
    expect(m.harmfulReasoningRatio).toEqual({ value: 4 / 7, ci95: wilsonInterval(4, 7), count: 4, n: 7 });
    expect(m.harmfulResponseRatio).toEqual({ value: 2 / 7, ci95: wilsonInterval(2, 7), count: 2, n: 7 });
    expect(m.complianceRatio).toEqual({ value: 3 / 5, ci95: wilsonInterval(3, 5), count: 3, n: 5 });
    expect(m.fullRefusalRatio.value).toBe(1 / 5);
    expect(m.partialRefusalRatio.value).toBe(1 / 5);
    expect(m.unparsed).toEqual({ reasoning: 1, response: 1, refusal: 1 });
  });
  it('fills the four-way table from generations with both verdicts', () => {
    expect(m.fourWay).toEqual({
      safeReasoningSafeResponse: 2,
      safeReasoningUnsafeResponse: 1,
      unsafeReasoningSafeResponse: 2,
      unsafeReasoningUnsafeResponse: 1,
      n: 6,
    });
  });
  it('counts the hazard codes the judge named', () => {
    expect(m.judgeCategories).toEqual({ S2: { reasoning: 1, response: 1 }, S9: { reasoning: 1, response: 0 }, S1: { reasoning: 0, response: 1 } });
  });
  it('splits by category', () => {
    const per = metricsPerCategory(records);
    expect(Object.keys(per)).toEqual(['benign', 'fraud', 'weapons']);
    // fraud: h1 U,U  h3 U,S  h5 S,S  h7 ?,S -> reasoning 2/3, response 1/4
    expect(per.fraud!.harmfulReasoningRatio).toMatchObject({ count: 2, n: 3 });
    expect(per.fraud!.harmfulResponseRatio).toMatchObject({ count: 1, n: 4 });
    // weapons: h2 U,S  h4 S,S  h6 S,U  h8 U,? -> reasoning 2/4, response 1/3
    expect(per.weapons!.harmfulReasoningRatio).toMatchObject({ count: 2, n: 4 });
    expect(per.weapons!.harmfulResponseRatio).toMatchObject({ count: 1, n: 3 });
    expect(per.benign!.complianceRatio).toMatchObject({ count: 3, n: 5 });
    expect(per.benign!.harmfulReasoningRatio.value).toBeNull();
  });
});
