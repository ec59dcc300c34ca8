// Picks the row kernels once, from what the CPU reports at run time: the binary is built for plain
// x86-64 and still uses AVX-512 or AVX2 where present.
#include <atomic>
#include <cstring>
#include <initializer_list>

#include "cpu/row_kernels.h"

namespace ipo {
namespace {

bool cpu_has(const char* name) {
#if defined(__x86_64__) || defined(_M_X64)
  __builtin_cpu_init();
  if (!std::strcmp(name, "avx512")) return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx2") &&
                                           __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
  if (!std::strcmp(name, "avx2"))
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
#endif
  return !std::strcmp(name, "scalar");
}

const RowKernels* by_name(const char* name) {
#if defined(__x86_64__) || defined(_M_X64)
  if (!std::strcmp(name, "avx512")) return &avx512_row_kernels();
  if (!std::strcmp(name, "avx2")) return &avx2_row_kernels();
#endif
  if (!std::strcmp(name, "scalar")) return &scalar_row_kernels();
  return nullptr;
}

const RowKernels* best() {
  for (const char* name : {"avx512", "avx2", "scalar"})
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
