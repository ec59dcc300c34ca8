/** Evaluation: judges, ratios with Wilson intervals, CSR and turning points, answer checks, charts. */
export { wilsonInterval, ratio, Z95, type Ratio } from './wilson.js';
export { computeMetrics, metricsPerCategory, type EvalMetrics, type FourWayTable, type JudgedGeneration } from './metrics.js';
export * from './judges/types.js';
export { parseHarmAnswer, parseRefusalAnswer } from './judges/parse.js';
export { PhraseJudge, findRefusalPhrase, ANSWER_REFUSAL_PHRASES, REASONING_REFUSAL_PHRASES } from './judges/phrases.js';
export { LlmHarmJudge, LlmRefusalJudge, autoHarmFormat } from './judges/llm.js';
export { harmJudgeMessages, refusalJudgeMessages, type HarmJudgeFormat, type RefusalJudgeFormat } from './judges/rubric.js';
export { csrValue, findTurningPoints, DEFAULT_TURNING, type TurningPoint, type TurningPointOptions } from './csr.js';
export { prefixPoints, parseStride, countTokens, type Stride, type PrefixPoint } from './prefixes.js';
export { extractFinalAnswer, extractGsm8kPrediction, gsm8kGold, gsm8kCorrect, mathEquivalent, mathCorrect, normalizeMathAnswer, lastBoxed } from './answers.js';
export { evalChartSvg, csrChartSvg } from './charts.js';
export { runEvaluation, sampleGenerations, type EvalPrompt, type EvalRunOptions } from './run-eval.js';
export { runCsr, type CsrRunOptions, type CsrTraceResult, type JudgeOn } from './run-csr.js';
export { runUtility, loadUtilityItems, scoreOutput, type UtilityBenchmark } from './utility.js';
export { loadEvalPrompts, SAFETY_BENCHMARKS } from './benchmarks.js';
export { loadTraces, type CsrTrace } from './traces.js';
export { appendTriggers } from './trigger-export.js';
export type { EvalReport, UtilityReport } from './report.js';
