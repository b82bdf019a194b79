#include "npu_pool.h"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

#include "npu_runtime.h"

namespace ops_npu {
namespace npu {

namespace {

uint64_t round_up(uint64_t bytes) {
  const uint64_t g = DevicePool::kGranule;
  return bytes == 0 ? g : (bytes + g - 1) / g * g;
}

// A cached block serves a request only if it wastes at most half of itself (or 1 MiB for
// small requests): a huge block kept for a tiny tensor would pin memory the next large
// request needs.
bool fits(uint64_t block, uint64_t request) {
  return block >= request && block <= std::max(request * 2, request + (uint64_t(1) << 20));
}

}  // namespace

void *DevicePool::take_cached(aclrtStream stream, uint64_t size) {
  auto c = cache_.find(stream);
  if (c == cache_.end()) return nullptr;
  auto it = c->second.lower_bound(size);
  if (it == c->second.end() || !fits(it->first, size)) return nullptr;
  void *p = it->second;
  live_[p] = Block{it->first, stream};
  stats_.cache_hits++;
  note_allocated(it->first);
  c->second.erase(it);
  return p;
}

void DevicePool::note_allocated(uint64_t size) {
  stats_.allocated += size;
  stats_.peak_allocated = std::max(stats_.peak_allocated, stats_.allocated);
  stats_.peak_reserved = std::max(stats_.peak_reserved, stats_.reserved);
}

void *DevicePool::allocate(Runtime &rt, aclrtStream stream, uint64_t bytes) {
  const uint64_t size = round_up(bytes);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (void *p = take_cached(stream, size)) return p;
  }
  void *p = rt.try_malloc_device(size);
  if (!p) {
    // Out of memory: give this stream's cache back to the runtime and try once more, as
    // torch's allocator does before it reports OOM.
    empty_cache(rt, stream);
    p = rt.try_malloc_device(size);
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (!p) {
    throw std::runtime_error(
        "out of device memory: " + std::to_string(size) + " bytes requested with " +
        std::to_string(stats_.allocated) + " allocated and " + std::to_string(stats_.reserved) +
        " reserved by ops-npu (" + rt.last_error() + ")");
  }
  stats_.device_mallocs++;
  stats_.reserved += size;
  live_[p] = Block{size, stream};
  note_allocated(size);
  return p;
}

void DevicePool::release(Runtime &rt, void *ptr) {
  if (!ptr) return;
  bool free_now = false;
  uint64_t size = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = live_.find(ptr);
    if (it == live_.end()) return;  // not ours: nothing to do, never a double free
    size = it->second.size;
    stats_.allocated -= size;
    if (it->second.stream) {
      cache_[it->second.stream].emplace(size, ptr);
    } else {
      free_now = true;
      stats_.reserved -= size;
      stats_.device_frees++;
    }
    live_.erase(it);
  }
  if (free_now) rt.free_device(ptr);
}

void DevicePool::empty_cache(Runtime &rt, aclrtStream stream) {
  // Queued launches may still read cached blocks: finish them first.
  rt.sync(stream);
  std::multimap<uint64_t, void *> blocks;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto c = cache_.find(stream);
    if (c == cache_.end()) return;
    blocks.swap(c->second);
    cache_.erase(c);
    for (auto &[size, p] : blocks) {
      stats_.reserved -= size;
      stats_.device_frees++;
    }
  }
  for (auto &[size, p] : blocks) rt.free_device(p);
}

uint64_t DevicePool::empty_all(Runtime &rt) {
  std::vector<aclrtStream> streams;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto &[s, blocks] : cache_) streams.push_back(s);
  }
  const uint64_t before = stats().reserved;
  for (aclrtStream s : streams) empty_cache(rt, s);
  return before - stats().reserved;
}

void DevicePool::forget_stream(Runtime &rt, aclrtStream stream) {
  std::vector<void *> to_free;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto c = cache_.find(stream);
    if (c != cache_.end()) {
      for (auto &[size, p] : c->second) {
        to_free.push_back(p);
        stats_.reserved -= size;
        stats_.device_frees++;
      }
      cache_.erase(c);
    }
    // Blocks still in use outlive their stream; they are freed when released.
    for (auto &[p, b] : live_)
      if (b.stream == stream) b.stream = nullptr;
  }
  for (void *p : to_free) rt.free_device(p);
}

PoolStats DevicePool::stats() {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

void DevicePool::reset_peaks() {
  std::lock_guard<std::mutex> lock(mu_);
  stats_.peak_allocated = stats_.allocated;
  stats_.peak_reserved = stats_.reserved;
}

uint64_t DevicePool::cached(aclrtStream stream) {
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t n = 0;
  auto c = cache_.find(stream);
  if (c != cache_.end())
    for (auto &[size, p] : c->second) n += size;
  return n;
}

}  // namespace npu
}  // namespace ops_npu
