// ipo_cuda_dpo_loss: the fused segment-masked DPO loss on device logits.
//   phase 1  each scored row read once: log-sum-exp and label log-prob     (row_stats.cu)
//   host     per-sequence sums -> loss, statistics and d loss / d sequence log-prob
//            (core/dpo_math.cc, the same code as the CPU path)
//   phase 2  each scored row read once more and its gradient written, in place or not:
//              grad_j = coef_s * (onehot(label)_j - 2^(x_j log2 e - lse2)),
//            the label entry as -coef_s * expm1(log p) in float32 (1 - p never cancels in 16 bits);
//            unscored rows are written as zeros, or not touched at all when the caller says the
//            buffer is already zero (grad_is_zeroed).
// Phase 2 cannot fold into phase 1: coef_s depends on the sums of both sequences of the pair, i.e.
// on every scored row of the pair, far more than fits on chip. Bytes moved (dsize = bytes/element):
//   scored rows x vocab x dsize x 3 (read, read, write) + unscored rows x vocab x dsize (zero fill).
// Phase 2 walks the rows in reverse, so its first rows are the last ones phase 1 left in L2.
#include <cmath>
#include <exception>

#include "core/dpo_math.h"
#include "cuda/device_helpers.cuh"
#include "cuda/row_layout.h"
#include "cuda/row_stats.cuh"

namespace ipo_cuda {
namespace {

constexpr int kThreads = 256;

// Vec = false: one element per access (logits and grad differ in alignment mod 16). Vec = true with
// RowAligned: whole 16-byte rows. Vec = true without RowAligned: rows split as in row_layout.h (the
// host guarantees that logits and grad share their offset mod 16, so one layout fits both), the
// head and tail elements written one per thread by split 0.
template <int DT, bool Vec, bool RowAligned, int Unroll>
__global__ void __launch_bounds__(kThreads) grad_kernel(const void* logits, void* grad,
                                                        const int32_t* __restrict__ labels,
                                                        const int64_t* __restrict__ row_list, int64_t listed,
                                                        int splits, int64_t vocab, int64_t seq_len,
                                                        const float* __restrict__ row_lse2,
                                                        const float* __restrict__ row_logp,
                                                        const float* __restrict__ seq_coef, int zero_unscored) {
  using A = Access<DT, Vec>;
  using S = Access<DT, false>;
  constexpr int kBytes = DT == IPO_DTYPE_F32 ? 4 : 2;
  const int64_t items = listed * splits;
  for (int64_t item = blockIdx.x; item < items; item += gridDim.x) {
    const int64_t k = listed - 1 - item / splits;  // reverse order: reuse what phase 1 left in L2
    const int split = (int)(item % splits);
    const int64_t row = row_list ? row_list[k] : k;
    const int64_t row_offset = row * vocab * kBytes;
    const char* x_row = static_cast<const char*>(logits) + row_offset;
    char* g_row = static_cast<char*>(grad) + row_offset;
    const RowLayout lay = RowAligned ? RowLayout{0, vocab / A::N, vocab}
                                     : row_layout(reinterpret_cast<uintptr_t>(x_row), vocab, kBytes, A::N);
    const void* x_body = x_row + lay.head * kBytes;
    void* g_body = g_row + lay.head * kBytes;
    const int64_t begin = lay.units * split / splits, end = lay.units * (split + 1) / splits;
    const int64_t scalar = !RowAligned && split == 0 ? scalar_element(lay, vocab, threadIdx.x) : -1;
    const int32_t label = labels[row];
    if (label == IPO_IGNORE_INDEX) {
      if (zero_unscored) {
        float zero[A::N];
#pragma unroll
        for (int e = 0; e < A::N; ++e) zero[e] = 0.0f;
        for (int64_t i = begin + threadIdx.x; i < end; i += kThreads) A::store(g_body, i, zero);
        if (scalar >= 0) {
          const float z[1] = {0.0f};
          S::store(g_row, scalar, z);
        }
      }
      continue;
    }
    const float c = seq_coef[row / seq_len];
    const float neg_c = -c;
    const float lse2 = row_lse2[row];
    const float label_grad = -c * expm1f(row_logp[row]);
    if (scalar >= 0) {
      float v[1];
      uint32_t ignored = 0;
      S::widen(S::load(x_row, scalar), v, ignored);
      v[0] = scalar == label ? label_grad : neg_c * exp2f(fmaf(v[0], kLog2e, -lse2));
      S::store(g_row, scalar, v);
    }
    // The label's unit and lane inside the body; -1 when the label is a head or tail element.
    const bool label_in_body = label >= lay.head && label < lay.tail_begin;
    const int64_t label_unit = label_in_body ? (label - lay.head) / A::N : -1;
    const int label_lane = label_in_body ? (int)((label - lay.head) % A::N) : -1;
    for (int64_t i = begin + threadIdx.x; i < end; i += (int64_t)kThreads * Unroll) {
      typename A::Raw raw[Unroll];
#pragma unroll
      for (int u = 0; u < Unroll; ++u) {
        const int64_t j = i + (int64_t)u * kThreads;
        raw[u] = j < end ? A::load_stream(x_body, j) : typename A::Raw{};
      }
#pragma unroll
      for (int u = 0; u < Unroll; ++u) {
        const int64_t j = i + (int64_t)u * kThreads;
        if (j < end) {
          float v[A::N];
          uint32_t ignored = 0;
          A::widen(raw[u], v, ignored);
#pragma unroll
          for (int e = 0; e < A::N; ++e) v[e] = neg_c * exp2f(fmaf(v[e], kLog2e, -lse2));
          if (j == label_unit) {
#pragma unroll
            for (int e = 0; e < A::N; ++e)
              if (e == label_lane) v[e] = label_grad;
          }
          A::store(g_body, j, v);
        }
      }
    }
  }
}

template <int DT>
void launch_grad(const ipo_logits* in, const Call& call, const RowStatsPlan& plan, const Scratch& scratch,
                 const float* coef, const ipo_dpo_outputs* out, cudaStream_t stream) {
  const ipo::Shape& sh = call.shape;
  const bool zeroed = out->grad_is_zeroed != 0;
  // A buffer known to be zero needs blocks for the scored rows only.
  const int64_t listed = zeroed ? (int64_t)call.scored.rows.size() : sh.rows;
  const int64_t* list = zeroed ? scratch.at<int64_t>(plan.scored_rows) : nullptr;
  if (listed == 0) return;
  // Whole aligned rows; else an aligned body with scalar head and tail when logits and grad share
  // their offset mod 16 (always so for allocations of cudaMalloc or a framework, and in place); else
  // one element per access.
  const bool vec = vector_access_ok(sh, in->data, out->grad);
  const bool same_phase = (reinterpret_cast<uintptr_t>(in->data) & 15u) == (reinterpret_cast<uintptr_t>(out->grad) & 15u);
  const int64_t units = vec || same_phase ? (sh.vocab * sh.elem_bytes / 16 > 0 ? sh.vocab * sh.elem_bytes / 16 : 1) : sh.vocab;
  const int splits = splits_for(listed, units, call.device, (int64_t)kThreads * 4);
  const int64_t items = listed * splits;
  const unsigned grid = (unsigned)(items < (1LL << 30) ? items : (1LL << 30));
  const int32_t* labels = device_labels(call, plan, scratch);
  const float* lse2 = scratch.at<float>(plan.row_lse2);
  const float* logp = scratch.at<float>(plan.row_logp);
  if (vec)
    grad_kernel<DT, true, true, 4><<<grid, kThreads, 0, stream>>>(in->data, out->grad, labels, list, listed, splits,
                                                                  sh.vocab, sh.seq_len, lse2, logp, coef, !zeroed);
  else if (same_phase)
    grad_kernel<DT, true, false, 4><<<grid, kThreads, 0, stream>>>(in->data, out->grad, labels, list, listed,
                                                                   splits, sh.vocab, sh.seq_len, lse2, logp, coef,
                                                                   !zeroed);
  else
    grad_kernel<DT, false, true, 8><<<grid, kThreads, 0, stream>>>(in->data, out->grad, labels, list, listed,
                                                                   splits, sh.vocab, sh.seq_len, lse2, logp, coef,
                                                                   !zeroed);
}

int32_t dpo_loss(const ipo_logits* in, const float* ref_logps, const ipo_dpo_options* options, ipo_dpo_outputs* out,
                 cudaStream_t stream, ipo_error* err) {
  DeviceScope scope;
  Call call;
  // Checks that need no device first, so that they hold (and are testable) without a driver.
  if (int32_t s = ipo::validate_shape(in, &call.shape, err)) return s;
  if (int32_t s = check_grad_buffer(in, call.shape, out, err)) return s;
  if (int32_t s = prepare_call(in, stream, &scope, &call, err)) return s;
  // Host arrays are read or written by the host below: a device pointer there is refused, not touched.
  if (int32_t s = host_memory(ref_logps, "refLogps", err)) return s;
  if (out) {
    const struct { const void* ptr; const char* name; } host_outputs[] = {
        {out->chosen_logps, "chosenLogps"}, {out->rejected_logps, "rejectedLogps"},
        {out->chosen_rewards, "chosenRewards"}, {out->rejected_rewards, "rejectedRewards"}, {out->margins, "margins"}};
    for (const auto& o : host_outputs)
      if (int32_t s = host_memory(o.ptr, o.name, err)) return s;
  }
  if (int32_t s = ipo::validate_dpo(call.shape, call.scored, ref_logps, options, out, err)) return s;
  const ipo::Shape& sh = call.shape;
  if (out->grad) {
    int grad_device = -1;
    if (int32_t s = device_of(out->grad, "grad", (size_t)sh.elem_bytes, &grad_device, err)) return s;
    if (grad_device != call.device)
      return ipo::fail(err, IPO_ERR_TYPE, "grad", "grad is on CUDA device %d but the logits are on device %d",
                       grad_device, call.device);
  }

  Scratch scratch(stream);
  RowStatsPlan plan;
  plan_row_stats(call, false, &scratch, &plan);
  const size_t coef_offset = scratch.reserve((size_t)sh.sequences * sizeof(float));
  if (int32_t s = scratch.allocate(call.device, err)) return s;

  std::vector<double> seq_logps;
  if (int32_t s = run_row_stats(in, call, plan, scratch, stream, &seq_logps, nullptr, err)) return s;

  const int64_t pairs = sh.sequences / 2;
  std::vector<double> coef((size_t)sh.sequences, 0.0);
  ipo::dpo_math(pairs, seq_logps.data(), ref_logps, call.scored.per_sequence.data(), *options, out,
                out->grad ? coef.data() : nullptr);
  if (!out->grad) return ipo::ok(err);

  std::vector<float> coef_f(coef.begin(), coef.end());
  float* coef_device = scratch.at<float>(coef_offset);
  const cudaError_t e = cudaMemcpyAsync(coef_device, coef_f.data(), coef_f.size() * sizeof(float),
                                        cudaMemcpyHostToDevice, stream);
  if (e != cudaSuccess) return fail_cuda(err, e, "uploading the gradient coefficients");
  switch (in->dtype) {
    case IPO_DTYPE_F32: launch_grad<IPO_DTYPE_F32>(in, call, plan, scratch, coef_device, out, stream); break;
    case IPO_DTYPE_BF16: launch_grad<IPO_DTYPE_BF16>(in, call, plan, scratch, coef_device, out, stream); break;
    default: launch_grad<IPO_DTYPE_F16>(in, call, plan, scratch, coef_device, out, stream); break;
  }
  return check_launch(err, "the gradient pass");
}

}  // namespace
}  // namespace ipo_cuda

extern "C" int32_t ipo_cuda_dpo_loss(const ipo_logits* in, const float* ref_logps, const ipo_dpo_options* options,
                                     ipo_dpo_outputs* out, void* stream, ipo_error* err) {
  try {
    return ipo_cuda::dpo_loss(in, ref_logps, options, out, static_cast<cudaStream_t>(stream), err);
  } catch (const std::exception& e) {
    return ipo::fail(err, IPO_ERR_RUNTIME, "", "cuda dpo_loss failed: %s", e.what());
  }
}
