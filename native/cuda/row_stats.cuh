// Phase 1 of every operation: the log-sum-exp of each scored row and the log-prob of its label,
// summed per sequence. Two launches:
//   row_partials: one block per (scored row, split) streams its part of the row once (16-byte loads,
//     online max / sum of 2^(y - max) in float32) and writes one partial (max, sum, non-finite flag);
//     unscored rows get no block at all.
//   sequence_finalize: one block per sequence merges the partials of its scored rows, reads the
//     label entry, and writes log p = x[label] - lse per row (float32), lse per row (for the gradient
//     pass), the per-sequence sum (float64, fixed order: deterministic) and the first row holding NaN
//     or infinity (atomicMin).
// The host then copies back only [sequences] sums and one index.
#ifndef IPO_CUDA_ROW_STATS_CUH
#define IPO_CUDA_ROW_STATS_CUH

#include <vector>

#include "cuda/host_helpers.cuh"

namespace ipo_cuda {

struct Partial {
  float m;      // max of x * log2(e) over the part
  float s;      // sum of 2^(x log2(e) - m) over the part
  uint32_t bad; // non-zero: the part holds NaN or +-infinity
  uint32_t pad;
};

// Offsets of the phase-1 pieces inside a Scratch.
struct RowStatsPlan {
  int splits = 1;
  bool tokens = false;  // also keep the per-row log-probs (token_logprobs)
  size_t labels = 0, scored_rows = 0, seq_offsets = 0, partials = 0, row_lse2 = 0, row_logp = 0, token_logps = 0,
         seq_logps = 0, first_bad = 0;
};

// Reserves the phase-1 pieces in `scratch` (before Scratch::allocate).
void plan_row_stats(const Call& call, bool tokens, Scratch* scratch, RowStatsPlan* plan);

// After Scratch::allocate: uploads labels (when they came from the host), the scored-row list and
// the per-sequence offsets, runs both launches, copies back the per-sequence sums (and the per-row
// log-probs when plan.tokens), waits for them, and fails with IPO_ERR_NONFINITE naming the first
// sequence and position whose row holds NaN or infinity.
int32_t run_row_stats(const ipo_logits* in, const Call& call, const RowStatsPlan& plan, const Scratch& scratch,
                      cudaStream_t stream, std::vector<double>* seq_logps, std::vector<float>* token_logps,
                      ipo_error* err);

// The labels as the kernels read them (device memory).
inline const int32_t* device_labels(const Call& call, const RowStatsPlan& plan, const Scratch& scratch) {
  return call.labels_need_upload ? scratch.at<int32_t>(plan.labels) : call.labels_device;
}

}  // namespace ipo_cuda

#endif
