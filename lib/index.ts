/**
 * ipo-node: Intervened Preference Optimization for reasoning models.
 *
 * The package root is the loss only: the fused segment-masked DPO loss and log-prob gathering
 * (native CPU/CUDA, float64 reference). Importing it loads no HTTP client, chat-template engine or
 * tokenizer (test/package/root-imports.test.ts checks). The pipeline around it (model clients,
 * intervention, evaluation, training) is `ipo-node/pipeline`; the TensorFlow.js adapter `ipo-node/tfjs`.
 */
export * from './loss/index.js';
