// The two per-row operations every CPU path is built from, one implementation per instruction set
// (row_kernels_{scalar,avx2,avx512}.cc) chosen once at run time (simd_dispatch.cc):
//
//   lse(row)            = log sum_j exp(row_j), computed blockwise online (max of a 2048-element block,
//                         rescale the running sum, then sum exp from L1), so the row is read from
//                         memory once; *finite = false if any element is NaN or +-inf.
//   grad(row, out)      out_j = neg_coef * exp(row_j - lse) for every j (the label entry is fixed by the
//                         caller in float32). out may alias row: each element is read before it is written.
//                         `stream` asks for non-temporal stores (the gradient is not read back soon).
#ifndef IPO_CPU_ROW_KERNELS_H
#define IPO_CPU_ROW_KERNELS_H

#include <cstddef>
#include <cstdint>

namespace ipo {

using RowLseFn = double (*)(const void* row, int64_t vocab, bool* finite);
using RowGradFn = void (*)(const void* row, void* out, int64_t vocab, float lse, float neg_coef, bool stream);
// Writes `bytes` zero bytes; `stream` asks for non-temporal stores (no read-for-ownership).
using ZeroFn = void (*)(void* out, size_t bytes, bool stream);

struct RowKernels {
  const char* name;
  RowLseFn lse[3];   // indexed by ipo_dtype
  RowGradFn grad[3];
  ZeroFn zero;
};

const RowKernels& scalar_row_kernels();
#if defined(__x86_64__) || defined(_M_X64)
const RowKernels& avx2_row_kernels();
const RowKernels& avx512_row_kernels();
#endif

// The kernels in use: the best the CPU supports, or the one forced by select_row_kernels().
const RowKernels& active_row_kernels();
// Forces "scalar", "avx2" or "avx512" (tests), or "auto". Returns false if this CPU lacks it.
bool select_row_kernels(const char* name);

}  // namespace ipo

#endif
