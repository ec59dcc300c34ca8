// ipo_dpo_loss on the CPU: the fused segment-masked DPO loss.
//   phase 1  each scored row read once: log-sum-exp and label log-prob      (row_pass.cc)
//   scalar   per-sequence sums, the loss and d loss / d sequence log-prob  (core/dpo_math.cc)
//   phase 2  each scored row read once more and its gradient written:
//              grad_j = coef_s * (onehot(label)_j - exp(x_j - lse)),
//            the label entry recomputed in double as -coef_s * expm1(logp) so softmax - 1 never cancels
//            in a 16-bit format; unscored rows left, discarded or written as zeros depending on where the
//            buffer came from (write_gradient).
// Phase 2 cannot fold into phase 1: coef_s depends on the whole pair's summed log-probs.
#include <cmath>
#include <cstring>
#include <exception>

#include "core/dpo_math.h"
#include "core/status.h"
#include "core/validate.h"
#include "cpu/dtype.h"
#include "cpu/grad_pool.h"
#include "cpu/pages.h"
#include "cpu/row_kernels.h"
#include "cpu/row_pass.h"
#include "cpu/thread_pool.h"
#include "ipo.h"

using namespace ipo;

namespace {

// Non-temporal stores pay off when the gradient is a separate buffer far larger than the caches.
constexpr int64_t kStreamMinBytes = (int64_t)64 << 20;

// The byte ranges of the runs of consecutive scored rows: what phase 2 overwrites in full.
std::vector<ByteRange> scored_row_bytes(const Shape& shape, const ScoredRows& scored, char* grad) {
  const size_t row_bytes = (size_t)shape.vocab * (size_t)shape.elem_bytes;
  std::vector<ByteRange> ranges;
  for (size_t j = 0; j < scored.rows.size();) {
    size_t k = j + 1;
    while (k < scored.rows.size() && scored.rows[k] == scored.rows[k - 1] + 1) ++k;
    ranges.push_back({grad + (size_t)scored.rows[j] * row_bytes, grad + (size_t)(scored.rows[k - 1] + 1) * row_bytes});
    j = k;
  }
  return ranges;
}

void write_gradient(const ipo_logits* in, const Shape& shape, const ScoredRows& scored, const RowLogprobs& rows,
                    const std::vector<double>& seq_coef, ipo_dpo_outputs* out, int threads) {
  const RowKernels& k = active_row_kernels();
  const RowGradFn grad_fn = k.grad[in->dtype];
  const size_t row_bytes = (size_t)shape.vocab * (size_t)shape.elem_bytes;
  const char* src = static_cast<const char*>(in->data);
  char* dst = static_cast<char*>(out->grad);
  const bool in_place = out->grad == in->data;
  const bool large = shape.elements * shape.elem_bytes >= kStreamMinBytes;
  const bool stream = !in_place && large;
  const int64_t per_task = rows_per_task(shape.vocab);

  // Unscored rows must read as zero afterwards. A pooled buffer (grad_pool.h) is cleared the cheapest
  // way, a fresh zero-filled one only has its scored pages faulted in up front, in parallel (pages.h),
  // and any other buffer has every unscored byte zero-written, after the gradient in both cases.
  const size_t bytes = (size_t)(shape.elements * shape.elem_bytes);
  const std::vector<ByteRange> written = scored_row_bytes(shape, scored, dst);
  std::vector<ByteRange> to_zero;
  const bool pooled = !in_place && grad_pool_prepare(dst, bytes, written, threads, &to_zero);
  if (!pooled && !out->grad_is_zeroed) to_zero = gaps(written, dst, dst + bytes);
  else if (!pooled && large) populate_ranges(written, threads);

  const int64_t n = (int64_t)scored.rows.size();
  const int64_t tasks = (n + per_task - 1) / per_task;
  parallel_for(tasks, threads, [&](int64_t reversed) {
    // Last rows first: phase 1 ended on them, so the first reads here still hit the L3 cache.
    const int64_t task = tasks - 1 - reversed;
    const int64_t end = (task + 1) * per_task < n ? (task + 1) * per_task : n;
    for (int64_t j = task * per_task; j < end; ++j) {
      const int64_t r = scored.rows[(size_t)j];
      const double coef = seq_coef[(size_t)(r / shape.seq_len)];
      const double logp = rows.logp[(size_t)j];
      grad_fn(src + (size_t)r * row_bytes, dst + (size_t)r * row_bytes, shape.vocab, (float)rows.lse[(size_t)j],
              (float)-coef, stream);
      store_scalar(dst + (size_t)r * row_bytes, in->dtype, in->labels[r], (float)(-coef * std::expm1(logp)));
    }
  });
#if defined(__x86_64__)
  if (stream) __builtin_ia32_sfence();  // order the non-temporal stores before returning
#endif

  // After the gradient: phase 2 starts on the rows phase 1 left in the cache. Non-temporal stores on
  // large buffers: plain ones would first read every line in (read-for-ownership).
  zero_ranges(to_zero, threads, large);
}

}  // namespace

extern "C" int32_t ipo_dpo_loss(const ipo_logits* in, const float* ref_logps, const ipo_dpo_options* options,
                                ipo_dpo_outputs* out, ipo_error* err) {
  try {
    Shape shape;
    ScoredRows scored;
    if (int32_t s = validate_shape(in, &shape, err)) return s;
    if (int32_t s = collect_scored_rows(in, shape, &scored, err)) return s;
    if (int32_t s = validate_dpo(shape, scored, ref_logps, options, out, err)) return s;

    RowLogprobs rows;
    if (int32_t s = scored_row_logprobs(in, shape, scored, options->threads, &rows, err)) return s;

    const int64_t pairs = shape.sequences / 2;
    std::vector<double> policy((size_t)shape.sequences, 0.0), seq_coef((size_t)shape.sequences, 0.0);
    for (size_t j = 0; j < scored.rows.size(); ++j) policy[(size_t)(scored.rows[j] / shape.seq_len)] += rows.logp[j];
    dpo_math(pairs, policy.data(), ref_logps, scored.per_sequence.data(), *options, out, seq_coef.data());

    if (out->grad) write_gradient(in, shape, scored, rows, seq_coef, out, options->threads);
    return ok(err);
  } catch (const std::exception& e) {
    return fail(err, IPO_ERR_RUNTIME, "", "dpo_loss failed: %s", e.what());
  }
}

extern "C" const char* ipo_version(void) { return IPO_VERSION; }
extern "C" const char* ipo_cpu_simd(void) { return active_row_kernels().name; }
extern "C" int32_t ipo_cpu_threads(void) { return available_cores(); }
extern "C" int32_t ipo_cpu_select_simd(const char* name, ipo_error* err) {
  if (!name) return fail(err, IPO_ERR_TYPE, "simd", "simd must be a string");
  if (!select_row_kernels(name))
    return fail(err, IPO_ERR_UNAVAILABLE, "simd", "instruction set '%.32s' is unknown or not supported by this CPU", name);
  return ok(err);
}
