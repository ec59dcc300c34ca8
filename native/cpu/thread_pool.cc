#include "cpu/thread_pool.h"

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__linux__)
#include <sched.h>
#endif

namespace ipo {
namespace {

class Pool {
 public:
  ~Pool() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
      ++generation_;
    }
    wake_.notify_all();
    for (auto& t : workers_) t.join();
  }

  void run(int64_t tasks, int threads, const std::function<void(int64_t)>& task) {
    std::lock_guard<std::mutex> job_lock(job_mutex_);
    const int helpers = threads - 1;
    ensure_workers(helpers);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      task_ = &task;
      tasks_ = tasks;
      next_.store(0, std::memory_order_relaxed);
      participants_ = helpers;
      pending_ = helpers;
      ++generation_;
    }
    wake_.notify_all();
    work();
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [&] { return pending_ == 0; });
    task_ = nullptr;
  }

 private:
  void ensure_workers(int n) {
    while ((int)workers_.size() < n) {
      const int index = (int)workers_.size();
      workers_.emplace_back([this, index] { loop(index); });
    }
  }

  void work() {
    for (;;) {
      const int64_t i = next_.fetch_add(1, std::memory_order_relaxed);
      if (i >= tasks_) return;
      (*task_)(i);
    }
  }

  void loop(int index) {
    uint64_t seen = 0;
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] { return generation_ != seen; });
        seen = generation_;
        if (stopping_) return;
        if (index >= participants_) continue;
      }
      work();
      {
        std::lock_guard<std::mutex> lock(mutex_);
        --pending_;
      }
      done_.notify_one();
    }
  }

  std::mutex job_mutex_;  // one job at a time
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  std::vector<std::thread> workers_;
  const std::function<void(int64_t)>* task_ = nullptr;
  int64_t tasks_ = 0;
  std::atomic<int64_t> next_{0};
  int participants_ = 0;
  int pending_ = 0;
  uint64_t generation_ = 0;
  bool stopping_ = false;
};

Pool& pool() {
  // Leaked on purpose: joining threads from a static destructor at process exit can deadlock when
  // the runtime has already torn down other threads (Node's worker shutdown).
  static Pool* p = new Pool();
  return *p;
}

}  // namespace

int available_cores() {
#if defined(__linux__)
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    const int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
#endif
  const unsigned n = std::thread::hardware_concurrency();
  return n > 0 ? (int)n : 1;
}

void parallel_for(int64_t tasks, int threads, const std::function<void(int64_t)>& task) {
  if (tasks <= 0) return;
  if (threads <= 0) threads = available_cores();
  if (threads > 256) threads = 256;
  if ((int64_t)threads > tasks) threads = (int)tasks;
  if (threads <= 1) {
    for (int64_t i = 0; i < tasks; ++i) task(i);
    return;
  }
  pool().run(tasks, threads, task);
}

}  // namespace ipo
