/**
 * ipo-node: Intervened Preference Optimization for reasoning models.
 *
 * - loss: the fused segment-masked DPO loss and log-prob gathering (native CPU/CUDA, float64 reference)
 * - eval: harmful-reasoning / harmful-response ratios, over-refusal, Continuation Safety Ratio
 */
export * from './loss/index.js';
export * as evaluation from './eval/index.js';
