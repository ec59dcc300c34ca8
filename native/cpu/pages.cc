#include "cpu/pages.h"

#include <cstdint>

#include "cpu/row_kernels.h"
#include "cpu/thread_pool.h"

#if defined(__x86_64__)
#include <xmmintrin.h>
#endif
#if defined(__linux__)
#include <sys/mman.h>
#include <unistd.h>
#endif
#if defined(__linux__) && !defined(MADV_POPULATE_WRITE)
#define MADV_POPULATE_WRITE 23
#endif

namespace ipo {
namespace {

constexpr size_t kChunk = (size_t)8 << 20;

std::vector<ByteRange> chunks(const std::vector<ByteRange>& ranges) {
  std::vector<ByteRange> out;
  for (const ByteRange& r : ranges)
    for (char* p = r.begin; p < r.end; p += kChunk) out.push_back({p, (size_t)(r.end - p) > kChunk ? p + kChunk : r.end});
  return out;
}

}  // namespace

size_t page_size() {
#if defined(__linux__)
  static const size_t size = (size_t)sysconf(_SC_PAGESIZE);
  return size;
#else
  return 4096;
#endif
}

std::vector<ByteRange> gaps(const std::vector<ByteRange>& ranges, char* begin, char* end) {
  std::vector<ByteRange> out;
  char* cursor = begin;
  for (const ByteRange& r : ranges) {
    if (cursor < r.begin) out.push_back({cursor, r.begin});
    cursor = r.end;
  }
  if (cursor < end) out.push_back({cursor, end});
  return out;
}

void populate_ranges(const std::vector<ByteRange>& ranges, int threads) {
#if defined(__linux__)
  const uintptr_t page = page_size();
  std::vector<ByteRange> aligned;
  for (const ByteRange& r : ranges)
    aligned.push_back({reinterpret_cast<char*>(reinterpret_cast<uintptr_t>(r.begin) / page * page),
                       reinterpret_cast<char*>((reinterpret_cast<uintptr_t>(r.end) + page - 1) / page * page)});
  const std::vector<ByteRange> work = chunks(aligned);
  // Refused (older kernel, or not anonymous memory): the faults then happen later, one by one.
  parallel_for((int64_t)work.size(), threads,
               [&](int64_t i) { madvise(work[(size_t)i].begin, (size_t)(work[(size_t)i].end - work[(size_t)i].begin), MADV_POPULATE_WRITE); });
#else
  (void)ranges, (void)threads;
#endif
}

void zero_ranges(const std::vector<ByteRange>& ranges, int threads, bool stream) {
  const std::vector<ByteRange> work = chunks(ranges);
  const ZeroFn zero = active_row_kernels().zero;
  parallel_for((int64_t)work.size(), threads,
               [&](int64_t i) { zero(work[(size_t)i].begin, (size_t)(work[(size_t)i].end - work[(size_t)i].begin), stream); });
#if defined(__x86_64__)
  if (stream) _mm_sfence();
#endif
}

void discard_ranges(const std::vector<ByteRange>& ranges) {
  for (const ByteRange& r : ranges) {
#if defined(__linux__)
    // Linux guarantees zero-fill after MADV_DONTNEED on private anonymous memory (other systems treat it
    // as a hint). On failure, never expected for our own mapping, the same bytes are zeroed by hand.
    if (madvise(r.begin, (size_t)(r.end - r.begin), MADV_DONTNEED) == 0) continue;
#endif
    active_row_kernels().zero(r.begin, (size_t)(r.end - r.begin), false);
  }
}

}  // namespace ipo
