// A fork-join over task indices on a persistent worker pool. Threads pull indices from an
// atomic counter, so uneven tasks (the last query block, a short head) balance themselves.
//
// Why not spawn threads per call: creating and joining a thread costs tens of
// microseconds, and on a busy machine the new thread may not run for a whole scheduler
// slice, while the caller waits in join(). Here workers are created once and sleep
// between jobs; the caller starts on the tasks at once and, at the end, waits only for
// the tasks a worker has actually taken. A worker that wakes after the last task has been
// taken leaves without touching the job.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <thread>
#include <vector>

namespace ops_npu {

namespace detail {

class WorkerPool {
 public:
  // The pool lives for the whole process and is never destroyed: workers may still be
  // asleep in wait() when static destructors run.
  static WorkerPool &instance() {
    static WorkerPool *pool = new WorkerPool;
    return *pool;
  }

  // Runs body(0..tasks) on the caller plus up to `helpers` workers. Returns false, having
  // run nothing, when another call holds the pool (the caller then runs the tasks itself).
  template <class F>
  bool run(size_t tasks, size_t helpers, F &body) {
    std::unique_lock<std::mutex> busy(busy_, std::try_to_lock);
    if (!busy.owns_lock()) return false;
    grow(helpers);
    Job job{tasks, &invoke<F>, &body};
    {
      std::lock_guard<std::mutex> lock(mu_);
      job_ = &job;
      wanted_ = std::min(helpers, workers_);
      generation_.fetch_add(1, std::memory_order_release);
    }
    wake_.notify_all();
    job.work();
    std::unique_lock<std::mutex> lock(mu_);
    job_ = nullptr;  // late workers now find nothing to join
    done_.wait(lock, [&] { return job.active == 0; });
    return true;
  }

 private:
  struct Job {
    size_t tasks;
    void (*call)(void *, size_t);
    void *body;
    std::atomic<size_t> next{0};
    size_t active = 0;  // workers inside work(); guarded by mu_

    void work() {
      for (size_t t = next.fetch_add(1); t < tasks; t = next.fetch_add(1)) call(body, t);
    }
  };

  template <class F>
  static void invoke(void *body, size_t t) {
    (*static_cast<F *>(body))(t);
  }

  void grow(size_t helpers) {
    // std::thread's constructor only throws when the system refuses a thread; the pool
    // then simply has fewer workers and the caller does more of the work.
    try {
      while (workers_ < helpers) {
        std::thread(&WorkerPool::loop, this).detach();
        ++workers_;
      }
    } catch (...) {
    }
  }

  // A worker polls for the next job this long before it sleeps: kernels come in bursts
  // (one per layer), and a sleeping thread takes tens of microseconds to wake, which is
  // the whole run time of a small attention call.
  static constexpr auto kSpin = std::chrono::microseconds(200);

  void spin_until_new_job(size_t seen) {
    const auto until = std::chrono::steady_clock::now() + kSpin;
    for (unsigned i = 1; generation_.load(std::memory_order_acquire) == seen; ++i) {
      if (i % 64 == 0 && std::chrono::steady_clock::now() > until) return;
      std::this_thread::yield();
    }
  }

  void loop() {
    size_t seen = 0;
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      lock.unlock();
      spin_until_new_job(seen);
      lock.lock();
      wake_.wait(lock, [&] { return generation_.load() != seen; });
      seen = generation_.load();
      if (!job_ || wanted_ == 0) continue;
      --wanted_;
      Job *job = job_;
      ++job->active;
      lock.unlock();
      job->work();
      lock.lock();
      if (--job->active == 0) done_.notify_all();
    }
  }

  std::mutex busy_;  // one job at a time
  std::mutex mu_;
  std::condition_variable wake_, done_;
  Job *job_ = nullptr;
  size_t wanted_ = 0;
  size_t workers_ = 0;
  std::atomic<size_t> generation_{0};  // written under mu_, polled without it
};

}  // namespace detail

template <class F>
void parallel_for(size_t tasks, size_t threads, F &&body) {
  threads = std::max<size_t>(1, std::min(threads, tasks));
  if (threads > 1 && detail::WorkerPool::instance().run(tasks, threads - 1, body)) return;
  // One thread asked for, or the pool is serving another call (a nested or concurrent
  // kernel): run inline rather than wait.
  for (size_t t = 0; t < tasks; ++t) body(t);
}

// Rows per task so that each task carries roughly `grain` elements of work.
inline size_t rows_per_task(size_t rows, size_t row_len, size_t grain = 1 << 15) {
  return std::max<size_t>(1, std::min(rows, grain / std::max<size_t>(1, row_len)));
}

}  // namespace ops_npu
