// AVX-512 extras that live beside the RowKernels table (row_kernels.h).
#ifndef IPO_CPU_ROW_KERNELS_AVX512_H
#define IPO_CPU_ROW_KERNELS_AVX512_H

#include <cstdint>

namespace ipo {

// The bfloat16 gradient kernel with AVX512_BF16 + AVX512BW (row_kernels_avx512bf16.cc): the same values
// as the AVX-512F one, except that results below FLT_MIN in magnitude are written as 0 (the instruction
// treats subnormals as zero) where the AVX-512F kernel writes a subnormal bfloat16.
void avx512bf16_row_grad_bf16(const void* row, void* out, int64_t vocab, float lse, float neg_coef, bool stream);

// avx512_row_kernels() uses that kernel when the CPU has AVX512_BF16, unless this was set to false
// (tests, to cover the AVX-512F path on such CPUs); takes effect at the next select_row_kernels().
void avx512_allow_bf16_instructions(bool allow);

}  // namespace ipo

#endif
