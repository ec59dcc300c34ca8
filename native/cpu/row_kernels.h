// The two per-row operations every CPU path is built from, one implementation per instruction set
// (row_kernels_{scalar,avx2,avx512,neon}.cc) chosen once at run time (simd_dispatch.cc):
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

// Shared by the vector exp of every instruction set (row_kernels_{avx2,avx512,neon}.cc).
// 2^f on [-1/2, 1/2] as c0 + c1 f + ... + c5 f^5: relative-error minimax, max |error| 7.5e-8 before
// float32 rounding (fitted by iteratively reweighted least squares in float64).
constexpr float kExp2Poly[6] = {1.0000001192092896f, 0.6931469440460205f, 0.24022120237350464f,
                                0.05550713092088699f, 0.00967553723603487f, 0.0013276482932269573f};
constexpr float kLog2eHi = 1.4426950216293335f;    // float(log2 e)
constexpr float kLog2eLo = 1.925963033500011e-08f;  // log2 e - kLog2eHi
constexpr float kExpMinArg = -87.3365447505531f;    // ln(FLT_MIN): exp below it is returned as exact 0

const RowKernels& scalar_row_kernels();
#if defined(__x86_64__) || defined(_M_X64)
const RowKernels& avx2_row_kernels();
const RowKernels& avx512_row_kernels();
#endif
#if defined(__aarch64__) && defined(__linux__)
const RowKernels& neon_row_kernels();
#endif

// The kernels in use: the best the CPU supports, or the one forced by select_row_kernels().
const RowKernels& active_row_kernels();
// Forces "scalar", "avx2", "avx512" or "neon" (tests), or "auto". Returns false if this CPU lacks it.
bool select_row_kernels(const char* name);

}  // namespace ipo

#endif
