// AVX-512F row kernels (16 float lanes).
#pragma GCC target("avx512f,avx2,fma,f16c")
// GCC 12 warns inside its own avx512fintrin.h about the _mm512_undefined_* idiom.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <cpuid.h>

#include <atomic>
#include <cstdint>

#include "cpu/dtype.h"
#include "cpu/row_kernels.h"
#include "cpu/row_kernels_avx512.h"

namespace {

#include "cpu/row_kernels_avx512_traits.h"
#include "cpu/row_kernels_vec.h"

}  // namespace

namespace ipo {
namespace {
std::atomic<bool> g_allow_bf16_instructions{true};

bool cpu_has_avx512bf16() {
  unsigned a, b, c, d;
  // CPUID leaf 7 subleaf 1, EAX bit 5: AVX512_BF16. AVX512BW (leaf 7 subleaf 0, EBX bit 30) is used with it.
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d) || !(b & (1u << 30))) return false;
  return __get_cpuid_count(7, 1, &a, &b, &c, &d) && (a & (1u << 5));
}
}  // namespace

const RowKernels& avx512_row_kernels() {
  static const bool has_bf16 = cpu_has_avx512bf16();
  if (!has_bf16 || !g_allow_bf16_instructions.load(std::memory_order_relaxed)) return make_kernels<Avx512>("avx512");
  // The same kernels, with the bfloat16 gradient rounded by VCVTNE2PS2BF16 (one instruction per 32 values).
  static const RowKernels k = [] {
    RowKernels t = make_kernels<Avx512>("avx512");
    t.grad[1] = avx512bf16_row_grad_bf16;
    return t;
  }();
  return k;
}

void avx512_allow_bf16_instructions(bool allow) { g_allow_bf16_instructions.store(allow, std::memory_order_relaxed); }
}  // namespace ipo
