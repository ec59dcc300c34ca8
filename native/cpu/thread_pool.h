// A persistent pool for row-parallel work. One job at a time (callers are serialised), the calling
// thread takes part, tasks are handed out by an atomic counter so uneven rows balance themselves.
#ifndef IPO_CPU_THREAD_POOL_H
#define IPO_CPU_THREAD_POOL_H

#include <cstdint>
#include <functional>

namespace ipo {

// Cores this process may run on (affinity mask), at least 1.
int available_cores();

// Runs task(i) for i in [0, tasks) on min(threads, tasks) threads (threads <= 0: all cores) and
// returns when all are done. task must not throw.
void parallel_for(int64_t tasks, int threads, const std::function<void(int64_t)>& task);

}  // namespace ipo

#endif
