// A minimal fork-join over task indices. Threads pull indices from an atomic counter, so
// uneven tasks (the last query block, a short head) balance themselves.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <thread>
#include <vector>

namespace ops_npu {

template <class F>
void parallel_for(size_t tasks, size_t threads, F &&body) {
  threads = std::max<size_t>(1, std::min(threads, tasks));
  if (threads == 1) {
    for (size_t t = 0; t < tasks; ++t) body(t);
    return;
  }
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t t = next.fetch_add(1); t < tasks; t = next.fetch_add(1)) body(t);
  };
  std::vector<std::thread> pool;
  pool.reserve(threads - 1);
  // std::thread's constructor only throws when the system refuses a thread; the caller's
  // thread then does the remaining work alone rather than letting the exception escape.
  try {
    for (size_t i = 1; i < threads; ++i) pool.emplace_back(worker);
  } catch (...) {
  }
  worker();
  for (auto &t : pool) t.join();
}

// Rows per task so that each task carries roughly `grain` elements of work.
inline size_t rows_per_task(size_t rows, size_t row_len, size_t grain = 1 << 15) {
  return std::max<size_t>(1, std::min(rows, grain / std::max<size_t>(1, row_len)));
}

}  // namespace ops_npu
