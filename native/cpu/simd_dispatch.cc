// Picks the row kernels once, from what the CPU reports at run time: the binary is built for plain
// x86-64 and still uses AVX-512 or AVX2 where present; on AArch64 it uses NEON where the kernel
// reports Advanced SIMD (always, on Linux; asked anyway so a new ISA level slots in the same way).
#include <atomic>
#include <cstring>
#include <initializer_list>

#include "cpu/row_kernels.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <cpuid.h>
#endif
#if defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#ifndef HWCAP_ASIMD
#define HWCAP_ASIMD (1 << 1)  // linux/arch/arm64/include/uapi/asm/hwcap.h
#endif
#endif

namespace ipo {
namespace {

#if defined(__x86_64__) || defined(_M_X64)
// Straight from CPUID and XCR0 rather than __builtin_cpu_supports: clang's builtin knows no "f16c", and
// its __cpu_model is not linkable into a shared library by every toolchain (zig's lld refuses it).
struct X86Features {
  bool avx2 = false, avx512f = false;  // each includes FMA, F16C and the OS saving the registers
};

X86Features x86_features() {
  X86Features f;
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
  const bool osxsave = c & bit_OSXSAVE, avx = c & bit_AVX, fma = c & bit_FMA, f16c = c & bit_F16C;
  if (!(osxsave && avx && fma && f16c)) return f;
  unsigned xcr0_lo, xcr0_hi;
  __asm__ volatile("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
  const bool ymm = (xcr0_lo & 0x06) == 0x06, zmm = (xcr0_lo & 0xe6) == 0xe6;  // SSE+AVX (+opmask, ZMM)
  if (!ymm || !__get_cpuid_count(7, 0, &a, &b, &c, &d)) return f;
  f.avx2 = b & bit_AVX2;
  f.avx512f = f.avx2 && zmm && (b & bit_AVX512F);
  return f;
}
#endif

bool cpu_has(const char* name) {
#if defined(__x86_64__) || defined(_M_X64)
  static const X86Features x86 = x86_features();
  if (!std::strcmp(name, "avx512")) return x86.avx512f;
  if (!std::strcmp(name, "avx2")) return x86.avx2;
#endif
#if defined(__aarch64__) && defined(__linux__)
  if (!std::strcmp(name, "neon")) return (getauxval(AT_HWCAP) & HWCAP_ASIMD) != 0;
#endif
  return !std::strcmp(name, "scalar");
}

const RowKernels* by_name(const char* name) {
#if defined(__x86_64__) || defined(_M_X64)
  if (!std::strcmp(name, "avx512")) return &avx512_row_kernels();
  if (!std::strcmp(name, "avx2")) return &avx2_row_kernels();
#endif
#if defined(__aarch64__) && defined(__linux__)
  if (!std::strcmp(name, "neon")) return &neon_row_kernels();
#endif
  if (!std::strcmp(name, "scalar")) return &scalar_row_kernels();
  return nullptr;
}

const RowKernels* best() {
  for (const char* name : {"avx512", "avx2", "neon", "scalar"})
    if (cpu_has(name)) return by_name(name);
  return &scalar_row_kernels();
}

std::atomic<const RowKernels*> g_active{nullptr};

}  // namespace

const RowKernels& active_row_kernels() {
  const RowKernels* k = g_active.load(std::memory_order_acquire);
  if (!k) {
    k = best();
    g_active.store(k, std::memory_order_release);
  }
  return *k;
}

bool select_row_kernels(const char* name) {
  if (!name || !std::strcmp(name, "auto")) {
    g_active.store(best(), std::memory_order_release);
    return true;
  }
  if (!cpu_has(name)) return false;
  const RowKernels* k = by_name(name);
  if (!k) return false;
  g_active.store(k, std::memory_order_release);
  return true;
}

}  // namespace ipo
