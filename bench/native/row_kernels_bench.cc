// Development micro-benchmark of the CPU row kernels alone, one thread: lse + grad per row, on rows that
// stay in the cache (the instruction floor) and on rows streamed from memory, beside a memcpy of the same
// bytes. Prints the minimum over repetitions (robust to other load on a shared machine).
//   g++ -O3 -std=c++17 -Inative -Inative/include bench/native/row_kernels_bench.cc native/cpu/row_kernels_*.cc
//       native/cpu/simd_dispatch.cc -o /tmp/row_kernels_bench && /tmp/row_kernels_bench [avx512|avx2|scalar] [cache]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

#include "cpu/dtype.h"
#include "cpu/row_kernels.h"

namespace {

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

template <class F>
double min_time(int reps, F&& f) {
  double best = 1e30;
  for (int r = 0; r < reps; ++r) {
    const double t0 = now();
    f();
    const double t = now() - t0;
    best = t < best ? t : best;
  }
  return best;
}

void run(const ipo::RowKernels& k, int dtype, int64_t vocab, int64_t rows, int reps, const char* label) {
  const size_t eb = dtype == 0 ? 4 : 2;
  const size_t bytes = (size_t)vocab * rows * eb;
  char* x = static_cast<char*>(std::aligned_alloc(64, bytes));
  char* g = static_cast<char*>(std::aligned_alloc(64, bytes));
  std::mt19937 rng(1);
  std::normal_distribution<float> nd(0.f, 2.f);
  for (int64_t i = 0; i < vocab * rows; ++i) ipo::store_scalar(x, dtype, i, nd(rng));
  std::memset(g, 0, bytes);
  const bool stream = bytes >= ((size_t)64 << 20);
  double sink = 0;
  const double t_lse = min_time(reps, [&] {
    for (int64_t r = 0; r < rows; ++r) {
      bool ok;
      sink += k.lse[dtype](x + r * vocab * eb, vocab, &ok);
    }
  });
  const double t_grad = min_time(reps, [&] {
    for (int64_t r = 0; r < rows; ++r) k.grad[dtype](x + r * vocab * eb, g + r * vocab * eb, vocab, 11.f, -0.5f, stream);
  });
  const double t_copy = min_time(reps, [&] { std::memcpy(g, x, bytes); });
  const double n = (double)vocab * rows;
  std::printf("%-8s %-5s %-14s lse %6.3f ns/elem  grad %6.3f ns/elem  total %6.3f ns/elem = %6.2f GB/s (2 x bytes)  memcpy %6.2f GB/s  sink %g\n",
              k.name, dtype == 0 ? "f32" : "bf16", label, t_lse / n * 1e9, t_grad / n * 1e9, (t_lse + t_grad) / n * 1e9,
              2.0 * bytes / (t_lse + t_grad) / 1e9, 2.0 * bytes / t_copy / 1e9, sink > 0 ? 1.0 : 0.0);
  std::free(x);
  std::free(g);
}

}  // namespace

int main(int argc, char** argv) {
  const char* name = argc > 1 ? argv[1] : "auto";
  if (!ipo::select_row_kernels(name)) {
    std::fprintf(stderr, "kernels '%s' not available\n", name);
    return 1;
  }
  const ipo::RowKernels& k = ipo::active_row_kernels();
  // `cache`: the cache-resident row only, 20 repetitions (for valgrind --tool=callgrind instruction counts).
  const bool cache_only = argc > 2 && !std::strcmp(argv[2], "cache");
  const int64_t vocab = 128256;
  for (int dtype : {0, 1}) {
    run(k, dtype, vocab, 1, cache_only ? 20 : 200, "cache (1 row)");
    if (!cache_only) run(k, dtype, vocab, 512, 5, "memory (512 rows)");
  }
  return 0;
}
