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
  static reg fmadd(reg a, reg b, reg c) { return _mm256_fmadd_ps(a, b, c); }
  static reg max(reg a, reg b) { return _mm256_max_ps(a, b); }

  // exp(x) = 2^n * 2^f as in row_kernels_avx512.cc (same polynomial, |relative error| < 2.5e-7); without
  // scalef, x is clamped so that 2^n stays a normal float and 2^n is built in the exponent bits.
  // Exact 0 below ln(FLT_MIN).
  static reg exp(reg x) {
    const reg keep = _mm256_cmp_ps(x, _mm256_set1_ps(ipo::kExpMinArg), _CMP_NLT_UQ);
    x = _mm256_min_ps(x, _mm256_set1_ps(88.0f));
    x = _mm256_max_ps(x, _mm256_set1_ps(ipo::kExpMinArg));
    const reg log2e = _mm256_set1_ps(ipo::kLog2eHi);
    const reg n = _mm256_round_ps(_mm256_mul_ps(x, log2e), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    reg f = _mm256_fmsub_ps(x, log2e, n);
    f = _mm256_fmadd_ps(x, _mm256_set1_ps(ipo::kLog2eLo), f);
    reg y = _mm256_set1_ps(ipo::kExp2Poly[5]);
    y = _mm256_fmadd_ps(y, f, _mm256_set1_ps(ipo::kExp2Poly[4]));
    y = _mm256_fmadd_ps(y, f, _mm256_set1_ps(ipo::kExp2Poly[3]));
    y = _mm256_fmadd_ps(y, f, _mm256_set1_ps(ipo::kExp2Poly[2]));
    y = _mm256_fmadd_ps(y, f, _mm256_set1_ps(ipo::kExp2Poly[1]));
    y = _mm256_fmadd_ps(y, f, _mm256_set1_ps(ipo::kExp2Poly[0]));
    const __m256i bits = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_and_ps(_mm256_mul_ps(y, _mm256_castsi256_ps(bits)), keep);
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
