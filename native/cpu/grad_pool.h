// Gradient buffers that come back to be reused: the memory behind grad 'buffer' results.
//
// Why: a freshly mapped buffer costs a page fault for every 4 KB the kernel writes (on a VM about
// 0.3 s per GB, more than the whole loss), while an ordinary reused buffer must have every unscored
// row zero-written on every call. A pooled buffer is a private anonymous mapping plus a bitmap of the
// pages this library has written (so they are resident). Before a call writes its scored rows, every
// other visible byte is made zero the cheapest correct way:
//   whole pages it has not written         -> discarded (MADV_DONTNEED): free when never touched, and if
//                                             the caller wrote them meanwhile, the discard zeroes them;
//   whole pages it has written             -> zero-written (about 10 ms/GB), so a row that is scored
//                                             again soon finds its pages mapped (a fault costs ~30x that);
//   ... zero-written `patience` times in a row -> discarded instead: an unscored region that persists
//                                             (a prompt, padding, a fixed mask) then costs nothing per
//                                             call and holds no memory. Patience starts at 2 calls and
//                                             doubles (up to 64) for a page each time it is scored again
//                                             after such a discard, so pages that move in and out of
//                                             the segments, as training batches make them, settle on
//                                             zero-writes instead of paying faults over and over;
//   the unscored bytes of a page shared with a scored row -> zero-written.
// The page states only pick the method, never whether a byte is zeroed: whatever a caller did with
// a buffer while holding it, the next call's unscored bytes read as zero.
//
// Limits: at most kMaxIdle buffers wait for reuse (the least recently released beyond that are
// unmapped) and at most kMaxLive are handed out at once (acquire then returns nullptr and the caller
// allocates as before). IPO_GRAD_CACHE=0 in the environment turns the pool off. Linux only.
#ifndef IPO_CPU_GRAD_POOL_H
#define IPO_CPU_GRAD_POOL_H

#include <cstddef>
#include <cstdint>
#include <vector>

#include "cpu/pages.h"
#include "ipo.h"

namespace ipo {

constexpr size_t kMaxIdle = 2;
constexpr int kMinPatience = 2;       // zero-writes in a row before a page is discarded, at first
constexpr uint8_t kMaxPatienceStep = 5;  // ... and at most kMinPatience << 5 = 64
constexpr size_t kMaxLive = 4;

// A buffer of at least `bytes` (an idle one between bytes and 2 x bytes, else a new mapping), or nullptr.
void* grad_pool_acquire(size_t bytes);
// Gives a buffer from grad_pool_acquire back; any other pointer is ignored.
void grad_pool_release(void* buffer);
// Unmaps every idle buffer; returns the bytes released.
size_t grad_pool_trim();

// If `buffer` is a live pooled buffer of at least `bytes`: discards what it can of [buffer, buffer + bytes)
// outside `written` (sorted, disjoint ranges the caller is about to overwrite in full), faults in the
// pages of `written`, records all of it, fills `zero` with the rest of the bytes outside `written`, which
// the caller must zero-write (zero_ranges) before handing the buffer back, and returns true. Otherwise
// returns false and touches nothing.
bool grad_pool_prepare(void* buffer, size_t bytes, const std::vector<ByteRange>& written, int threads,
                       std::vector<ByteRange>* zero);

ipo_grad_cache_stats grad_pool_stats();

}  // namespace ipo

#endif
