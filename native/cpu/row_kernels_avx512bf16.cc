// The bfloat16 gradient row kernel on CPUs with AVX512_BF16 (Zen 4 and later, Cooper Lake, Sapphire Rapids):
// the AVX-512F kernel with pairs in memory order, whose store rounds 32 floats to bfloat16 in one
// VCVTNE2PS2BF16 instead of ten integer operations. Chosen at run time by avx512_row_kernels() (row_kernels_avx512.cc).
#pragma GCC target("avx512f,avx512bw,avx512bf16,avx2,fma,f16c")
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "cpu/dtype.h"
#include "cpu/row_kernels.h"
#include "cpu/row_kernels_avx512.h"

namespace {

#include "cpu/row_kernels_avx512_traits.h"

struct Avx512Bf16 : Avx512 {
  // Pairs in memory order (two 16-element halves), so that the store is one conversion.
  template <int D>
  static void load_pair(const void* p, reg& a, reg& b) {
    a = load<D>(p);
    b = load<D>(static_cast<const char*>(p) + (D == 0 ? 64 : 32));
  }
  template <int D>
  static void store_pair(void* p, reg a, reg b, bool nt) {
    if constexpr (D == 1) {
      // Round to nearest even; a holds the first 16 elements, b the next 16 (the high half of the result).
      const __m512bh packed = _mm512_cvtne2ps_pbh(b, a);
      __m512i v;
      std::memcpy(&v, &packed, sizeof v);

      if (nt) _mm512_stream_si512(static_cast<__m512i*>(p), v);
      else _mm512_storeu_si512(p, v);
    } else {
      Avx512::store_pair<D>(p, a, b, nt);
    }
  }
};

#include "cpu/row_kernels_vec.h"

}  // namespace

namespace ipo {
void avx512bf16_row_grad_bf16(const void* row, void* out, int64_t vocab, float lse, float neg_coef, bool stream) {
  row_grad<Avx512Bf16, 1>(row, out, vocab, lse, neg_coef, stream);
}
}  // namespace ipo
