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
  static reg min(reg a, reg b) { return _mm256_min_ps(a, b); }

  // exp(x) = 2^n * 2^f as in row_kernels_avx512.cc (same polynomial, `poly` may scale it, |relative
  // error| < 2.5e-7); without scalef, x is clamped so that 2^n stays a normal float and 2^n is built in
  // the exponent bits. Exact 0 below ln(FLT_MIN).
  static reg exp(reg x, const float* poly) {
    const reg keep = _mm256_cmp_ps(x, _mm256_set1_ps(ipo::kExpMinArg), _CMP_NLT_UQ);
    x = _mm256_min_ps(x, _mm256_set1_ps(88.0f));
    x = _mm256_max_ps(x, _mm256_set1_ps(ipo::kExpMinArg));
    const reg log2e = _mm256_set1_ps(ipo::kLog2eHi);
    const reg n = _mm256_round_ps(_mm256_mul_ps(x, log2e), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    reg f = _mm256_fmsub_ps(x, log2e, n);
    f = _mm256_fmadd_ps(x, _mm256_set1_ps(ipo::kLog2eLo), f);
    reg y = _mm256_set1_ps(poly[5]);
    y = _mm256_fmadd_ps(y, f, _mm256_set1_ps(poly[4]));
    y = _mm256_fmadd_ps(y, f, _mm256_set1_ps(poly[3]));
    y = _mm256_fmadd_ps(y, f, _mm256_set1_ps(poly[2]));
    y = _mm256_fmadd_ps(y, f, _mm256_set1_ps(poly[1]));
    y = _mm256_fmadd_ps(y, f, _mm256_set1_ps(poly[0]));
    const __m256i bits = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_and_ps(_mm256_mul_ps(y, _mm256_castsi256_ps(bits)), keep);
  }

  // The log-sum-exp's term: exp without the underflow mask (9 operations + 2 clamps); the clamps take x as
  // their second operand so that a NaN passes through them (min/max return the second operand then).
  static reg exp_term(reg x) {
    x = _mm256_max_ps(_mm256_set1_ps(ipo::kExpMinArg), _mm256_min_ps(_mm256_set1_ps(88.0f), x));
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
    return _mm256_mul_ps(y, _mm256_castsi256_ps(bits));
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

  // The float's bits rounded so that the top 16 are the nearest-even bf16 (inputs here are finite).
  static __m256i round_bf16(reg v) {
    const __m256i u = _mm256_castps_si256(v);
    const __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(1));
    return _mm256_add_epi32(_mm256_add_epi32(u, _mm256_set1_epi32(0x7fff)), lsb);
  }
  // float -> bf16 bits packed into 8 x u16.
  static __m128i to_bf16(reg v) {
    const __m256i u = _mm256_srli_epi32(round_bf16(v), 16);
    const __m256i packed = _mm256_packus_epi32(u, u);  // per 128-bit lane: [lo4 lo4 | hi4 hi4]
    return _mm256_castsi256_si128(_mm256_permute4x64_epi64(packed, 0x08));
  }

  // Pairs as in row_kernels_avx512.cc: 2 x 8 floats, or 16 bf16 from one 32-byte load as (even, odd).
  static constexpr uintptr_t kPairAlign = 32;
  template <int D>
  static void load_pair(const void* p, reg& a, reg& b) {
    if constexpr (D == 1) {
      const __m256i v = _mm256_loadu_si256(static_cast<const __m256i*>(p));
      a = _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
      b = _mm256_castsi256_ps(_mm256_and_si256(v, _mm256_set1_epi32((int)0xffff0000u)));
    } else {
      a = load<D>(p);
      b = load<D>(static_cast<const char*>(p) + (D == 0 ? 32 : 16));
    }
  }
  template <int D>
  static void store_pair(void* p, reg a, reg b, bool nt) {
    if constexpr (D == 1) {
      // Odd elements keep their high halves, even ones move to the low halves.
      const __m256i v = _mm256_blend_epi16(_mm256_srli_epi32(round_bf16(a), 16), round_bf16(b), 0xAA);
      if (nt) _mm256_stream_si256(static_cast<__m256i*>(p), v);
      else _mm256_storeu_si256(static_cast<__m256i*>(p), v);
    } else {
      void* q = static_cast<char*>(p) + (D == 0 ? 32 : 16);
      if (nt) {
        stream<D>(p, a);
        stream<D>(q, b);
      } else {
        store<D>(p, a);
        store<D>(q, b);
      }
    }
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
