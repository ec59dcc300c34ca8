#include "core/dpo_math.h"

#include <algorithm>
#include <cmath>

namespace ipo {
namespace {

// log(sigmoid(x)) without overflow for large |x|.
double log_sigmoid(double x) { return -(std::max(-x, 0.0) + std::log1p(std::exp(-std::fabs(x)))); }
double sigmoid(double x) {
  if (x >= 0) return 1.0 / (1.0 + std::exp(-x));
  const double e = std::exp(x);
  return e / (1.0 + e);
}

}  // namespace

void dpo_math(int64_t pairs, const double* policy_logps, const float* ref_logps, const int64_t* counts,
              const ipo_dpo_options& o, ipo_dpo_outputs* out, double* seq_coef) {
  const double beta = o.beta, eps = o.label_smoothing;
  double loss_sum = 0, chosen_nll = 0;
  int64_t chosen_tokens = 0, correct = 0;
  for (int64_t i = 0; i < pairs; ++i) {
    const int64_t c = i, r = pairs + i;
    chosen_nll -= policy_logps[c];
    chosen_tokens += counts[c];
    const double s_c = policy_logps[c] - (double)ref_logps[c];
    const double s_r = policy_logps[r] - (double)ref_logps[r];
    const double h = beta * (s_c - s_r);
    double loss = 0, d_sc = 0, d_sr = 0;
    switch (o.loss_type) {
      case IPO_LOSS_SIGMOID: {
        loss = -(1 - eps) * log_sigmoid(h) - eps * log_sigmoid(-h);
        const double dh = -(1 - eps) * sigmoid(-h) + eps * sigmoid(h);
        d_sc = beta * dh;
        d_sr = -beta * dh;
        break;
      }
      case IPO_LOSS_ROBUST: {
        loss = (-(1 - eps) * log_sigmoid(h) + eps * log_sigmoid(-h)) / (1 - 2 * eps);
        const double dh = (-(1 - eps) * sigmoid(-h) - eps * sigmoid(h)) / (1 - 2 * eps);
        d_sc = beta * dh;
        d_sr = -beta * dh;
        break;
      }
      case IPO_LOSS_HINGE: {
        loss = std::max(0.0, 1 - h);
        const double dh = h < 1 ? -1.0 : 0.0;
        d_sc = beta * dh;
        d_sr = -beta * dh;
        break;
      }
      case IPO_LOSS_IPO: {
        const double n_c = (double)counts[c], n_r = (double)counts[r];
        const double diff = s_c / n_c - s_r / n_r - 1 / (2 * beta);
        loss = diff * diff;
        d_sc = 2 * diff / n_c;
        d_sr = -2 * diff / n_r;
        break;
      }
    }
    loss_sum += loss;
    const double reward_c = beta * s_c, reward_r = beta * s_r, margin = reward_c - reward_r;
    if (margin > 0) ++correct;
    if (out->chosen_logps) out->chosen_logps[i] = (float)policy_logps[c];
    if (out->rejected_logps) out->rejected_logps[i] = (float)policy_logps[r];
    if (out->chosen_rewards) out->chosen_rewards[i] = (float)reward_c;
    if (out->rejected_rewards) out->rejected_rewards[i] = (float)reward_r;
    if (out->margins) out->margins[i] = (float)margin;
    if (seq_coef) {
      seq_coef[c] = d_sc / (double)pairs;
      seq_coef[r] = d_sr / (double)pairs;
    }
  }
  double loss = loss_sum / (double)pairs;
  if (o.sft_weight > 0 && chosen_tokens > 0) {
    loss += o.sft_weight * chosen_nll / (double)chosen_tokens;
    if (seq_coef)
      for (int64_t i = 0; i < pairs; ++i) seq_coef[i] -= o.sft_weight / (double)chosen_tokens;
  }
  out->loss = loss;
  out->accuracy = (double)correct / (double)pairs;
}

}  // namespace ipo
