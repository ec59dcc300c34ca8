// ipo_token_logprobs / ipo_sequence_logprobs: the log-prob gathering of a policy or reference pass.
#include <cstring>
#include <exception>

#include "core/status.h"
#include "core/validate.h"
#include "cpu/row_pass.h"
#include "ipo.h"

using namespace ipo;

namespace {

int32_t prepare(const ipo_logits* in, const void* out, Shape* shape, ScoredRows* scored, ipo_error* err) {
  if (int32_t s = validate_shape(in, shape, err)) return s;
  if (!out) return fail(err, IPO_ERR_TYPE, "out", "the output array must not be null");
  return collect_scored_rows(in, *shape, scored, err);
}

}  // namespace

extern "C" int32_t ipo_token_logprobs(const ipo_logits* in, float* out, int32_t threads, ipo_error* err) {
  try {
    Shape shape;
    ScoredRows scored;
    if (int32_t s = prepare(in, out, &shape, &scored, err)) return s;
    RowLogprobs rows;
    if (int32_t s = scored_row_logprobs(in, shape, scored, threads, &rows, err)) return s;
    std::memset(out, 0, sizeof(float) * (size_t)shape.rows);
    for (size_t j = 0; j < scored.rows.size(); ++j) out[scored.rows[j]] = (float)rows.logp[j];
    return ok(err);
  } catch (const std::exception& e) {
    return fail(err, IPO_ERR_RUNTIME, "", "token_logprobs failed: %s", e.what());
  }
}

extern "C" int32_t ipo_sequence_logprobs(const ipo_logits* in, float* out, int32_t threads, ipo_error* err) {
  try {
    Shape shape;
    ScoredRows scored;
    if (int32_t s = prepare(in, out, &shape, &scored, err)) return s;
    RowLogprobs rows;
    if (int32_t s = scored_row_logprobs(in, shape, scored, threads, &rows, err)) return s;
    // Summed in row order in double, whatever the thread count: results do not depend on threads.
    std::vector<double> sums((size_t)shape.sequences, 0.0);
    for (size_t j = 0; j < scored.rows.size(); ++j) sums[(size_t)(scored.rows[j] / shape.seq_len)] += rows.logp[j];
    for (int64_t s = 0; s < shape.sequences; ++s) out[s] = (float)sums[(size_t)s];
    return ok(err);
  } catch (const std::exception& e) {
    return fail(err, IPO_ERR_RUNTIME, "", "sequence_logprobs failed: %s", e.what());
  }
}
