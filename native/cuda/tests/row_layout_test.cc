// CPU check of native/cuda/row_layout.h, the split of a row that is not 16-byte aligned into scalar
// head, aligned 16-byte units and scalar tail (the kernels' access pattern for V = 32001 or 151669
// in bf16, and for logits at an odd element offset). For every dtype size, base offset mod 16, row
// phase, vocabulary and split count it replays exactly what the kernels do (row_stats.cu and
// dpo_loss.cu: scalar elements to threads 0..255 of split 0, units [units*s/splits, units*(s+1)/splits)
// to split s) and checks that every element of the row is visited exactly once, that every unit
// starts on a 16-byte boundary, that the label's unit and lane name the label, and that the scalar
// elements fit in one block. Built and run by scripts/ci-cuda.sh with the host compiler.
#include <cstdint>
#include <cstdio>
#include <vector>

#include "cuda/row_layout.h"

using ipo_cuda::row_layout;
using ipo_cuda::RowLayout;
using ipo_cuda::scalar_element;

static int failures = 0;
#define CHECK(cond, ...)                                   \
  do {                                                     \
    if (!(cond)) {                                         \
      if (++failures <= 10) {                              \
        std::printf("FAIL %s:%d: ", __FILE__, __LINE__);   \
        std::printf(__VA_ARGS__);                          \
        std::printf("\n");                                 \
      }                                                    \
    }                                                      \
  } while (0)

int main() {
  constexpr int kThreads = 256;
  const int64_t vocabs[] = {1, 2, 3, 7, 8, 9, 15, 16, 17, 1001, 4096, 32000, 32001, 32003, 50257, 128256, 128257, 151669, 151936};
  const int splits_list[] = {1, 2, 3, 7};
  int64_t cases = 0;
  std::vector<uint8_t> seen;
  for (int elem_bytes : {2, 4}) {
    const int per_unit = 16 / elem_bytes;
    for (int64_t vocab : vocabs) {
      seen.assign((size_t)vocab, 0);
      for (uintptr_t base = 0x7f0000000000u; base < 0x7f0000000000u + 16; base += (uintptr_t)elem_bytes) {
        for (int64_t row = 0; row < 8; ++row) {  // the offset mod 16 of a row repeats within 8 rows
          const uintptr_t start = base + (uintptr_t)(row * vocab * elem_bytes);
          const RowLayout lay = row_layout(start, vocab, elem_bytes, per_unit);
          const int64_t tail = vocab - lay.tail_begin;
          CHECK(lay.head >= 0 && lay.head < per_unit && tail >= 0 && tail < per_unit, "V=%lld d=%d head=%lld tail=%lld",
                (long long)vocab, elem_bytes, (long long)lay.head, (long long)tail);
          CHECK(lay.head + tail <= kThreads, "scalar elements do not fit in one block");
          if (lay.units > 0)
            CHECK((start + (uintptr_t)(lay.head * elem_bytes)) % 16 == 0, "body not 16-byte aligned: V=%lld d=%d row=%lld",
                  (long long)vocab, elem_bytes, (long long)row);
          for (int splits : splits_list) {
            std::fill(seen.begin(), seen.end(), 0);
            for (int t = 0; t < kThreads; ++t) {
              const int64_t e = scalar_element(lay, vocab, t);
              if (e >= 0) {
                CHECK(e < vocab, "scalar element out of the row");
                if (e < vocab) ++seen[(size_t)e];
              }
            }
            for (int s = 0; s < splits; ++s) {
              const int64_t begin = lay.units * s / splits, end = lay.units * (s + 1) / splits;
              for (int64_t i = begin; i < end; ++i)
                for (int lane = 0; lane < per_unit; ++lane) ++seen[(size_t)(lay.head + i * per_unit + lane)];
            }
            for (int64_t e = 0; e < vocab; ++e)
              CHECK(seen[(size_t)e] == 1, "V=%lld d=%d base%%16=%d row=%lld splits=%d: element %lld visited %d times",
                    (long long)vocab, elem_bytes, (int)(base % 16), (long long)row, splits, (long long)e, seen[(size_t)e]);
            ++cases;
          }
          // The gradient kernel's label position: unit (label - head) / N, lane (label - head) % N.
          for (int64_t label : {int64_t(0), lay.head, lay.tail_begin - 1, vocab / 2, vocab - 1}) {
            if (label < 0 || label >= vocab) continue;
            const bool in_body = label >= lay.head && label < lay.tail_begin;
            if (in_body) {
              const int64_t unit = (label - lay.head) / per_unit, lane = (label - lay.head) % per_unit;
              CHECK(lay.head + unit * per_unit + lane == label && unit < lay.units, "label unit/lane");
            } else {
              bool found = false;
              for (int t = 0; t < kThreads; ++t) found |= scalar_element(lay, vocab, t) == label;
              CHECK(found, "a head/tail label is no thread's scalar element");
            }
          }
        }
      }
    }
  }
  std::printf("row_layout: %lld layouts checked, %d failures\n", (long long)cases, failures);
  return failures ? 1 : 0;
}
