// The AVX-512F traits type of the vector row kernels (row_kernels_vec.h), 16 float lanes. Included only by
// row_kernels_avx512.cc and row_kernels_avx512bf16.cc, after their `#pragma GCC target` and
// <immintrin.h>, inside an anonymous namespace.
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
  static reg fmadd(reg a, reg b, reg c) { return _mm512_fmadd_ps(a, b, c); }
  static reg max(reg a, reg b) { return _mm512_max_ps(a, b); }
  static reg min(reg a, reg b) { return _mm512_min_ps(a, b); }

  // exp(x) = 2^n * 2^f with n = round(x log2 e), f = x log2 e - n in [-1/2, 1/2]: f from two FMAs (log2 e
  // split hi + lo, so f keeps its precision for large |x|), 2^f from a degree-5 minimax polynomial (see
  // row_kernels.h; `poly` may scale it by a constant), 2^n applied by scalef, which also saturates to inf / 0
  // without clamps. 11 operations; |relative error| < 2.5e-7. Exact 0 below ln(FLT_MIN) (no subnormal
  // results); NaN stays NaN.
  static reg exp(reg x, const float* poly) {
    const __mmask16 keep = _mm512_cmp_ps_mask(x, _mm512_set1_ps(ipo::kExpMinArg), _CMP_NLT_UQ);
    const reg log2e = _mm512_set1_ps(ipo::kLog2eHi);
    const reg n = _mm512_roundscale_ps(_mm512_mul_ps(x, log2e), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    reg f = _mm512_fmsub_ps(x, log2e, n);
    f = _mm512_fmadd_ps(x, _mm512_set1_ps(ipo::kLog2eLo), f);
    reg y = _mm512_set1_ps(poly[5]);
    y = _mm512_fmadd_ps(y, f, _mm512_set1_ps(poly[4]));
    y = _mm512_fmadd_ps(y, f, _mm512_set1_ps(poly[3]));
    y = _mm512_fmadd_ps(y, f, _mm512_set1_ps(poly[2]));
    y = _mm512_fmadd_ps(y, f, _mm512_set1_ps(poly[1]));
    y = _mm512_fmadd_ps(y, f, _mm512_set1_ps(poly[0]));
    return _mm512_maskz_scalef_ps(keep, y, n);
  }

  // The same without the underflow mask (10 operations): NaN stays NaN; an infinite x is the caller's to
  // rule out (scalef(NaN, -inf) is 0).
  static reg exp_term(reg x) {
    const reg log2e = _mm512_set1_ps(ipo::kLog2eHi);
    const reg n = _mm512_roundscale_ps(_mm512_mul_ps(x, log2e), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    reg f = _mm512_fmsub_ps(x, log2e, n);
    f = _mm512_fmadd_ps(x, _mm512_set1_ps(ipo::kLog2eLo), f);
    reg y = _mm512_set1_ps(ipo::kExp2Poly[5]);
    y = _mm512_fmadd_ps(y, f, _mm512_set1_ps(ipo::kExp2Poly[4]));
    y = _mm512_fmadd_ps(y, f, _mm512_set1_ps(ipo::kExp2Poly[3]));
    y = _mm512_fmadd_ps(y, f, _mm512_set1_ps(ipo::kExp2Poly[2]));
    y = _mm512_fmadd_ps(y, f, _mm512_set1_ps(ipo::kExp2Poly[1]));
    y = _mm512_fmadd_ps(y, f, _mm512_set1_ps(ipo::kExp2Poly[0]));
    return _mm512_scalef_ps(y, n);
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

  // float -> bf16 bits, round to nearest even (inputs here are finite), packed into 16 x u16.
  static __m256i to_bf16(reg v) { return _mm512_cvtepi32_epi16(_mm512_srli_epi32(round_bf16(v), 16)); }
  // The float's bits rounded so that the top 16 are the nearest-even bf16 (low 16 bits left as garbage).
  static __m512i round_bf16(reg v) {
    const __m512i u = _mm512_castps_si512(v);
    const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
    return _mm512_add_epi32(_mm512_add_epi32(u, _mm512_set1_epi32(0x7fff)), lsb);
  }

  // Pairs: 2 x 16 floats, or 32 bf16 from one 64-byte load as (even elements, odd elements): a 32-bit lane
  // holds an even bf16 in its low half and the next odd one in its high half, so shifting and masking
  // gives both as floats without crossing lanes (the order only matters to store_pair, which undoes it).
  static constexpr uintptr_t kPairAlign = 64;
  template <int D>
  static void load_pair(const void* p, reg& a, reg& b) {
    if constexpr (D == 1) {
      const __m512i v = _mm512_loadu_si512(p);
      a = _mm512_castsi512_ps(_mm512_slli_epi32(v, 16));
      b = _mm512_castsi512_ps(_mm512_and_si512(v, _mm512_set1_epi32((int)0xffff0000u)));
    } else {
      a = load<D>(p);
      b = load<D>(static_cast<const char*>(p) + (D == 0 ? 64 : 32));
    }
  }
  template <int D>
  static void store_pair(void* p, reg a, reg b, bool nt) {
    if constexpr (D == 1) {
      // (odd rounded & 0xffff0000) | (even rounded >> 16), one ternary-logic op.
      const __m512i v = _mm512_ternarylogic_epi32(_mm512_set1_epi32((int)0xffff0000u), round_bf16(b),
                                                  _mm512_srli_epi32(round_bf16(a), 16), 0xEA);
      if (nt) _mm512_stream_si512(static_cast<__m512i*>(p), v);
      else _mm512_storeu_si512(p, v);
    } else {
      void* q = static_cast<char*>(p) + (D == 0 ? 64 : 32);
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
