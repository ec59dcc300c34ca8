// AVX2 + FMA + F16C row kernels (8 float lanes).
#pragma GCC target("avx2,fma,f16c")
#include <immintrin.h>

#include <cstdint>

#include "cpu/dtype.h"
#include "cpu/row_kernels.h"

namespace {

struct Avx2 {
  using reg = __m256;
  static constexpr int64_t W = 8;
  template <int D>
  static constexpr uintptr_t kStreamAlign = D == 0 ? 32 : 16;
  static constexpr size_t kZeroBytes = 32;
  static void stream_zero(char* p) { _mm256_stream_si256(reinterpret_cast<__m256i*>(p), _mm256_setzero_si256()); }

  static reg set1(float v) { return _mm256_set1_ps(v); }
  static reg zero() { return _mm256_setzero_ps(); }
  static reg add(reg a, reg b) { return _mm256_add_ps(a, b); }
  static reg sub(reg a, reg b) { return _mm256_sub_ps(a, b); }
  static reg mul(reg a, reg b) { return _mm256_mul_ps(a, b); }
  static reg max(reg a, reg b) { return _mm256_max_ps(a, b); }

  // Cephes-style expf: 2^n * p(r), |error| about 1 ulp; exact 0 below ln(FLT_MIN).
  static reg exp(reg x) {
    const reg valid = _mm256_cmp_ps(x, _mm256_set1_ps(-87.3365447505531f), _CMP_GE_OQ);
    x = _mm256_min_ps(x, _mm256_set1_ps(88.0f));
    x = _mm256_max_ps(x, _mm256_set1_ps(-87.3365447505531f));
    const reg fx = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(0.693359375f), x);
    x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(-2.12194440e-4f), x);
    reg y = _mm256_set1_ps(1.9875691500e-4f);
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.3981999507e-3f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(8.3334519073e-3f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(4.1665795894e-2f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.6666665459e-1f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(5.0000001201e-1f));
    y = _mm256_fmadd_ps(y, _mm256_mul_ps(x, x), _mm256_add_ps(x, _mm256_set1_ps(1.0f)));
    const __m256i n = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(fx), _mm256_set1_epi32(127)), 23);
    return _mm256_and_ps(_mm256_mul_ps(y, _mm256_castsi256_ps(n)), valid);
  }

  static float hsum(reg v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  static float hmax(reg v) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }

  template <int D>
  static reg load(const void* p) {
    if constexpr (D == 0) return _mm256_loadu_ps(static_cast<const float*>(p));
    const __m128i h = _mm_loadu_si128(static_cast<const __m128i*>(p));
    if constexpr (D == 1) return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
    return _mm256_cvtph_ps(h);
  }

  // float -> bf16 bits, round to nearest even (inputs here are finite), packed into 8 x u16.
  static __m128i to_bf16(reg v) {
    __m256i u = _mm256_castps_si256(v);
    const __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(1));
    u = _mm256_srli_epi32(_mm256_add_epi32(_mm256_add_epi32(u, _mm256_set1_epi32(0x7fff)), lsb), 16);
    const __m256i packed = _mm256_packus_epi32(u, u);  // per 128-bit lane: [lo4 lo4 | hi4 hi4]
    return _mm256_castsi256_si128(_mm256_permute4x64_epi64(packed, 0x08));
  }

  template <int D>
  static void store(void* p, reg v) {
    if constexpr (D == 0) _mm256_storeu_ps(static_cast<float*>(p), v);
    else if constexpr (D == 1) _mm_storeu_si128(static_cast<__m128i*>(p), to_bf16(v));
    else _mm_storeu_si128(static_cast<__m128i*>(p), _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  }
  template <int D>
  static void stream(void* p, reg v) {
    if constexpr (D == 0) _mm256_stream_ps(static_cast<float*>(p), v);
    else if constexpr (D == 1) _mm_stream_si128(static_cast<__m128i*>(p), to_bf16(v));
    else _mm_stream_si128(static_cast<__m128i*>(p), _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  }
};

#include "cpu/row_kernels_vec.h"

}  // namespace

namespace ipo {
const RowKernels& avx2_row_kernels() { return make_kernels<Avx2>("avx2"); }
}  // namespace ipo
