#include "cpu/row_pass.h"

#include "core/status.h"
#include "cpu/dtype.h"
#include "cpu/row_kernels.h"
#include "cpu/thread_pool.h"

namespace ipo {

int64_t rows_per_task(int64_t vocab) {
  const int64_t r = (int64_t)65536 / (vocab > 0 ? vocab : 1);
  return r < 1 ? 1 : r;
}

int32_t scored_row_logprobs(const ipo_logits* in, const Shape& shape, const ScoredRows& scored, int threads,
                            RowLogprobs* result, ipo_error* err) {
  const int64_t n = (int64_t)scored.rows.size();
  result->lse.assign((size_t)n, 0.0);
  result->logp.assign((size_t)n, 0.0);
  std::vector<unsigned char> finite((size_t)n, 1);
  const RowKernels& k = active_row_kernels();
  const RowLseFn lse_fn = k.lse[in->dtype];
  const int64_t per_task = rows_per_task(shape.vocab);
  const int64_t tasks = (n + per_task - 1) / per_task;
  const size_t row_bytes = (size_t)shape.vocab * (size_t)shape.elem_bytes;
  const char* base = static_cast<const char*>(in->data);
  parallel_for(tasks, threads, [&](int64_t task) {
    const int64_t end = (task + 1) * per_task < n ? (task + 1) * per_task : n;
    for (int64_t j = task * per_task; j < end; ++j) {
      const int64_t r = scored.rows[(size_t)j];
      const void* row = base + (size_t)r * row_bytes;
      bool ok = true;
      const double lse = lse_fn(row, shape.vocab, &ok);
      finite[(size_t)j] = ok;
      result->lse[(size_t)j] = lse;
      result->logp[(size_t)j] = (double)load_scalar(row, in->dtype, in->labels[r]) - lse;
    }
  });
  for (int64_t j = 0; j < n; ++j) {
    if (!finite[(size_t)j]) {
      const int64_t r = scored.rows[(size_t)j];
      const int64_t seq = r / shape.seq_len, pos = r % shape.seq_len;
      return fail_at(err, IPO_ERR_NONFINITE, "logits", seq, pos,
                     "logits hold NaN or an infinite value in a scored row: sequence %lld, position %lld",
                     (long long)seq, (long long)pos);
    }
  }
  return ok(err);
}

}  // namespace ipo
