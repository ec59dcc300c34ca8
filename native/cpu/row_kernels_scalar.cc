// Portable row kernels: the reference for the vector ones and the path on CPUs without AVX2.
#include <cmath>
#include <cstdint>
#include <cstring>

#if defined(__x86_64__)
#include <emmintrin.h>
#endif

#include "cpu/dtype.h"
#include "cpu/row_kernels.h"

namespace {

constexpr int64_t kBlock = 2048;

template <int D>
double row_lse(const void* row, int64_t n, bool* finite) {
  double running_max = -INFINITY, sum = 0;
  for (int64_t b0 = 0; b0 < n; b0 += kBlock) {
    const int64_t end = n - b0 < kBlock ? n : b0 + kBlock;
    float bmax = -INFINITY;
    for (int64_t i = b0; i < end; ++i) {
      const float v = ipo::load_scalar(row, D, i);
      if (!std::isfinite(v)) {
        *finite = false;
        return NAN;
      }
      bmax = v > bmax ? v : bmax;
    }
    if (bmax > running_max) {
      sum *= std::exp(running_max - (double)bmax);
      running_max = bmax;
    }
    float bsum = 0;
    for (int64_t i = b0; i < end; ++i) bsum += std::exp(ipo::load_scalar(row, D, i) - (float)running_max);
    sum += bsum;
  }
  *finite = true;
  return running_max + std::log(sum);
}

template <int D>
void row_grad(const void* row, void* out, int64_t n, float lse, float neg_coef, bool /*stream*/) {
  for (int64_t i = 0; i < n; ++i) ipo::store_scalar(out, D, i, neg_coef * std::exp(ipo::load_scalar(row, D, i) - lse));
}

// SSE2 is part of baseline x86-64: its 16-byte non-temporal stores need no dispatch.
void zero_bytes(void* out_v, size_t bytes, bool stream) {
  char* out = static_cast<char*>(out_v);
#if defined(__x86_64__)
  if (stream) {
    const size_t head = (16 - (reinterpret_cast<uintptr_t>(out) & 15)) & 15;
    if (head < bytes) {
      std::memset(out, 0, head);
      size_t i = head;
      for (; i + 16 <= bytes; i += 16) _mm_stream_si128(reinterpret_cast<__m128i*>(out + i), _mm_setzero_si128());
      std::memset(out + i, 0, bytes - i);
      return;
    }
  }
#endif
  (void)stream;
  std::memset(out, 0, bytes);
}

}  // namespace

namespace ipo {
const RowKernels& scalar_row_kernels() {
  static const RowKernels k = {
      "scalar",
      {&row_lse<0>, &row_lse<1>, &row_lse<2>},
      {&row_grad<0>, &row_grad<1>, &row_grad<2>},
      &zero_bytes,
  };
  return k;
}
}  // namespace ipo
