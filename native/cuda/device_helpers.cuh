// Device-side building blocks shared by the CUDA kernels: reading and writing logits of any dtype
// (16-byte vectors or single elements), the non-finite test on raw bits, the online log-sum-exp in
// base 2, and block reductions.
//
// Log-sum-exp in base 2: with y = x log2(e), logsumexp(x) = ln(2) * (M + log2 sum_j 2^(y_j - M)) for
// M = max_j y_j. Working in base 2 turns every exp into one ex2 instruction (MUFU) after one FFMA.
#ifndef IPO_CUDA_DEVICE_HELPERS_CUH
#define IPO_CUDA_DEVICE_HELPERS_CUH

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <stdint.h>

#include "ipo.h"

namespace ipo_cuda {

constexpr float kLog2e = 1.4426950408889634f;

// ---- element access --------------------------------------------------------------------------
// Access<DT, Vec>: N values per access unit; load() widens them to float and ORs a non-zero value
// into `bad` when one of them is NaN or +-infinity (tested on the raw bits, so fast-math cannot
// drop the test); store() rounds to the dtype (round to nearest even). Vec = true moves 16 bytes per
// access (the caller guarantees 16-byte alignment); Vec = false moves one element (any alignment of
// the element type).

__device__ __forceinline__ float bf16_bits_to_float(uint32_t h) { return __uint_as_float(h << 16); }

template <int DT, bool Vec>
struct Access;

template <>
struct Access<IPO_DTYPE_F32, true> {
  static constexpr int N = 4;
  using Raw = uint4;
  __device__ __forceinline__ static Raw load(const void* base, int64_t i) {
    return reinterpret_cast<const uint4*>(base)[i];
  }
  __device__ __forceinline__ static Raw load_stream(const void* base, int64_t i) {
    return __ldcs(reinterpret_cast<const uint4*>(base) + i);
  }
  __device__ __forceinline__ static void widen(const Raw& r, float (&v)[N], uint32_t& bad) {
    const uint32_t w[4] = {r.x, r.y, r.z, r.w};
#pragma unroll
    for (int k = 0; k < 4; ++k) {
      bad |= (uint32_t)((w[k] & 0x7f800000u) == 0x7f800000u);
      v[k] = __uint_as_float(w[k]);
    }
  }
  __device__ __forceinline__ static void store(void* base, int64_t i, const float (&v)[N]) {
    __stcs(reinterpret_cast<uint4*>(base) + i,
           make_uint4(__float_as_uint(v[0]), __float_as_uint(v[1]), __float_as_uint(v[2]), __float_as_uint(v[3])));
  }
};

// Two 16-bit values per 32-bit word: the element at the lower address is the low half.
template <uint32_t ExpMask>
__device__ __forceinline__ uint32_t nonfinite_pair(uint32_t w) {
  return __vcmpeq2(w & (ExpMask | (ExpMask << 16)), ExpMask | (ExpMask << 16));
}

template <>
struct Access<IPO_DTYPE_BF16, true> {
  static constexpr int N = 8;
  using Raw = uint4;
  __device__ __forceinline__ static Raw load(const void* base, int64_t i) {
    return reinterpret_cast<const uint4*>(base)[i];
  }
  __device__ __forceinline__ static Raw load_stream(const void* base, int64_t i) {
    return __ldcs(reinterpret_cast<const uint4*>(base) + i);
  }
  __device__ __forceinline__ static void widen(const Raw& r, float (&v)[N], uint32_t& bad) {
    const uint32_t w[4] = {r.x, r.y, r.z, r.w};
#pragma unroll
    for (int k = 0; k < 4; ++k) {
      bad |= nonfinite_pair<0x7f80u>(w[k]);
      v[2 * k] = __uint_as_float(w[k] << 16);
      v[2 * k + 1] = __uint_as_float(w[k] & 0xffff0000u);
    }
  }
  __device__ __forceinline__ static uint32_t pack(float lo, float hi) {
    __nv_bfloat162 p = __floats2bfloat162_rn(lo, hi);
    return *reinterpret_cast<uint32_t*>(&p);
  }
  __device__ __forceinline__ static void store(void* base, int64_t i, const float (&v)[N]) {
    __stcs(reinterpret_cast<uint4*>(base) + i,
           make_uint4(pack(v[0], v[1]), pack(v[2], v[3]), pack(v[4], v[5]), pack(v[6], v[7])));
  }
};

template <>
struct Access<IPO_DTYPE_F16, true> {
  static constexpr int N = 8;
  using Raw = uint4;
  __device__ __forceinline__ static Raw load(const void* base, int64_t i) {
    return reinterpret_cast<const uint4*>(base)[i];
  }
  __device__ __forceinline__ static Raw load_stream(const void* base, int64_t i) {
    return __ldcs(reinterpret_cast<const uint4*>(base) + i);
  }
  __device__ __forceinline__ static void widen(const Raw& r, float (&v)[N], uint32_t& bad) {
    const uint32_t w[4] = {r.x, r.y, r.z, r.w};
#pragma unroll
    for (int k = 0; k < 4; ++k) {
      bad |= nonfinite_pair<0x7c00u>(w[k]);
      const float2 f = __half22float2(*reinterpret_cast<const __half2*>(&w[k]));
      v[2 * k] = f.x;
      v[2 * k + 1] = f.y;
    }
  }
  __device__ __forceinline__ static uint32_t pack(float lo, float hi) {
    __half2 p = __floats2half2_rn(lo, hi);
    return *reinterpret_cast<uint32_t*>(&p);
  }
  __device__ __forceinline__ static void store(void* base, int64_t i, const float (&v)[N]) {
    __stcs(reinterpret_cast<uint4*>(base) + i,
           make_uint4(pack(v[0], v[1]), pack(v[2], v[3]), pack(v[4], v[5]), pack(v[6], v[7])));
  }
};

template <>
struct Access<IPO_DTYPE_F32, false> {
  static constexpr int N = 1;
  using Raw = uint32_t;
  __device__ __forceinline__ static Raw load(const void* base, int64_t i) {
    return reinterpret_cast<const uint32_t*>(base)[i];
  }
  __device__ __forceinline__ static Raw load_stream(const void* base, int64_t i) {
    return __ldcs(reinterpret_cast<const unsigned int*>(base) + i);
  }
  __device__ __forceinline__ static void widen(Raw r, float (&v)[N], uint32_t& bad) {
    bad |= (uint32_t)((r & 0x7f800000u) == 0x7f800000u);
    v[0] = __uint_as_float(r);
  }
  __device__ __forceinline__ static void store(void* base, int64_t i, const float (&v)[N]) {
    __stcs(reinterpret_cast<float*>(base) + i, v[0]);
  }
};

template <>
struct Access<IPO_DTYPE_BF16, false> {
  static constexpr int N = 1;
  using Raw = uint16_t;
  __device__ __forceinline__ static Raw load(const void* base, int64_t i) {
    return reinterpret_cast<const uint16_t*>(base)[i];
  }
  __device__ __forceinline__ static Raw load_stream(const void* base, int64_t i) {
    return __ldcs(reinterpret_cast<const unsigned short*>(base) + i);
  }
  __device__ __forceinline__ static void widen(Raw r, float (&v)[N], uint32_t& bad) {
    bad |= (uint32_t)((r & 0x7f80u) == 0x7f80u);
    v[0] = bf16_bits_to_float(r);
  }
  __device__ __forceinline__ static void store(void* base, int64_t i, const float (&v)[N]) {
    __nv_bfloat16 b = __float2bfloat16_rn(v[0]);
    __stcs(reinterpret_cast<unsigned short*>(base) + i, *reinterpret_cast<unsigned short*>(&b));
  }
};

template <>
struct Access<IPO_DTYPE_F16, false> {
  static constexpr int N = 1;
  using Raw = uint16_t;
  __device__ __forceinline__ static Raw load(const void* base, int64_t i) {
    return reinterpret_cast<const uint16_t*>(base)[i];
  }
  __device__ __forceinline__ static Raw load_stream(const void* base, int64_t i) {
    return __ldcs(reinterpret_cast<const unsigned short*>(base) + i);
  }
  __device__ __forceinline__ static void widen(Raw r, float (&v)[N], uint32_t& bad) {
    bad |= (uint32_t)((r & 0x7c00u) == 0x7c00u);
    v[0] = __half2float(*reinterpret_cast<const __half*>(&r));
  }
  __device__ __forceinline__ static void store(void* base, int64_t i, const float (&v)[N]) {
    __half h = __float2half_rn(v[0]);
    __stcs(reinterpret_cast<unsigned short*>(base) + i, *reinterpret_cast<unsigned short*>(&h));
  }
};

// One element of a row, widened to float (used for the label entry).
template <int DT>
__device__ __forceinline__ float load_element(const void* base, int64_t i) {
  float v[1];
  uint32_t ignored = 0;
  Access<DT, false>::widen(Access<DT, false>::load(base, i), v, ignored);
  return v[0];
}

// ---- online log-sum-exp (base 2) ---------------------------------------------------------------
// A partial state (m, s) stands for s * 2^m; an empty state is (-inf, 0).
struct Lse2 {
  float m;
  float s;
};

__device__ __forceinline__ Lse2 lse2_empty() { return Lse2{-INFINITY, 0.0f}; }

// Merges two states without producing NaN from (-inf) - (-inf) when either side is empty.
__device__ __forceinline__ Lse2 lse2_merge(Lse2 a, Lse2 b) {
  if (a.m == -INFINITY) return b;
  if (b.m == -INFINITY) return a;
  const float m = fmaxf(a.m, b.m);
  return Lse2{m, a.s * exp2f(a.m - m) + b.s * exp2f(b.m - m)};
}

__device__ __forceinline__ Lse2 warp_lse2(Lse2 v) {
#pragma unroll
  for (int off = 16; off > 0; off >>= 1) {
    Lse2 o{__shfl_xor_sync(0xffffffffu, v.m, off), __shfl_xor_sync(0xffffffffu, v.s, off)};
    v = lse2_merge(v, o);
  }
  return v;
}

// Block-wide merge; every thread gets the result. `scratch` holds at least 32 entries.
__device__ __forceinline__ Lse2 block_lse2(Lse2 v, Lse2* scratch) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = (blockDim.x + 31) >> 5;
  v = warp_lse2(v);
  __syncthreads();  // scratch may still be read from a previous call
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  v = lane < warps ? scratch[lane] : lse2_empty();
  return warp_lse2(v);
}

// Block-wide sum of doubles in a fixed order (deterministic); the result is valid in thread 0.
__device__ __forceinline__ double block_sum(double v, double* scratch) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = (blockDim.x + 31) >> 5;
#pragma unroll
  for (int off = 16; off > 0; off >>= 1) v += __shfl_down_sync(0xffffffffu, v, off);
  __syncthreads();
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  v = 0;
  if (warp == 0) {
    v = lane < warps ? scratch[lane] : 0.0;
#pragma unroll
    for (int off = 16; off > 0; off >>= 1) v += __shfl_down_sync(0xffffffffu, v, off);
  }
  return v;
}

}  // namespace ipo_cuda

#endif
