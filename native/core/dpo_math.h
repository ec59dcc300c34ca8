// The scalar part of DPO, shared by the CPU and CUDA paths: from summed log-probs per sequence to
// the loss, the statistics, and d loss / d (summed log-prob of sequence s). It is O(pairs) and runs
// on the host; the kernels only need its per-sequence coefficients.
//
// With s_c = pi_c - ref_c, s_r = pi_r - ref_r, h = beta (s_c - s_r), eps = label smoothing:
//   sigmoid  L = -(1-eps) log sig(h) - eps log sig(-h)             dL/dh = -(1-eps) sig(-h) + eps sig(h)
//   robust   L = (-(1-eps) log sig(h) + eps log sig(-h)) / (1-2eps) dL/dh = (-(1-eps) sig(-h) - eps sig(h)) / (1-2eps)
//   hinge    L = max(0, 1 - h)                                    dL/dh = -[h < 1]
//   ipo      L = (u - 1/(2 beta))^2, u = s_c/n_c - s_r/n_r         dL/ds_c = 2(u - 1/(2beta))/n_c, dL/ds_r = -2(...)/n_r
// For the first three dL/ds_c = beta dL/dh and dL/ds_r = -beta dL/dh.
// Batch loss = mean_i L_i + sft_weight * (sum of -log p over scored chosen tokens) / N_chosen, so
//   coef[c_i] = (dL_i/ds_c)/pairs - sft_weight/N_chosen,  coef[r_i] = (dL_i/ds_r)/pairs,
// and the gradient of logits row (s, t) is coef[s] * (onehot(label) - softmax(row)).
#ifndef IPO_CORE_DPO_MATH_H
#define IPO_CORE_DPO_MATH_H

#include <cstdint>

#include "ipo.h"

namespace ipo {

// policy_logps, counts: [2 * pairs]; ref_logps: [2 * pairs]. Writes out->loss, out->accuracy and the
// non-null per-pair arrays of out; seq_coef (if non-null): [2 * pairs].
void dpo_math(int64_t pairs, const double* policy_logps, const float* ref_logps, const int64_t* counts,
              const ipo_dpo_options& options, ipo_dpo_outputs* out, double* seq_coef);

}  // namespace ipo

#endif
