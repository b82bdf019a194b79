// A stream-ordered caching allocator for device memory, as torch_npu's and ggml-cann's
// pools work: work on one stream runs in launch order, so a block freed on its stream can
// serve the next allocation on that stream at once, even while launches that used it are
// still queued. Device memory goes back to the runtime only on empty_cache, when a stream
// is destroyed, or to retry an allocation that ran out of memory.
//
// Multi-stream rule: a block belongs to the stream it was allocated on and returns to that
// stream's cache. A caller that uses a block on another stream must keep it alive until
// that stream is synchronised (the Rust NpuStream does this, as torch's record_stream).
// Caches are per stream, hence per device: blocks never move between devices.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>

#include "acl_api.h"

namespace ops_npu {
namespace npu {

class Runtime;

struct PoolStats {
  uint64_t allocated = 0;       // bytes in blocks handed out
  uint64_t reserved = 0;        // allocated + cached, i.e. what aclrtMalloc holds
  uint64_t peak_allocated = 0;
  uint64_t peak_reserved = 0;
  uint64_t device_mallocs = 0;  // aclrtMalloc calls
  uint64_t device_frees = 0;    // aclrtFree calls
  uint64_t cache_hits = 0;      // allocations served from a cache
};

class DevicePool {
 public:
  // Blocks are multiples of this; small requests share a size class.
  static constexpr uint64_t kGranule = 512;

  void *allocate(Runtime &rt, aclrtStream stream, uint64_t bytes);
  // Returns a block to its stream's cache (or frees it if its stream is gone).
  void release(Runtime &rt, void *ptr);
  // Synchronises `stream` and frees its cached blocks.
  void empty_cache(Runtime &rt, aclrtStream stream);
  // empty_cache for every stream with cached blocks; returns the bytes given back.
  uint64_t empty_all(Runtime &rt);
  // Called after `stream` was synchronised, before it is destroyed.
  void forget_stream(Runtime &rt, aclrtStream stream);
  PoolStats stats();
  // Restarts the peaks from the current figures (torch's reset_peak_memory_stats).
  void reset_peaks();
  // Bytes cached (free) for one stream.
  uint64_t cached(aclrtStream stream);

 private:
  struct Block {
    uint64_t size;
    aclrtStream stream;  // nullptr once its stream is destroyed
  };
  void *take_cached(aclrtStream stream, uint64_t size);
  void note_allocated(uint64_t size);

  std::mutex mu_;
  std::map<void *, Block> live_;
  std::map<aclrtStream, std::multimap<uint64_t, void *>> cache_;
  PoolStats stats_;
};

}  // namespace npu
}  // namespace ops_npu
