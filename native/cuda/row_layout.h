// How a row of logits is split for 16-byte access when its start is not 16-byte aligned (a row of
// V elements of d bytes starts at base + r * V * d; with V * d % 16 != 0, e.g. V = 32001 or 151669
// in bf16, the start moves through every 2-byte offset mod 16 from row to row):
//
//   [0, head)                  scalar: the elements before the first 16-byte boundary, head < 16 / d
//   [head, tail_begin)         `units` whole 16-byte units (16 / d elements each), aligned
//   [tail_begin, vocab)        scalar: fewer than 16 / d elements after the last whole unit
//
// head = ((16 - start % 16) % 16) / d is exact because start is a multiple of d (the C ABI checks
// element alignment) and d divides 16. A row shorter than its head is all head (units = 0).
// The scalar elements (at most 2 * (16 / d - 1) = 14 for 16-bit) go one per thread to threads
// 0 .. head + tail - 1 of the block that handles split 0 of the row; the units are divided among the
// splits as before. row_layout_test.cc checks on the CPU that this covers every element of every
// row exactly once and that every unit is 16-byte aligned, for the real vocabularies and all offsets.
//
// Plain C++ (no CUDA headers) so that the CPU test compiles it with the host compiler.
#ifndef IPO_CUDA_ROW_LAYOUT_H
#define IPO_CUDA_ROW_LAYOUT_H

#include <stdint.h>

#ifdef __CUDACC__
#define IPO_HOST_DEVICE __host__ __device__ __forceinline__
#else
#define IPO_HOST_DEVICE inline
#endif

namespace ipo_cuda {

struct RowLayout {
  int64_t head;        // scalar elements before the first aligned unit
  int64_t units;       // whole 16-byte units
  int64_t tail_begin;  // first scalar element after the units (= head + units * per_unit)
};

// `start`: the address of the row's first element; `per_unit` = 16 / elem_bytes.
IPO_HOST_DEVICE RowLayout row_layout(uintptr_t start, int64_t vocab, int elem_bytes, int per_unit) {
  int64_t head = (int64_t)(((16u - (unsigned)(start & 15u)) & 15u) / (unsigned)elem_bytes);
  if (head > vocab) head = vocab;
  const int64_t units = (vocab - head) / per_unit;
  return RowLayout{head, units, head + units * per_unit};
}

// The scalar element thread `t` of split 0 handles: head elements first, then the tail; -1 if none.
IPO_HOST_DEVICE int64_t scalar_element(const RowLayout& l, int64_t vocab, int64_t t) {
  if (t < l.head) return t;
  const int64_t k = t - l.head;
  return k < vocab - l.tail_begin ? l.tail_begin + k : -1;
}

}  // namespace ipo_cuda

#undef IPO_HOST_DEVICE
#endif
