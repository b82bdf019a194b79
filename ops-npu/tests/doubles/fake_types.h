// Descriptor types and the shared state interface of the test-double Ascend libraries.
// The three libraries (libascendcl.so, libnnopbase.so, libopapi.so) are built from the
// files in this folder; the state (allocations, counters, the error message) lives in
// libascendcl.so, which the other two are linked against, so it is one state whatever
// order a caller dlopens them in (the real libopapi also depends on the runtime).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "acl_api.h"

#define EXPORT extern "C" __attribute__((visibility("default")))

// Data types acl_api.h does not name (values from acl/acl_base.h).
enum : int {
  FAKE_UINT16 = 7,
  FAKE_UINT32 = 8,
  FAKE_UINT64 = 10,
  FAKE_COMPLEX64 = 16,
  FAKE_COMPLEX128 = 17,
};
// Formats acl_api.h does not name.
enum : int {
  FAKE_FORMAT_NC1HWC0 = 3,
  FAKE_FORMAT_HWCN = 16,
  FAKE_FORMAT_NDHWC = 27,
  FAKE_FORMAT_FRACTAL_NZ = 29,
  FAKE_FORMAT_NCDHW = 30,
  FAKE_FORMAT_NCL = 47,
};

// What aclCreateTensor recorded. Strides and offset count elements; `data` is the
// storage base, so element i of the view lives at data + (offset + sum idx*stride).
struct aclTensor {
  std::vector<int64_t> dims, strides, storage;
  int dtype = 0;
  int format = ACL_FORMAT_ND;
  int64_t offset = 0;
  void *data = nullptr;
  int64_t numel() const {
    int64_t n = 1;
    for (auto d : dims) n *= d;
    return n;
  }
  int64_t storage_numel() const {
    int64_t n = 1;
    for (auto d : storage) n *= d;
    return n;
  }
};
struct aclScalar {
  int dtype = 0;
  unsigned char bytes[16] = {};  // the value as aclCreateScalar copied it
};
struct aclIntArray {
  std::vector<int64_t> values;
};
struct aclTensorList {
  std::vector<aclTensor *> tensors;  // owned: destroying the list destroys them
};
// A prepared op: its name, workspace size and the computation, run at synchronisation.
struct aclOpExecutor {
  std::string name;
  uint64_t workspace = 0;
  bool repeatable = false;
  std::function<int()> run;
};

// The counters every part updates; fake_report() prints them.
enum FakeCounter : int {
  FAKE_LAUNCHES,
  FAKE_SYNCS,
  FAKE_MALLOCS,
  FAKE_LIVE_ALLOCS,
  FAKE_LIVE_BYTES,
  FAKE_LIVE_TENSORS,
  FAKE_LIVE_SCALARS,
  FAKE_LIVE_INT_ARRAYS,
  FAKE_LIVE_TENSOR_LISTS,
  FAKE_LIVE_EXECUTORS,
  FAKE_COUNTER_COUNT
};

// Exported by libascendcl.so.
EXPORT void fake_set_error(const char *msg);
EXPORT void fake_count(int counter, int64_t delta);
// Queues work on a stream (nullptr: the calling thread's device's default stream).
EXPORT int fake_enqueue(aclrtStream stream, const char *name, std::function<int()> *work);
// Whether [p, p + bytes) lies inside one live device allocation.
EXPORT bool fake_device_range(const void *p, uint64_t bytes);
