// ipo_cuda_token_logprobs / ipo_cuda_sequence_logprobs: the log-prob gathering of a policy or
// reference pass on device logits. Phase 1 only (row_stats.cu): one read of each scored row, no
// work at all on unscored rows; bytes moved = scored rows x vocab x dsize (the floor of a reduction).
#include <algorithm>
#include <exception>

#include "cuda/row_stats.cuh"

namespace ipo_cuda {
namespace {

int32_t gather(const ipo_logits* in, float* out, bool per_token, cudaStream_t stream, ipo_error* err) {
  DeviceScope scope;
  Call call;
  if (int32_t s = ipo::validate_shape(in, &call.shape, err)) return s;
  if (!out) return ipo::fail(err, IPO_ERR_TYPE, "out", "the output array must not be null");
  if (int32_t s = prepare_call(in, stream, &scope, &call, err)) return s;
  if (int32_t s = host_memory(out, "out", err)) return s;
  Scratch scratch(stream);
  RowStatsPlan plan;
  plan_row_stats(call, per_token, &scratch, &plan);
  if (int32_t s = scratch.allocate(call.device, err)) return s;
  std::vector<double> seq_logps;
  std::vector<float> token_logps;
  if (int32_t s = run_row_stats(in, call, plan, scratch, stream, &seq_logps, &token_logps, err)) return s;
  if (per_token) {
    std::copy(token_logps.begin(), token_logps.end(), out);
  } else {
    for (size_t s = 0; s < seq_logps.size(); ++s) out[s] = (float)seq_logps[s];
  }
  return ipo::ok(err);
}

}  // namespace
}  // namespace ipo_cuda

extern "C" int32_t ipo_cuda_token_logprobs(const ipo_logits* in, float* out, void* stream, ipo_error* err) {
  try {
    return ipo_cuda::gather(in, out, true, static_cast<cudaStream_t>(stream), err);
  } catch (const std::exception& e) {
    return ipo::fail(err, IPO_ERR_RUNTIME, "", "cuda token_logprobs failed: %s", e.what());
  }
}

extern "C" int32_t ipo_cuda_sequence_logprobs(const ipo_logits* in, float* out, void* stream, ipo_error* err) {
  try {
    return ipo_cuda::gather(in, out, false, static_cast<cudaStream_t>(stream), err);
  } catch (const std::exception& e) {
    return ipo::fail(err, IPO_ERR_RUNTIME, "", "cuda sequence_logprobs failed: %s", e.what());
  }
}
