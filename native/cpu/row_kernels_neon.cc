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

  // exp(x) = 2^n * 2^f exactly as in row_kernels_avx2.cc: n = round-to-nearest-even(x log2 e), f from two
  // FMAs (log2 e split hi + lo), 2^f from the shared degree-5 minimax polynomial, 2^n built in the
  // exponent bits after clamping x so it stays a normal float. Exact 0 below ln(FLT_MIN); NaN stays NaN.
  static reg exp(reg x) {
    const uint32x4_t keep = vmvnq_u32(vcltq_f32(x, vdupq_n_f32(ipo::kExpMinArg)));  // false only for x < min
    x = vminq_f32(x, vdupq_n_f32(88.0f));
    x = vmaxq_f32(x, vdupq_n_f32(ipo::kExpMinArg));
    const reg log2e = vdupq_n_f32(ipo::kLog2eHi);
    const reg n = vrndnq_f32(vmulq_f32(x, log2e));
    reg f = vfmaq_f32(vnegq_f32(n), x, log2e);
    f = vfmaq_f32(f, x, vdupq_n_f32(ipo::kLog2eLo));
    reg y = vdupq_n_f32(ipo::kExp2Poly[5]);
    y = vfmaq_f32(vdupq_n_f32(ipo::kExp2Poly[4]), y, f);
    y = vfmaq_f32(vdupq_n_f32(ipo::kExp2Poly[3]), y, f);
    y = vfmaq_f32(vdupq_n_f32(ipo::kExp2Poly[2]), y, f);
    y = vfmaq_f32(vdupq_n_f32(ipo::kExp2Poly[1]), y, f);
    y = vfmaq_f32(vdupq_n_f32(ipo::kExp2Poly[0]), y, f);
    const int32x4_t bits = vshlq_n_s32(vaddq_s32(vcvtq_s32_f32(n), vdupq_n_s32(127)), 23);
    const reg scaled = vmulq_f32(y, vreinterpretq_f32_s32(bits));
    return vreinterpretq_f32_u32(vandq_u32(vreinterpretq_u32_f32(scaled), keep));
  }

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
  static uint16x4_t to_bf16(reg v) {
    const uint32x4_t u = vreinterpretq_u32_f32(v);
    const uint32x4_t lsb = vandq_u32(vshrq_n_u32(u, 16), vdupq_n_u32(1));
    return vshrn_n_u32(vaddq_u32(vaddq_u32(u, vdupq_n_u32(0x7fff)), lsb), 16);
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
