#include "cuda/row_stats.cuh"

#include <climits>

#include "cuda/device_helpers.cuh"
#include "cuda/row_layout.h"

namespace ipo_cuda {
namespace {

constexpr int kThreads = 256;

// One block per (scored row, split): one streaming read of the part, online max / sum in base 2.
// Per element: one max, one FFMA, one ex2, one add; one rescale per Unroll * N elements.
// RowAligned: every row starts on a 16-byte boundary and holds whole units (vocab * elem_bytes % 16
// == 0, aligned base). Otherwise each row is split as in row_layout.h: 16-byte units for the aligned
// body, and its few head and tail elements one per thread in split 0, folded into that thread's
// state before the body (so rows of V = 32001 or 151669 in bf16 still move 16 bytes per load).
template <int DT, bool RowAligned, int Unroll>
__global__ void __launch_bounds__(kThreads) row_partials_kernel(const void* __restrict__ logits,
                                                                const int64_t* __restrict__ scored_rows,
                                                                int64_t items, int splits, int64_t vocab,
                                                                Partial* __restrict__ partials) {
  using A = Access<DT, true>;
  using S = Access<DT, false>;
  constexpr int kBytes = 16 / A::N;
  __shared__ Lse2 scratch[32];
  for (int64_t item = blockIdx.x; item < items; item += gridDim.x) {
    const int64_t k = item / splits;
    const int split = (int)(item % splits);
    const int64_t row = scored_rows[k];
    const char* row_start = static_cast<const char*>(logits) + row * vocab * kBytes;
    const RowLayout lay = RowAligned ? RowLayout{0, vocab / A::N, vocab}
                                     : row_layout(reinterpret_cast<uintptr_t>(row_start), vocab, kBytes, A::N);
    const void* body = row_start + lay.head * kBytes;  // 16-byte aligned
    const int64_t begin = lay.units * split / splits, end = lay.units * (split + 1) / splits;
    Lse2 st = lse2_empty();
    uint32_t bad = 0;
    if (!RowAligned && split == 0) {
      const int64_t e = scalar_element(lay, vocab, threadIdx.x);
      if (e >= 0) {
        float v[1];
        S::widen(S::load(row_start, e), v, bad);
        st = Lse2{v[0] * kLog2e, 1.0f};  // one element: 2^(y - y) = 1
      }
    }
    for (int64_t i = begin + threadIdx.x; i < end; i += (int64_t)kThreads * Unroll) {
      typename A::Raw raw[Unroll];
#pragma unroll
      for (int u = 0; u < Unroll; ++u) {
        const int64_t j = i + (int64_t)u * kThreads;
        raw[u] = j < end ? A::load(body, j) : typename A::Raw{};
      }
      float v[Unroll][A::N];
      float chunk_max = -INFINITY;
#pragma unroll
      for (int u = 0; u < Unroll; ++u) {
        if (i + (int64_t)u * kThreads < end) {
          A::widen(raw[u], v[u], bad);
#pragma unroll
          for (int e = 0; e < A::N; ++e) chunk_max = fmaxf(chunk_max, v[u][e]);
        }
      }
      const float m2 = chunk_max * kLog2e;
      if (m2 > st.m) {
        st.s = st.m == -INFINITY ? 0.0f : st.s * exp2f(st.m - m2);
        st.m = m2;
      }
#pragma unroll
      for (int u = 0; u < Unroll; ++u) {
        if (i + (int64_t)u * kThreads < end) {
#pragma unroll
          for (int e = 0; e < A::N; ++e) st.s += exp2f(fmaf(v[u][e], kLog2e, -st.m));
        }
      }
    }
    st = block_lse2(st, scratch);
    bad = __syncthreads_or(bad);
    if (threadIdx.x == 0) partials[item] = Partial{st.m, st.s, bad, 0u};
  }
}

// One block per sequence: merges the partials of its scored rows (fixed order), reads the label
// entry and sums log p in float64.
template <int DT>
__global__ void __launch_bounds__(kThreads) sequence_finalize_kernel(
    const void* __restrict__ logits, const int32_t* __restrict__ labels, const int64_t* __restrict__ scored_rows,
    const int64_t* __restrict__ seq_offsets, const Partial* __restrict__ partials, int splits, int64_t vocab,
    float* __restrict__ row_lse2, float* __restrict__ row_logp, float* __restrict__ token_logps,
    double* __restrict__ seq_logps, unsigned long long* __restrict__ first_bad) {
  __shared__ double scratch[32];
  const int64_t s = blockIdx.x;
  double sum = 0;
  unsigned long long bad_row = ULLONG_MAX;
  for (int64_t k = seq_offsets[s] + threadIdx.x; k < seq_offsets[s + 1]; k += kThreads) {
    const int64_t row = scored_rows[k];
    Lse2 st = lse2_empty();
    uint32_t bad = 0;
    for (int j = 0; j < splits; ++j) {
      const Partial p = partials[k * splits + j];
      st = lse2_merge(st, Lse2{p.m, p.s});
      bad |= p.bad;
    }
    const double lse2 = (double)st.m + log2((double)st.s);
    const double logp = (double)load_element<DT>(logits, row * vocab + labels[row]) - lse2 * 0.6931471805599453;
    row_lse2[row] = (float)lse2;
    row_logp[row] = (float)logp;
    if (token_logps) token_logps[row] = (float)logp;
    sum += logp;
    if (bad && (unsigned long long)row < bad_row) bad_row = (unsigned long long)row;
  }
  const double total = block_sum(sum, scratch);
  if (threadIdx.x == 0) seq_logps[s] = total;
  if (bad_row != ULLONG_MAX) atomicMin(first_bad, bad_row);
}

template <int DT>
void launch_phase1(const ipo_logits* in, const Call& call, const RowStatsPlan& plan, const Scratch& scratch,
                   cudaStream_t stream) {
  const int64_t n = (int64_t)call.scored.rows.size();
  const int64_t items = n * plan.splits;
  const int64_t* rows = scratch.at<int64_t>(plan.scored_rows);
  Partial* partials = scratch.at<Partial>(plan.partials);
  if (items > 0) {
    const unsigned grid = (unsigned)(items < (1LL << 30) ? items : (1LL << 30));
    if (call.vector_ok)
      row_partials_kernel<DT, true, 4><<<grid, kThreads, 0, stream>>>(in->data, rows, items, plan.splits,
                                                                     call.shape.vocab, partials);
    else  // rows not 16-byte aligned (e.g. V = 32001 or 151669 in bf16): aligned body, scalar head and tail
      row_partials_kernel<DT, false, 4><<<grid, kThreads, 0, stream>>>(in->data, rows, items, plan.splits,
                                                                      call.shape.vocab, partials);
  }
  sequence_finalize_kernel<DT><<<(unsigned)call.shape.sequences, kThreads, 0, stream>>>(
      in->data, device_labels(call, plan, scratch), rows, scratch.at<int64_t>(plan.seq_offsets), partials,
      plan.splits, call.shape.vocab, scratch.at<float>(plan.row_lse2), scratch.at<float>(plan.row_logp),
      plan.tokens ? scratch.at<float>(plan.token_logps) : nullptr, scratch.at<double>(plan.seq_logps),
      scratch.at<unsigned long long>(plan.first_bad));
}

}  // namespace

void plan_row_stats(const Call& call, bool tokens, Scratch* scratch, RowStatsPlan* plan) {
  const ipo::Shape& sh = call.shape;
  const int64_t n = (int64_t)call.scored.rows.size();
  // Both row layouts move 16-byte units (all but at most 14 head and tail elements of a row).
  const int64_t units = sh.vocab * sh.elem_bytes / 16 > 0 ? sh.vocab * sh.elem_bytes / 16 : 1;
  // Each split keeps every thread of the block busy for a few iterations.
  plan->splits = splits_for(n, units, call.device, (int64_t)kThreads * 4);
  plan->tokens = tokens;
  plan->labels = scratch->reserve(call.labels_need_upload ? (size_t)sh.rows * 4 : 0);
  plan->scored_rows = scratch->reserve((size_t)n * 8);
  plan->seq_offsets = scratch->reserve((size_t)(sh.sequences + 1) * 8);
  plan->partials = scratch->reserve((size_t)n * (size_t)plan->splits * sizeof(Partial));
  plan->row_lse2 = scratch->reserve((size_t)sh.rows * 4);
  plan->row_logp = scratch->reserve((size_t)sh.rows * 4);
  plan->token_logps = scratch->reserve(tokens ? (size_t)sh.rows * 4 : 0);
  plan->seq_logps = scratch->reserve((size_t)sh.sequences * 8);
  plan->first_bad = scratch->reserve(8);
}

int32_t run_row_stats(const ipo_logits* in, const Call& call, const RowStatsPlan& plan, const Scratch& scratch,
                      cudaStream_t stream, std::vector<double>* seq_logps, std::vector<float>* token_logps,
                      ipo_error* err) {
  const ipo::Shape& sh = call.shape;
  const int64_t n = (int64_t)call.scored.rows.size();
  std::vector<int64_t> offsets((size_t)sh.sequences + 1, 0);
  for (int64_t s = 0; s < sh.sequences; ++s) offsets[(size_t)s + 1] = offsets[(size_t)s] + call.scored.per_sequence[(size_t)s];

  // Host buffers are pageable: cudaMemcpyAsync stages them before returning, so they may go out
  // of scope afterwards; everything below is ordered on `stream`.
  cudaError_t e = cudaSuccess;
  if (call.labels_need_upload)
    e = cudaMemcpyAsync(scratch.at<int32_t>(plan.labels), call.labels_host.data(), (size_t)sh.rows * 4,
                        cudaMemcpyHostToDevice, stream);
  if (e == cudaSuccess && n > 0)
    e = cudaMemcpyAsync(scratch.at<int64_t>(plan.scored_rows), call.scored.rows.data(), (size_t)n * 8,
                        cudaMemcpyHostToDevice, stream);
  if (e == cudaSuccess)
    e = cudaMemcpyAsync(scratch.at<int64_t>(plan.seq_offsets), offsets.data(), offsets.size() * 8,
                        cudaMemcpyHostToDevice, stream);
  if (e == cudaSuccess) e = cudaMemsetAsync(scratch.at<void>(plan.first_bad), 0xff, 8, stream);
  if (e == cudaSuccess && plan.tokens) e = cudaMemsetAsync(scratch.at<void>(plan.token_logps), 0, (size_t)sh.rows * 4, stream);
  if (e != cudaSuccess) return fail_cuda(err, e, "preparing the row pass");

  switch (in->dtype) {
    case IPO_DTYPE_F32: launch_phase1<IPO_DTYPE_F32>(in, call, plan, scratch, stream); break;
    case IPO_DTYPE_BF16: launch_phase1<IPO_DTYPE_BF16>(in, call, plan, scratch, stream); break;
    default: launch_phase1<IPO_DTYPE_F16>(in, call, plan, scratch, stream); break;
  }
  if (int32_t s = check_launch(err, "the row pass")) return s;

  unsigned long long first_bad = ULLONG_MAX;
  seq_logps->assign((size_t)sh.sequences, 0.0);
  e = cudaMemcpyAsync(seq_logps->data(), scratch.at<double>(plan.seq_logps), (size_t)sh.sequences * 8,
                      cudaMemcpyDeviceToHost, stream);
  if (e == cudaSuccess)
    e = cudaMemcpyAsync(&first_bad, scratch.at<unsigned long long>(plan.first_bad), 8, cudaMemcpyDeviceToHost, stream);
  if (e == cudaSuccess && plan.tokens && token_logps) {
    token_logps->assign((size_t)sh.rows, 0.0f);
    e = cudaMemcpyAsync(token_logps->data(), scratch.at<float>(plan.token_logps), (size_t)sh.rows * 4,
                        cudaMemcpyDeviceToHost, stream);
  }
  if (e == cudaSuccess) e = cudaStreamSynchronize(stream);
  if (e != cudaSuccess) return fail_cuda(err, e, "the row pass");

  if (first_bad != ULLONG_MAX) {
    const int64_t r = (int64_t)first_bad, seq = r / sh.seq_len, pos = r % sh.seq_len;
    return ipo::fail_at(err, IPO_ERR_NONFINITE, "logits", seq, pos,
                        "logits hold NaN or an infinite value in a scored row: sequence %lld, position %lld",
                        (long long)seq, (long long)pos);
  }
  return ipo::ok(err);
}

}  // namespace ipo_cuda
