#include "core/validate.h"

#include <cmath>
#include <cstdint>
#include <limits>

#include "core/status.h"

namespace ipo {
namespace {

bool mul_overflows(int64_t a, int64_t b, int64_t* out) {
  return __builtin_mul_overflow(a, b, out);
}

}  // namespace

int32_t validate_shape(const ipo_logits* in, Shape* shape, ipo_error* err) {
  if (!in) return fail(err, IPO_ERR_TYPE, "input", "input must not be null");
  if (in->dtype != IPO_DTYPE_F32 && in->dtype != IPO_DTYPE_BF16 && in->dtype != IPO_DTYPE_F16)
    return fail(err, IPO_ERR_TYPE, "dtype", "dtype must be float32, bfloat16 or float16 (got code %d)", in->dtype);
  if (in->seq_len <= 0) return fail(err, IPO_ERR_RANGE, "seqLen", "seqLen must be a positive integer (got %lld)", (long long)in->seq_len);
  if (in->vocab <= 0) return fail(err, IPO_ERR_RANGE, "vocab", "vocab must be a positive integer (got %lld)", (long long)in->vocab);
  if (in->vocab > INT32_MAX)
    return fail(err, IPO_ERR_RANGE, "vocab", "vocab must be at most %d so that int32 labels can address it (got %lld)",
                INT32_MAX, (long long)in->vocab);
  if (in->sequences <= 0)
    return fail(err, IPO_ERR_RANGE, "labels", "labels must hold at least one sequence of seqLen positions (got %lld sequences)",
                (long long)in->sequences);
  Shape s;
  s.sequences = in->sequences;
  s.seq_len = in->seq_len;
  s.vocab = in->vocab;
  s.elem_bytes = in->dtype == IPO_DTYPE_F32 ? 4 : 2;
  int64_t bytes = 0;
  if (mul_overflows(s.sequences, s.seq_len, &s.rows) || mul_overflows(s.rows, s.vocab, &s.elements) ||
      mul_overflows(s.elements, s.elem_bytes, &bytes) || (uint64_t)bytes > (uint64_t)std::numeric_limits<size_t>::max())
    return fail(err, IPO_ERR_RANGE, "logits", "sequences x seqLen x vocab (%lld x %lld x %lld) overflows 64-bit sizes",
                (long long)s.sequences, (long long)s.seq_len, (long long)s.vocab);
  if (!in->data) return fail(err, IPO_ERR_TYPE, "logits", "logits must not be null");
  if (!in->labels) return fail(err, IPO_ERR_TYPE, "labels", "labels must not be null");
  *shape = s;
  return ok(err);
}

int32_t collect_scored_rows(const ipo_logits* in, const Shape& shape, ScoredRows* scored, ipo_error* err) {
  scored->rows.clear();
  scored->per_sequence.assign((size_t)shape.sequences, 0);
  for (int64_t r = 0; r < shape.rows; ++r) {
    const int32_t label = in->labels[r];
    if (label == IPO_IGNORE_INDEX) continue;
    if (label < 0 || (int64_t)label >= shape.vocab) {
      const int64_t seq = r / shape.seq_len, pos = r % shape.seq_len;
      return fail_at(err, IPO_ERR_RANGE, "labels", seq, pos,
                     "labels[%lld] (sequence %lld, position %lld) is %d: must be in [0, vocab=%lld) or -100",
                     (long long)r, (long long)seq, (long long)pos, label, (long long)shape.vocab);
    }
    scored->rows.push_back(r);
    scored->per_sequence[(size_t)(r / shape.seq_len)]++;
  }
  return ok(err);
}

int32_t validate_dpo(const Shape& shape, const ScoredRows& scored, const float* ref_logps,
                     const ipo_dpo_options* options, const ipo_dpo_outputs* out, ipo_error* err) {
  if (!options) return fail(err, IPO_ERR_TYPE, "options", "options must not be null");
  if (!out) return fail(err, IPO_ERR_TYPE, "outputs", "outputs must not be null");
  if (!(options->beta > 0) || !std::isfinite(options->beta))
    return fail(err, IPO_ERR_RANGE, "beta", "beta must be a finite number > 0 (got %g)", options->beta);
  if (options->loss_type < IPO_LOSS_SIGMOID || options->loss_type > IPO_LOSS_IPO)
    return fail(err, IPO_ERR_RANGE, "lossType", "lossType must be sigmoid, robust, hinge or ipo (got code %d)", options->loss_type);
  if (!(options->label_smoothing >= 0 && options->label_smoothing < 0.5))
    return fail(err, IPO_ERR_RANGE, "labelSmoothing", "labelSmoothing must be in [0, 0.5) (got %g)", options->label_smoothing);
  if (!(options->sft_weight >= 0) || !std::isfinite(options->sft_weight))
    return fail(err, IPO_ERR_RANGE, "sftWeight", "sftWeight must be a finite number >= 0 (got %g)", options->sft_weight);
  if (shape.sequences % 2 != 0)
    return fail(err, IPO_ERR_RANGE, "labels",
                "the batch must hold 2 x pairs sequences (chosen then rejected); got an odd number: %lld",
                (long long)shape.sequences);
  if (!ref_logps) return fail(err, IPO_ERR_TYPE, "refLogps", "refLogps must not be null");
  for (int64_t s = 0; s < shape.sequences; ++s) {
    if (scored.per_sequence[(size_t)s] == 0)
      return fail_at(err, IPO_ERR_RANGE, "labels", s, -1,
                     "sequence %lld (%s %lld) has no scored token: every sequence needs at least one label other than -100",
                     (long long)s, s < shape.sequences / 2 ? "chosen" : "rejected",
                     (long long)(s % (shape.sequences / 2)));
    if (!std::isfinite(ref_logps[s]))
      return fail_at(err, IPO_ERR_RANGE, "refLogps", s, -1, "refLogps[%lld] is not finite (%g)", (long long)s, (double)ref_logps[s]);
  }
  return ok(err);
}

}  // namespace ipo
