#include "cpu/grad_pool.h"

#include "ipo.h"

#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace ipo {
namespace {

struct Buffer {
  char* base = nullptr;
  size_t capacity = 0;  // bytes mapped, a multiple of the page size
  // Per page: 0 = not written by this library since it was last discarded (or ever); k >= 1 = written,
  // then zero-written in the last k - 1 calls in a row.
  std::vector<uint8_t> state;
  // Per page: how many zero-writes in a row it gets before it is discarded, as a doubling step
  // (patience = kMinPatience << step), and whether the patience rule discarded it last.
  std::vector<uint8_t> step, evicted;

  int patience(size_t page) const { return kMinPatience << step[page]; }
  std::mutex mutex;  // one call prepares a buffer at a time
};

struct Pool {
  std::mutex mutex;
  std::vector<std::unique_ptr<Buffer>> live, idle;  // idle: least recently released first
  uint64_t hits = 0, misses = 0, refused = 0;
};

// Never destroyed: a JavaScript finalizer may release a buffer while the process is exiting.
Pool& pool() {
  static Pool* p = new Pool();
  return *p;
}

bool pool_enabled() {
  static const bool enabled = [] {
    const char* v = std::getenv("IPO_GRAD_CACHE");
    return !(v && (std::strcmp(v, "0") == 0 || std::strcmp(v, "off") == 0 || std::strcmp(v, "false") == 0));
  }();
  return enabled;
}

void unmap(Buffer* b) {
#if defined(__linux__)
  munmap(b->base, b->capacity);
#endif
}

Buffer* find_live(Pool& p, void* base) {
  for (auto& b : p.live)
    if (b->base == base) return b.get();
  return nullptr;
}

}  // namespace

void* grad_pool_acquire(size_t bytes) {
#if defined(__linux__)
  if (!pool_enabled() || bytes == 0) return nullptr;
  Pool& p = pool();
  std::lock_guard<std::mutex> lock(p.mutex);
  if (p.live.size() >= kMaxLive) {
    ++p.refused;
    return nullptr;
  }
  size_t best = p.idle.size();
  for (size_t i = 0; i < p.idle.size(); ++i) {
    const size_t cap = p.idle[i]->capacity;
    if (cap >= bytes && cap / 2 <= bytes && (best == p.idle.size() || cap < p.idle[best]->capacity)) best = i;
  }
  if (best < p.idle.size()) {
    ++p.hits;
    p.live.push_back(std::move(p.idle[best]));
    p.idle.erase(p.idle.begin() + (std::ptrdiff_t)best);
    return p.live.back()->base;
  }
  const size_t page = page_size();
  if (bytes > SIZE_MAX - page) return nullptr;
  auto b = std::make_unique<Buffer>();
  b->capacity = (bytes + page - 1) / page * page;
  void* m = mmap(nullptr, b->capacity, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) {
    ++p.refused;
    return nullptr;
  }
  b->base = static_cast<char*>(m);
  b->state.assign(b->capacity / page, 0);
  b->step.assign(b->capacity / page, 0);
  b->evicted.assign(b->capacity / page, 0);
  ++p.misses;
  p.live.push_back(std::move(b));
  return p.live.back()->base;
#else
  (void)bytes;
  return nullptr;
#endif
}

void grad_pool_release(void* buffer) {
  Pool& p = pool();
  std::unique_ptr<Buffer> evicted;
  {
    std::lock_guard<std::mutex> lock(p.mutex);
    for (size_t i = 0; i < p.live.size(); ++i) {
      if (p.live[i]->base != buffer) continue;
      p.idle.push_back(std::move(p.live[i]));
      p.live.erase(p.live.begin() + (std::ptrdiff_t)i);
      break;
    }
    if (p.idle.size() > kMaxIdle) {
      evicted = std::move(p.idle.front());
      p.idle.erase(p.idle.begin());
    }
  }
  if (evicted) unmap(evicted.get());  // outside the lock: unmapping a GB takes milliseconds
}

size_t grad_pool_trim() {
  Pool& p = pool();
  std::vector<std::unique_ptr<Buffer>> idle;
  {
    std::lock_guard<std::mutex> lock(p.mutex);
    idle.swap(p.idle);
  }
  size_t bytes = 0;
  for (auto& b : idle) {
    bytes += b->capacity;
    unmap(b.get());
  }
  return bytes;
}

bool grad_pool_prepare(void* buffer, size_t bytes, const std::vector<ByteRange>& written, int threads,
                       std::vector<ByteRange>* zero) {
  Buffer* b;
  {
    Pool& p = pool();
    std::lock_guard<std::mutex> lock(p.mutex);
    b = find_live(p, buffer);
  }
  if (!b || bytes > b->capacity) return false;
  std::lock_guard<std::mutex> lock(b->mutex);
  const size_t page = page_size();
  char* const base = b->base;
  // Bytes past `bytes` in its last page are invisible to the caller, so that page may be discarded whole.
  const size_t visible_pages_end = (bytes + page - 1) / page * page;
  std::vector<ByteRange> discard, populate;
  zero->clear();

  auto clear_gap = [&](size_t from, size_t to) {  // [from, to): bytes nobody writes in this call
    const size_t whole_from = (from + page - 1) / page * page;
    const size_t whole_to = (to == bytes ? visible_pages_end : to) / page * page;
    if (whole_from >= whole_to) {
      zero->push_back({base + from, base + to});
      return;
    }
    if (from < whole_from) zero->push_back({base + from, base + whole_from});
    if (whole_to < to) zero->push_back({base + whole_to, base + to});
    // Runs of pages with the same fate, so that each madvise / zero range is as long as possible.
    for (size_t pg = whole_from / page, end = whole_to / page; pg < end;) {
      auto discards = [&](size_t q) { return b->state[q] == 0 || b->state[q] > b->patience(q); };
      const bool discard_run = discards(pg);
      size_t next = pg;
      for (; next < end && discards(next) == discard_run; ++next) {
        if (discard_run && b->state[next] != 0) b->evicted[next] = 1;
        b->state[next] = discard_run ? 0 : b->state[next] + 1;
      }
      (discard_run ? discard : *zero).push_back({base + pg * page, base + next * page});
      pg = next;
    }
  };
  for (const ByteRange& g : gaps(written, base, base + bytes)) clear_gap((size_t)(g.begin - base), (size_t)(g.end - base));

  for (const ByteRange& w : written) {
    const size_t first = (size_t)(w.begin - base) / page, end = ((size_t)(w.end - base) + page - 1) / page;
    for (size_t pg = first; pg < end;) {
      if (b->state[pg] != 0) {
        b->state[pg++] = 1;
        continue;
      }
      size_t next = pg;
      for (; next < end && b->state[next] == 0; ++next) {
        b->state[next] = 1;
        // Discarded by the patience rule and wanted again: be more patient with this page next time.
        if (b->evicted[next] && b->step[next] < kMaxPatienceStep) ++b->step[next];
        b->evicted[next] = 0;
      }
      populate.push_back({base + pg * page, base + next * page});
      pg = next;
    }
  }
  discard_ranges(discard);
  populate_ranges(populate, threads);
  return true;
}

ipo_grad_cache_stats grad_pool_stats() {
  Pool& p = pool();
  std::lock_guard<std::mutex> lock(p.mutex);
  ipo_grad_cache_stats s{p.hits, p.misses, p.refused, p.idle.size(), 0, p.live.size(), 0};
  for (auto& b : p.idle) s.idle_bytes += b->capacity;
  for (auto& b : p.live) s.live_bytes += b->capacity;
  return s;
}

}  // namespace ipo

extern "C" void* ipo_grad_buffer_acquire(size_t bytes) { return ipo::grad_pool_acquire(bytes); }
extern "C" void ipo_grad_buffer_release(void* buffer) { ipo::grad_pool_release(buffer); }
extern "C" size_t ipo_grad_cache_trim(void) { return ipo::grad_pool_trim(); }
extern "C" void ipo_grad_cache_get_stats(ipo_grad_cache_stats* out) {
  if (out) *out = ipo::grad_pool_stats();
}
