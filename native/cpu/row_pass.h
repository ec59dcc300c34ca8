// Phase 1 of every CPU operation: for each scored row, its log-sum-exp and the log-prob of its label,
// in parallel over rows. One read of each scored row; unscored rows are never touched.
#ifndef IPO_CPU_ROW_PASS_H
#define IPO_CPU_ROW_PASS_H

#include <vector>

#include "core/validate.h"
#include "ipo.h"

namespace ipo {

struct RowLogprobs {
  std::vector<double> lse;    // per scored row, same order as ScoredRows::rows
  std::vector<double> logp;   // label logit - lse
};

// Fails with IPO_ERR_NONFINITE naming the first (sequence, position) whose row holds NaN or +-inf.
int32_t scored_row_logprobs(const ipo_logits* in, const Shape& shape, const ScoredRows& scored, int threads,
                            RowLogprobs* result, ipo_error* err);

// Rows per parallel task, so that one task is at least ~64K elements.
int64_t rows_per_task(int64_t vocab);

}  // namespace ipo

#endif
