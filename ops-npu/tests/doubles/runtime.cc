// libascendcl.so of the double: init, devices bound per thread, device memory with a
// capacity, memcpy checks, streams that run their queued launches when synchronised,
// the recent-error text and every counter (see fake_types.h). Build-time variants:
//   FAKE_SOC="Ascend310P3"   aclrtGetSocName (default Ascend910B3)
//   FAKE_DEVICES=2           aclrtGetDeviceCount (default 1)
//   FAKE_MEMORY=<bytes>      capacity of each device (default 64 GiB); aclrtMalloc past it
//                            fails with ACL_ERROR_RT_MEMORY_ALLOCATION as on hardware
// At run time FAKE_ASCEND_REPORT=1 prints fake_report() at exit.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>

#include "fake_types.h"
#include "soc.h"

#ifndef FAKE_DEVICES
#define FAKE_DEVICES 1
#endif
#ifndef FAKE_MEMORY
#define FAKE_MEMORY 68719476736ULL
#endif

namespace {

// Status codes from acl/acl_base_rt.h and acl/error_codes/rt_error_codes.h.
constexpr aclError kInvalidParam = 100000;       // ACL_ERROR_INVALID_PARAM
constexpr aclError kUninitialized = 100001;      // ACL_ERROR_UNINITIALIZE
constexpr aclError kRepeatInit = 100002;         // ACL_ERROR_REPEAT_INITIALIZE
constexpr aclError kRtParamInvalid = 107000;     // ACL_ERROR_RT_PARAM_INVALID
constexpr aclError kRtInvalidDevice = 107001;    // ACL_ERROR_RT_INVALID_DEVICEID
constexpr aclError kRtContextNull = 107002;      // ACL_ERROR_RT_CONTEXT_NULL
constexpr aclError kRtOutOfMemory = 207001;      // ACL_ERROR_RT_MEMORY_ALLOCATION

struct Allocation {
  size_t bytes;
  int device;
};

struct Stream {
  int device;
  std::vector<std::pair<std::string, std::function<int()>>> pending;
};

struct State {
  std::recursive_mutex mu;
  bool init = false;
  std::map<uintptr_t, Allocation> allocs;
  uint64_t used[FAKE_DEVICES] = {};
  int set_count[FAKE_DEVICES] = {};
  Stream *default_stream[FAKE_DEVICES] = {};
};

State &state() {
  static State *s = new State();  // never destroyed: exit handlers may still report
  return *s;
}

std::atomic<int64_t> g_counters[FAKE_COUNTER_COUNT];
thread_local std::string t_error;
// ACL binds the current device (its default context) to the calling thread.
thread_local int t_device = -1;

aclError fail(aclError code, const std::string &msg) {
  t_error = "fake acl: " + msg;
  return code;
}

bool inside_locked(State &s, const void *p, uint64_t n) {
  auto a = reinterpret_cast<uintptr_t>(p);
  auto it = s.allocs.upper_bound(a);
  if (it == s.allocs.begin()) return false;
  --it;
  return a >= it->first && a + n <= it->first + it->second.bytes;
}

aclError need_device(const char *call) {
  if (!state().init) return fail(kUninitialized, std::string(call) + " before aclInit");
  if (t_device < 0)
    return fail(kRtContextNull,
                std::string(call) + ": no current device on this thread (call aclrtSetDevice)");
  return 0;
}

}  // namespace

static void print_report() {
  static const char *names[FAKE_COUNTER_COUNT] = {
      "launches", "synchronisations", "aclrtMalloc calls", "live allocations", "live bytes",
      "live tensors", "live scalars", "live int arrays", "live tensor lists", "live executors"};
  std::fprintf(stderr, "fake ascend report (%s):\n", FAKE_SOC);
  for (int i = 0; i < FAKE_COUNTER_COUNT; ++i)
    std::fprintf(stderr, "  %-18s %lld\n", names[i], static_cast<long long>(g_counters[i].load()));
}

static void report_at_exit() {
  const char *v = std::getenv("FAKE_ASCEND_REPORT");
  if (v && std::strcmp(v, "1") == 0) print_report();
}

EXPORT void fake_set_error(const char *msg) { t_error = msg; }
EXPORT void fake_count(int counter, int64_t delta) { g_counters[counter] += delta; }
EXPORT void fake_report() { print_report(); }
EXPORT bool fake_device_range(const void *p, uint64_t bytes) {
  State &s = state();
  std::lock_guard<std::recursive_mutex> lock(s.mu);
  return inside_locked(s, p, bytes);
}

// One function per counter, so a test can dlsym exactly what it asserts on.
#define FAKE_COUNTER_FN(fn, idx) \
  EXPORT int64_t fn() { return g_counters[idx].load(); }
FAKE_COUNTER_FN(fake_launches, FAKE_LAUNCHES)
FAKE_COUNTER_FN(fake_synchronizations, FAKE_SYNCS)
FAKE_COUNTER_FN(fake_mallocs, FAKE_MALLOCS)
FAKE_COUNTER_FN(fake_live_allocations, FAKE_LIVE_ALLOCS)
FAKE_COUNTER_FN(fake_live_bytes, FAKE_LIVE_BYTES)
FAKE_COUNTER_FN(fake_live_tensors, FAKE_LIVE_TENSORS)
FAKE_COUNTER_FN(fake_live_scalars, FAKE_LIVE_SCALARS)
FAKE_COUNTER_FN(fake_live_int_arrays, FAKE_LIVE_INT_ARRAYS)
FAKE_COUNTER_FN(fake_live_tensor_lists, FAKE_LIVE_TENSOR_LISTS)
FAKE_COUNTER_FN(fake_live_executors, FAKE_LIVE_EXECUTORS)
#undef FAKE_COUNTER_FN
// Every live nnopbase object of any kind: a test's "no leaked descriptors".
EXPORT int64_t fake_live_descriptors() {
  return g_counters[FAKE_LIVE_TENSORS] + g_counters[FAKE_LIVE_SCALARS] +
         g_counters[FAKE_LIVE_INT_ARRAYS] + g_counters[FAKE_LIVE_TENSOR_LISTS] +
         g_counters[FAKE_LIVE_EXECUTORS];
}

EXPORT aclError aclInit(const char *) {
  State &s = state();
  std::lock_guard<std::recursive_mutex> lock(s.mu);
  if (s.init) return fail(kRepeatInit, "aclInit called twice");
  s.init = true;
  std::atexit(report_at_exit);
  return 0;
}
EXPORT aclError aclFinalize() {
  state().init = false;
  return 0;
}
EXPORT aclError aclrtGetDeviceCount(uint32_t *count) {
  if (!count) return fail(kInvalidParam, "aclrtGetDeviceCount: null count");
  if (!state().init) return fail(kUninitialized, "aclrtGetDeviceCount before aclInit");
  *count = FAKE_DEVICES;
  return 0;
}
EXPORT aclError aclrtSetDevice(int32_t id) {
  if (!state().init) return fail(kUninitialized, "aclrtSetDevice before aclInit");
  if (id < 0 || id >= FAKE_DEVICES)
    return fail(kRtInvalidDevice, "aclrtSetDevice(" + std::to_string(id) + "): " +
                                      std::to_string(FAKE_DEVICES) + " device(s) exist");
  State &s = state();
  std::lock_guard<std::recursive_mutex> lock(s.mu);
  ++s.set_count[id];
  t_device = id;
  return 0;
}
// Releases one aclrtSetDevice of this process; the thread keeps no device afterwards.
EXPORT aclError aclrtResetDevice(int32_t id) {
  if (id < 0 || id >= FAKE_DEVICES)
    return fail(kRtInvalidDevice, "aclrtResetDevice(" + std::to_string(id) + ")");
  State &s = state();
  std::lock_guard<std::recursive_mutex> lock(s.mu);
  if (s.set_count[id] > 0) --s.set_count[id];
  if (t_device == id) t_device = -1;
  return 0;
}
EXPORT aclError aclrtGetDevice(int32_t *id) {
  if (!id) return fail(kInvalidParam, "aclrtGetDevice: null id");
  if (t_device < 0) return fail(kRtContextNull, "aclrtGetDevice: no current device on this thread");
  *id = t_device;
  return 0;
}
EXPORT const char *aclrtGetSocName() { return FAKE_SOC; }
// ACL_CANN_ATTR_BF16 (1): the A2/A3 and 950 parts compute bf16; ACL_CANN_ATTR_INF_NAN (0).
EXPORT aclError aclGetCannAttribute(int attr, int32_t *value) {
  if (!value) return fail(kInvalidParam, "aclGetCannAttribute: null value");
  if (attr == 1) {
    *value = (soc_family() & (FAM_A2A3 | FAM_950)) ? 1 : 0;
    return 0;
  }
  if (attr == 0) {
    *value = 1;
    return 0;
  }
  return fail(kInvalidParam, "aclGetCannAttribute: unknown attribute " + std::to_string(attr));
}
// Free and total bytes of the calling thread's device; 310P has no HBM and answers HBM
// queries with its DDR figures, so both attributes give the one memory here.
EXPORT aclError aclrtGetMemInfo(int attr, size_t *free_bytes, size_t *total) {
  if (aclError e = need_device("aclrtGetMemInfo")) return e;
  if (!free_bytes || !total) return fail(kInvalidParam, "aclrtGetMemInfo: null output");
  if (attr < 0 || attr > 5) return fail(kInvalidParam, "aclrtGetMemInfo: unknown attribute");
  State &s = state();
  std::lock_guard<std::recursive_mutex> lock(s.mu);
  *total = size_t(FAKE_MEMORY);
  *free_bytes = size_t(FAKE_MEMORY - s.used[t_device]);
  return 0;
}

EXPORT aclError aclrtMalloc(void **p, size_t size, aclrtMemMallocPolicy) {
  if (aclError e = need_device("aclrtMalloc")) return e;
  if (!p || size == 0) return fail(kInvalidParam, "aclrtMalloc: null pointer or zero size");
  State &s = state();
  std::lock_guard<std::recursive_mutex> lock(s.mu);
  g_counters[FAKE_MALLOCS] += 1;
  if (s.used[t_device] + size > FAKE_MEMORY)
    return fail(kRtOutOfMemory, "aclrtMalloc(" + std::to_string(size) + "): out of memory on device " +
                                    std::to_string(t_device) + " (" +
                                    std::to_string(FAKE_MEMORY - s.used[t_device]) + " bytes free)");
  // Device memory is not zeroed on hardware: fill it with a NaN pattern so a read of
  // memory nobody wrote shows up.
  // 64-byte aligned like the device allocator (aclCreateTensor wants 32-byte bases).
  *p = std::aligned_alloc(64, (size + 63) / 64 * 64);
  std::memset(*p, 0xFF, size);
  s.allocs[reinterpret_cast<uintptr_t>(*p)] = {size, t_device};
  s.used[t_device] += size;
  g_counters[FAKE_LIVE_ALLOCS] += 1;
  g_counters[FAKE_LIVE_BYTES] += int64_t(size);
  return 0;
}
EXPORT aclError aclrtFree(void *p) {
  State &s = state();
  std::lock_guard<std::recursive_mutex> lock(s.mu);
  auto it = s.allocs.find(reinterpret_cast<uintptr_t>(p));
  if (it == s.allocs.end())
    return fail(kRtParamInvalid, "aclrtFree of a pointer aclrtMalloc did not return (or freed twice)");
  // Poison (NaN) before freeing: a pending launch that still reads it shows up.
  std::memset(p, 0xFF, it->second.bytes);
  s.used[it->second.device] -= it->second.bytes;
  g_counters[FAKE_LIVE_ALLOCS] -= 1;
  g_counters[FAKE_LIVE_BYTES] -= int64_t(it->second.bytes);
  s.allocs.erase(it);
  std::free(p);
  return 0;
}
// Each kind names which side is device memory; a host pointer passed as device (or the
// reverse) is refused, as a real copy engine would fault.
EXPORT aclError aclrtMemcpy(void *dst, size_t max, const void *src, size_t n, aclrtMemcpyKind kind) {
  if (!dst || !src) return fail(kInvalidParam, "aclrtMemcpy: null pointer");
  if (n > max) return fail(kInvalidParam, "aclrtMemcpy: count exceeds destMax");
  State &s = state();
  std::lock_guard<std::recursive_mutex> lock(s.mu);
  const bool dst_dev = inside_locked(s, dst, n), src_dev = inside_locked(s, src, n);
  bool ok = false;
  switch (kind) {
    case ACL_MEMCPY_HOST_TO_HOST: ok = !dst_dev && !src_dev; break;
    case ACL_MEMCPY_HOST_TO_DEVICE: ok = dst_dev && !src_dev; break;
    case ACL_MEMCPY_DEVICE_TO_HOST: ok = !dst_dev && src_dev; break;
    case ACL_MEMCPY_DEVICE_TO_DEVICE: ok = dst_dev && src_dev; break;
    default: break;
  }
  if (!ok)
    return fail(kRtParamInvalid, "aclrtMemcpy kind " + std::to_string(int(kind)) +
                                     ": a range lies outside device memory or the kind is wrong");
  std::memmove(dst, src, n);
  return 0;
}

EXPORT aclError aclrtCreateStream(aclrtStream *out) {
  if (aclError e = need_device("aclrtCreateStream")) return e;
  if (!out) return fail(kInvalidParam, "aclrtCreateStream: null stream");
  *out = new Stream{t_device, {}};
  return 0;
}

namespace {
Stream *resolve_stream(aclrtStream s) {
  if (s) return static_cast<Stream *>(s);
  if (t_device < 0) return nullptr;
  State &st = state();
  std::lock_guard<std::recursive_mutex> lock(st.mu);
  if (!st.default_stream[t_device]) st.default_stream[t_device] = new Stream{t_device, {}};
  return st.default_stream[t_device];
}
}  // namespace

EXPORT int fake_enqueue(aclrtStream s, const char *name, std::function<int()> *work) {
  Stream *st = resolve_stream(s);
  if (!st) return fail(kRtContextNull, std::string(name) + ": default stream without a current device");
  // A stream belongs to its device's context: launching on it needs that device current
  // on the calling thread (aclrtSetDevice), or the work would run in the wrong context.
  if (st->device != t_device)
    return fail(kRtContextNull, std::string(name) + ": stream of device " + std::to_string(st->device) +
                                    " used from a thread whose current device is " + std::to_string(t_device));
  g_counters[FAKE_LAUNCHES] += 1;
  // FAKE_ASCEND_SKIP_MATH=1: launches are checked and counted but compute nothing, so a
  // full-size model can be measured for launches, synchronisations and memory (figures
  // that do not depend on the values) in reasonable time; outputs hold whatever the
  // memory held.
  static const bool skip_math = [] {
    const char *v = std::getenv("FAKE_ASCEND_SKIP_MATH");
    return v && std::strcmp(v, "1") == 0;
  }();
  if (!skip_math) st->pending.emplace_back(name, std::move(*work));
  return 0;
}

EXPORT aclError aclrtSynchronizeStream(aclrtStream s) {
  Stream *st = resolve_stream(s);
  if (!st) return fail(kRtContextNull, "aclrtSynchronizeStream(NULL) without a current device");
  g_counters[FAKE_SYNCS] += 1;
  int status = 0;
  auto pending = std::move(st->pending);
  st->pending.clear();
  for (auto &[name, run] : pending) {
    const int rc = run();
    if (rc != 0 && status == 0) status = rc;  // the first failure's text stays recent
  }
  return status;
}
EXPORT aclError aclrtSynchronizeDevice() { return aclrtSynchronizeStream(nullptr); }
// Work still queued on a destroyed stream never runs (as after a device reset).
EXPORT aclError aclrtDestroyStream(aclrtStream s) {
  if (!s) return fail(kInvalidParam, "aclrtDestroyStream: null stream");
  delete static_cast<Stream *>(s);
  return 0;
}
EXPORT const char *aclGetRecentErrMsg() { return t_error.c_str(); }
