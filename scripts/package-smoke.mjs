// Run inside a fresh folder where the packed tarball was installed: the native backend must load
// from prebuilds/ and agree with the float64 reference.
import { writeFileSync } from 'node:fs';
import { backendInfo, dpoLoss, referenceDpoLoss, sequenceLogprobs, referenceSequenceLogprobs } from 'ipo-node';

let passed = 0;
let failed = 0;
function check(name, ok, detail = '') {
  if (ok) passed++;
  else failed++;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${detail ? `: ${detail}` : ''}`);
}

const info = backendInfo();
check('a native backend loaded (no silent fallback)', info.backend === 'cpu' || info.backend === 'cuda', JSON.stringify(info));

const pairs = 2, seqLen = 16, vocab = 1000;
const logits = new Float32Array(2 * pairs * seqLen * vocab).map(() => Math.random() * 6 - 3);
const labels = new Int32Array(2 * pairs * seqLen).map((_, i) => (i % seqLen < 6 ? -100 : (i * 37) % vocab));
const refLogps = new Float32Array(2 * pairs).map(() => -60 - Math.random() * 10);
const input = { logits, seqLen, vocab, labels, refLogps };
const a = dpoLoss(input, { sftWeight: 0.2 });
const b = referenceDpoLoss(input, { sftWeight: 0.2 });
check('dpoLoss matches the float64 reference', Math.abs(a.loss - b.loss) <= 1e-5 * Math.abs(b.loss), `${a.loss} vs ${b.loss}`);
let diff = 0, norm = 0;
for (let i = 0; i < b.gradLogits.length; i++) { diff += (a.gradLogits[i] - b.gradLogits[i]) ** 2; norm += b.gradLogits[i] ** 2; }
check('gradient matches the reference', Math.sqrt(diff / norm) <= 1e-5, `rel ${Math.sqrt(diff / norm).toExponential(2)}`);
const s = sequenceLogprobs(input), r = referenceSequenceLogprobs(input);
check('sequenceLogprobs matches the reference', s.every((v, i) => Math.abs(v - r[i]) <= 1e-5 * Math.abs(r[i])));
try {
  dpoLoss({ ...input, labels: labels.map(() => vocab) });
  check('bad labels are rejected', false);
} catch (e) {
  check('bad labels are rejected with a RangeError', e instanceof RangeError, e.message);
}
const tfjsAdapter = await import('ipo-node/tfjs');
check('the ipo-node/tfjs entry point loads without TensorFlow.js installed', typeof tfjsAdapter.dpoLossTensor === 'function');
try {
  await tfjsAdapter.loadTensorflow();
  check('loadTensorflow names the missing optional peer', false, 'it loaded; @tensorflow/tfjs should not be installed here');
} catch (e) {
  check('loadTensorflow names the missing optional peer', /@tensorflow\/tfjs/.test(e.message), e.message.split('\n')[0]);
}

console.log(`tarball ${(Number(process.env.IPO_TARBALL_BYTES) / 1024).toFixed(0)} KiB; package-smoke: ${passed} passed, ${failed} failed`);
if (process.env.IPO_TEST_SUMMARY) writeFileSync(process.env.IPO_TEST_SUMMARY, JSON.stringify({ passed, failed }));
process.exit(failed ? 1 : 0);
