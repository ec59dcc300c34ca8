// ipo_dpo_loss on the CPU: the fused segment-masked DPO loss.
//   phase 1  each scored row read once: log-sum-exp and label log-prob      (row_pass.cc)
//   scalar   per-sequence sums, the loss and d loss / d sequence log-prob  (core/dpo_math.cc)
//   phase 2  each scored row read once more and its gradient written:
//              grad_j = coef_s * (onehot(label)_j - exp(x_j - lse)),
//            the label entry recomputed in double as -coef_s * expm1(logp) so softmax - 1 never cancels
//            in a 16-bit format; unscored rows written as zeros only when the buffer is not known zero.
// Phase 2 cannot fold into phase 1: coef_s depends on the whole pair's summed log-probs.
#include <cmath>
#include <cstring>
#include <exception>

#include "core/dpo_math.h"
#include "core/status.h"
#include "core/validate.h"
#include "cpu/dtype.h"
#include "cpu/row_kernels.h"
#include "cpu/row_pass.h"
#include "cpu/thread_pool.h"
#include "ipo.h"

#if defined(__x86_64__)
#include <xmmintrin.h>
#endif
#if defined(__linux__)
#include <sys/mman.h>
#include <unistd.h>
#endif

using namespace ipo;

namespace {

// Non-temporal stores pay off when the gradient is a separate buffer far larger than the caches.
constexpr int64_t kStreamMinBytes = (int64_t)64 << 20;

// A fresh, zero-filled gradient buffer has no pages yet: the first write to each 4 KB page traps
// into the kernel. Asking the kernel to populate exactly the pages of the scored rows, from every
// thread at once, costs far less than taking those faults one by one inside the gradient loop
// (measured on a VM: 1 GB in 165 ms against about 300 ms). Unscored rows stay unpopulated, so
// they still cost nothing. Linux 5.14+; elsewhere, or if refused, the faults happen as before.
void populate_scored_pages(const Shape& shape, const ScoredRows& scored, char* grad, int threads) {
#if defined(__linux__)
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
  const uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
  const size_t row_bytes = (size_t)shape.vocab * (size_t)shape.elem_bytes;
  constexpr size_t kChunk = (size_t)8 << 20;
  // Byte ranges of runs of consecutive scored rows, cut into chunks for the thread pool.
  std::vector<std::pair<uintptr_t, uintptr_t>> ranges;
  for (size_t j = 0; j < scored.rows.size();) {
    size_t k = j + 1;
    while (k < scored.rows.size() && scored.rows[k] == scored.rows[k - 1] + 1) ++k;
    uintptr_t begin = (uintptr_t)(grad + (size_t)scored.rows[j] * row_bytes) / page * page;
    const uintptr_t end = ((uintptr_t)(grad + (size_t)(scored.rows[k - 1] + 1) * row_bytes) + page - 1) / page * page;
    for (; begin < end; begin += kChunk) ranges.emplace_back(begin, begin + kChunk < end ? begin + kChunk : end);
    j = k;
  }
  parallel_for((int64_t)ranges.size(), threads, [&](int64_t i) {
    const auto& r = ranges[(size_t)i];
    madvise(reinterpret_cast<void*>(r.first), r.second - r.first, MADV_POPULATE_WRITE);
  });
#else
  (void)shape, (void)scored, (void)grad, (void)threads;
#endif
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

  if (out->grad_is_zeroed && large) populate_scored_pages(shape, scored, dst, threads);

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

  if (!out->grad_is_zeroed) {
    const int64_t row_tasks = (shape.rows + per_task - 1) / per_task;
    parallel_for(row_tasks, threads, [&](int64_t task) {
      const int64_t end = (task + 1) * per_task < shape.rows ? (task + 1) * per_task : shape.rows;
      for (int64_t r = task * per_task; r < end; ++r)
        // Non-temporal: plain stores would first read every line in (read-for-ownership).
        if (in->labels[r] == IPO_IGNORE_INDEX) k.zero(dst + (size_t)r * row_bytes, row_bytes, large);
    });
#if defined(__x86_64__)
    if (large) _mm_sfence();
#endif
  }
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
