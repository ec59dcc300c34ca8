// AArch64 Advanced SIMD (NEON) row kernels (4 float lanes). NEON and the half <-> float conversions
// (FCVTL/FCVTN) are part of the AArch64 base ISA, so this TU needs no target flags; simd_dispatch.cc
// still asks the kernel (HWCAP_ASIMD) before choosing it, as on x86-64.
//
// Each member below is one operation of the V interface that row_kernels_vec.h is written over
// (listed at the top of that header); a new operation there is one more static function here.
#if defined(__aarch64__)
#include <arm_neon.h>

#include <cstdint>

#include "cpu/dtype.h"
#include "cpu/row_kernels.h"

namespace {

struct Neon {
  using reg = float32x4_t;
  static constexpr int64_t W = 4;
  // AArch64 has no single-register non-temporal store (STNP is a pair hint most cores treat as a plain
  // store), so `stream` stores normally and needs only the element type's alignment per vector.
  template <int D>
  static constexpr uintptr_t kStreamAlign = D == 0 ? 16 : 8;
  static constexpr size_t kZeroBytes = 16;
  static void stream_zero(char* p) { vst1q_u8(reinterpret_cast<uint8_t*>(p), vdupq_n_u8(0)); }

  static reg set1(float v) { return vdupq_n_f32(v); }
  static reg zero() { return vdupq_n_f32(0.0f); }
  static reg add(reg a, reg b) { return vaddq_f32(a, b); }
  static reg sub(reg a, reg b) { return vsubq_f32(a, b); }
  static reg mul(reg a, reg b) { return vmulq_f32(a, b); }
  static reg fmadd(reg a, reg b, reg c) { return vfmaq_f32(c, a, b); }  // a * b + c, one rounding
  static reg max(reg a, reg b) { return vmaxq_f32(a, b); }              // NaN propagates

  static reg min(reg a, reg b) { return vminq_f32(a, b); }              // NaN propagates

  // 2^f for f in [-1/2, 1/2] from a degree-5 polynomial (`poly`: the shared minimax coefficients, which
  // the gradient pass may pre-scale), and n, f from x: n = round-to-nearest-even(x log2 e), f from two
  // FMAs (log2 e split hi + lo), after clamping x so that 2^n stays a normal float.
  static reg exp2_poly_times_2n(reg x, const float* poly) {
    x = vminq_f32(x, vdupq_n_f32(88.0f));
    x = vmaxq_f32(x, vdupq_n_f32(ipo::kExpMinArg));
    const reg log2e = vdupq_n_f32(ipo::kLog2eHi);
    const reg n = vrndnq_f32(vmulq_f32(x, log2e));
    reg f = vfmaq_f32(vnegq_f32(n), x, log2e);
    f = vfmaq_f32(f, x, vdupq_n_f32(ipo::kLog2eLo));
    reg y = vdupq_n_f32(poly[5]);
    y = vfmaq_f32(vdupq_n_f32(poly[4]), y, f);
    y = vfmaq_f32(vdupq_n_f32(poly[3]), y, f);
    y = vfmaq_f32(vdupq_n_f32(poly[2]), y, f);
    y = vfmaq_f32(vdupq_n_f32(poly[1]), y, f);
    y = vfmaq_f32(vdupq_n_f32(poly[0]), y, f);
    const int32x4_t bits = vshlq_n_s32(vaddq_s32(vcvtq_s32_f32(n), vdupq_n_s32(127)), 23);
    return vmulq_f32(y, vreinterpretq_f32_s32(bits));
  }

  // exp(x) = 2^n * 2^f as in row_kernels_avx2.cc (`poly` may scale it). Exact 0 below ln(FLT_MIN).
  static reg exp(reg x, const float* poly) {
    const uint32x4_t keep = vmvnq_u32(vcltq_f32(x, vdupq_n_f32(ipo::kExpMinArg)));  // false only for x < min
    return vreinterpretq_f32_u32(vandq_u32(vreinterpretq_u32_f32(exp2_poly_times_2n(x, poly)), keep));
  }

  // The log-sum-exp's term: exp without the underflow mask. NEON's FMIN/FMAX return NaN when either
  // operand is NaN, so a NaN element still makes the block's sum NaN.
  static reg exp_term(reg x) { return exp2_poly_times_2n(x, ipo::kExp2Poly); }

  static float hsum(reg v) { return vaddvq_f32(v); }
  static float hmax(reg v) { return vmaxvq_f32(v); }

  template <int D>
  static reg load(const void* p) {
    if constexpr (D == 0) return vld1q_f32(static_cast<const float*>(p));
    const uint16x4_t h = vld1_u16(static_cast<const uint16_t*>(p));
    if constexpr (D == 1) return vreinterpretq_f32_u32(vshll_n_u16(h, 16));  // bf16: the high half of a float
    return vcvt_f32_f16(vreinterpret_f16_u16(h));
  }

  // float -> bf16 bits, round to nearest even (inputs here are finite), as row_kernels_avx2.cc.
  // The float's bits rounded so that the top 16 are the nearest-even bf16 (inputs here are finite).
  static uint32x4_t round_bf16(reg v) {
    const uint32x4_t u = vreinterpretq_u32_f32(v);
    const uint32x4_t lsb = vandq_u32(vshrq_n_u32(u, 16), vdupq_n_u32(1));
    return vaddq_u32(vaddq_u32(u, vdupq_n_u32(0x7fff)), lsb);
  }
  static uint16x4_t to_bf16(reg v) { return vshrn_n_u32(round_bf16(v), 16); }

  // Pairs of vectors: 2 x 4 floats, or 8 bf16 from one 16-byte load as (even elements, odd elements);
  // row_kernels_vec.h keeps the two halves apart and writes them back through store_pair in order.
  static constexpr uintptr_t kPairAlign = 16;
  template <int D>
  static void load_pair(const void* p, reg& a, reg& b) {
    if constexpr (D == 1) {
      const uint32x4_t v = vld1q_u32(static_cast<const uint32_t*>(p));
      a = vreinterpretq_f32_u32(vshlq_n_u32(v, 16));
      b = vreinterpretq_f32_u32(vandq_u32(v, vdupq_n_u32(0xffff0000u)));
    } else {
      a = load<D>(p);
      b = load<D>(static_cast<const char*>(p) + (D == 0 ? 16 : 8));
    }
  }
  template <int D>
  static void store_pair(void* p, reg a, reg b, bool /*nt: no single-register streaming store here*/) {
    if constexpr (D == 1) {
      const uint32x4_t even = vshrq_n_u32(round_bf16(a), 16);
      const uint32x4_t odd = vandq_u32(round_bf16(b), vdupq_n_u32(0xffff0000u));
      vst1q_u32(static_cast<uint32_t*>(p), vorrq_u32(even, odd));
    } else {
      store<D>(p, a);
      store<D>(static_cast<char*>(p) + (D == 0 ? 16 : 8), b);
    }
  }

  template <int D>
  static void store(void* p, reg v) {
    if constexpr (D == 0) vst1q_f32(static_cast<float*>(p), v);
    else if constexpr (D == 1) vst1_u16(static_cast<uint16_t*>(p), to_bf16(v));
    else vst1_u16(static_cast<uint16_t*>(p), vreinterpret_u16_f16(vcvt_f16_f32(v)));  // FPCR: nearest even
  }
  template <int D>
  static void stream(void* p, reg v) {
    store<D>(p, v);
  }
};

#include "cpu/row_kernels_vec.h"

}  // namespace

namespace ipo {
const RowKernels& neon_row_kernels() { return make_kernels<Neon>("neon"); }
}  // namespace ipo
#endif
