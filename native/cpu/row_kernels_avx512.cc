// AVX-512F row kernels (16 float lanes).
#pragma GCC target("avx512f,avx2,fma,f16c")
// GCC 12 warns inside its own avx512fintrin.h about the _mm512_undefined_* idiom.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <cstdint>

#include "cpu/dtype.h"
#include "cpu/row_kernels.h"

namespace {

struct Avx512 {
  using reg = __m512;
  static constexpr int64_t W = 16;
  template <int D>
  static constexpr uintptr_t kStreamAlign = D == 0 ? 64 : 32;
  static constexpr size_t kZeroBytes = 64;
  static void stream_zero(char* p) { _mm512_stream_si512(reinterpret_cast<__m512i*>(p), _mm512_setzero_si512()); }

  static reg set1(float v) { return _mm512_set1_ps(v); }
  static reg zero() { return _mm512_setzero_ps(); }
  static reg add(reg a, reg b) { return _mm512_add_ps(a, b); }
  static reg sub(reg a, reg b) { return _mm512_sub_ps(a, b); }
  static reg mul(reg a, reg b) { return _mm512_mul_ps(a, b); }
  static reg max(reg a, reg b) { return _mm512_max_ps(a, b); }

  // Cephes-style expf (see row_kernels_avx2.cc); 2^n via scalef, exact 0 below ln(FLT_MIN).
  static reg exp(reg x) {
    const __mmask16 valid = _mm512_cmp_ps_mask(x, _mm512_set1_ps(-87.3365447505531f), _CMP_GE_OQ);
    x = _mm512_min_ps(x, _mm512_set1_ps(88.0f));
    x = _mm512_max_ps(x, _mm512_set1_ps(-87.3365447505531f));
    const reg fx = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    x = _mm512_fnmadd_ps(fx, _mm512_set1_ps(0.693359375f), x);
    x = _mm512_fnmadd_ps(fx, _mm512_set1_ps(-2.12194440e-4f), x);
    reg y = _mm512_set1_ps(1.9875691500e-4f);
    y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(1.3981999507e-3f));
    y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(8.3334519073e-3f));
    y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(4.1665795894e-2f));
    y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(1.6666665459e-1f));
    y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(5.0000001201e-1f));
    y = _mm512_fmadd_ps(y, _mm512_mul_ps(x, x), _mm512_add_ps(x, _mm512_set1_ps(1.0f)));
    return _mm512_maskz_scalef_ps(valid, y, fx);
  }

  static float hsum(reg v) { return _mm512_reduce_add_ps(v); }
  static float hmax(reg v) { return _mm512_reduce_max_ps(v); }

  template <int D>
  static reg load(const void* p) {
    if constexpr (D == 0) return _mm512_loadu_ps(static_cast<const float*>(p));
    const __m256i h = _mm256_loadu_si256(static_cast<const __m256i*>(p));
    if constexpr (D == 1) return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
    return _mm512_cvtph_ps(h);
  }

  static __m256i to_bf16(reg v) {
    __m512i u = _mm512_castps_si512(v);
    const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
    u = _mm512_srli_epi32(_mm512_add_epi32(_mm512_add_epi32(u, _mm512_set1_epi32(0x7fff)), lsb), 16);
    return _mm512_cvtepi32_epi16(u);
  }

  template <int D>
  static void store(void* p, reg v) {
    if constexpr (D == 0) _mm512_storeu_ps(static_cast<float*>(p), v);
    else if constexpr (D == 1) _mm256_storeu_si256(static_cast<__m256i*>(p), to_bf16(v));
    else _mm256_storeu_si256(static_cast<__m256i*>(p), _mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  }
  template <int D>
  static void stream(void* p, reg v) {
    if constexpr (D == 0) _mm512_stream_ps(static_cast<float*>(p), v);
    else if constexpr (D == 1) _mm256_stream_si256(static_cast<__m256i*>(p), to_bf16(v));
    else _mm256_stream_si256(static_cast<__m256i*>(p), _mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  }
};

#include "cpu/row_kernels_vec.h"

}  // namespace

namespace ipo {
const RowKernels& avx512_row_kernels() { return make_kernels<Avx512>("avx512"); }
}  // namespace ipo
