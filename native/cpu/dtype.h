// Scalar conversions between float and the 16-bit logits formats (bf16, IEEE f16), round to nearest
// even. `static inline` on purpose: each translation unit (including the ones compiled for AVX2 or
// AVX-512) gets a private copy, so the linker can never hand vector-encoded code to a plain x86-64 caller.
#ifndef IPO_CPU_DTYPE_H
#define IPO_CPU_DTYPE_H

#include <cstdint>
#include <cstring>

namespace ipo {

static inline float bits_to_float(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
static inline uint32_t float_to_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

static inline float bf16_to_float(uint16_t h) { return bits_to_float((uint32_t)h << 16); }

static inline uint16_t float_to_bf16(float f) {
  uint32_t u = float_to_bits(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40);  // quiet NaN
  u += 0x7fffu + ((u >> 16) & 1u);
  return (uint16_t)(u >> 16);
}

static inline float f16_to_float(uint16_t h) {
  const uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t mant = h & 0x3ffu;
  if (exp == 0x1f) return bits_to_float(sign | 0x7f800000u | (mant << 13));  // inf / NaN
  if (exp == 0) {
    if (mant == 0) return bits_to_float(sign);
    // Subnormal: value = mant * 2^-24.
    float v = (float)mant * 5.9604644775390625e-8f;
    return sign ? -v : v;
  }
  return bits_to_float(sign | ((exp + 112u) << 23) | (mant << 13));
}

static inline uint16_t float_to_f16(float f) {
  const uint32_t u = float_to_bits(f);
  const uint16_t sign = (uint16_t)((u >> 16) & 0x8000u);
  const uint32_t abs = u & 0x7fffffffu;
  if (abs > 0x7f800000u) return (uint16_t)(sign | 0x7e00u);  // NaN
  if (abs >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u); // rounds to >= 65520: inf
  if (abs < 0x38800000u) {                                   // below 2^-14: subnormal or zero
    if (abs < 0x33000000u) return sign;                      // below 2^-25: rounds to 0
    const uint32_t e = abs >> 23;
    const uint32_t mant = (abs & 0x7fffffu) | 0x800000u;
    const uint32_t shift = 126u - e;                         // 14..24 (value = mant * 2^(e-150))
    uint32_t half = mant >> shift;
    const uint32_t rem = mant & ((1u << shift) - 1u), mid = 1u << (shift - 1u);
    if (rem > mid || (rem == mid && (half & 1u))) ++half;
    return (uint16_t)(sign | half);
  }
  uint32_t r = abs + 0xfffu + ((abs >> 13) & 1u);          // round mantissa to 10 bits, ties to even
  r -= 0x38000000u;                                         // rebias exponent 127 -> 15
  return (uint16_t)(sign | (r >> 13));
}

static inline float load_scalar(const void* base, int32_t dtype, int64_t i) {
  switch (dtype) {
    case 1: return bf16_to_float(static_cast<const uint16_t*>(base)[i]);
    case 2: return f16_to_float(static_cast<const uint16_t*>(base)[i]);
    default: return static_cast<const float*>(base)[i];
  }
}

static inline void store_scalar(void* base, int32_t dtype, int64_t i, float v) {
  switch (dtype) {
    case 1: static_cast<uint16_t*>(base)[i] = float_to_bf16(v); break;
    case 2: static_cast<uint16_t*>(base)[i] = float_to_f16(v); break;
    default: static_cast<float*>(base)[i] = v; break;
  }
}

}  // namespace ipo

#endif
