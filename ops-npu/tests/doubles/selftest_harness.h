// Harness of the double's self-test driver (selftest.cc): loads a built double from its
// folder with dlopen, resolves the symbols with the `_fn` types of csrc/acl_api.h (the
// checked vendor prototypes), and gives device tensors, expectations and a failure count.
// Expected values in the tests are written by hand from each doc's formula.
#pragma once

#include <dlfcn.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "acl_api.h"

typedef aclError (*aclrtGetDeviceCount_fn)(uint32_t *);
typedef aclError (*aclrtResetDevice_fn)(int32_t);
typedef aclError (*aclrtGetMemInfo_fn)(int, size_t *, size_t *);
typedef int64_t (*counter_fn)();

struct Lib {
  void *acl = nullptr, *nn = nullptr, *op = nullptr;
  void *sym(const char *name) const {
    for (void *h : {op, nn, acl})
      if (h)
        if (void *p = dlsym(h, name)) return p;
    return nullptr;
  }
};

inline Lib g_lib;
inline int g_failures = 0;
inline int g_checks = 0;

template <class F>
F fn(const char *name) {
  void *p = g_lib.sym(name);
  if (!p) {
    std::fprintf(stderr, "FATAL: symbol %s missing\n", name);
    std::exit(2);
  }
  return reinterpret_cast<F>(p);
}
#define CALL(name) fn<name##_fn>(#name)

inline void check(bool ok, const std::string &what) {
  ++g_checks;
  if (!ok) {
    ++g_failures;
    std::fprintf(stderr, "FAIL: %s\n", what.c_str());
  }
}

inline std::string recent() {
  const char *m = CALL(aclGetRecentErrMsg)();
  return m ? m : "";
}

// A status and a recent-error text that names every `words` entry.
inline void expect_status(const std::string &what, int got, int want,
                          std::initializer_list<const char *> words = {}) {
  const std::string msg = recent();
  bool ok = got == want;
  for (const char *w : words) ok = ok && msg.find(w) != std::string::npos;
  check(ok, what + ": status " + std::to_string(got) + " (want " + std::to_string(want) + "), message \"" +
                msg + "\"");
}

inline void expect_close(const std::string &what, const std::vector<double> &got,
                         const std::vector<double> &want, double tol = 0) {
  bool ok = got.size() == want.size();
  for (size_t i = 0; ok && i < got.size(); ++i)
    ok = std::fabs(got[i] - want[i]) <= tol * std::max(1.0, std::fabs(want[i])) ||
         (std::isnan(got[i]) && std::isnan(want[i]));
  std::string s = what + ": got [";
  for (double g : got) s += std::to_string(g) + " ";
  s += "] want [";
  for (double w : want) s += std::to_string(w) + " ";
  check(ok, s + "]");
}

// Device memory with a host mirror of raw bytes.
struct Buf {
  void *dev = nullptr;
  size_t bytes = 0;
  explicit Buf(size_t n) : bytes(n) {
    int st = CALL(aclrtMalloc)(&dev, n, ACL_MEM_MALLOC_HUGE_FIRST);
    if (st) {
      std::fprintf(stderr, "FATAL: aclrtMalloc %d: %s\n", st, recent().c_str());
      std::exit(2);
    }
  }
  ~Buf() {
    if (dev) CALL(aclrtFree)(dev);
  }
  Buf(const Buf &) = delete;
  void upload(const void *host) { CALL(aclrtMemcpy)(dev, bytes, host, bytes, ACL_MEMCPY_HOST_TO_DEVICE); }
  template <class T>
  std::vector<T> download() const {
    std::vector<T> v(bytes / sizeof(T));
    CALL(aclrtMemcpy)(v.data(), bytes, dev, bytes, ACL_MEMCPY_DEVICE_TO_HOST);
    return v;
  }
};

// A device tensor: storage of `storage` elements, a view of `dims` (contiguous unless
// strides are given) at `offset`.
struct T {
  Buf buf;
  aclTensor *t = nullptr;
  aclDataType dtype;
  T(aclDataType d, int esize, std::vector<int64_t> dims, int64_t storage, const void *host,
    std::vector<int64_t> strides = {}, int64_t offset = 0, aclFormat fmt = ACL_FORMAT_ND)
      : buf(size_t(storage * esize)), dtype(d) {
    if (host) buf.upload(host);
    if (strides.empty()) {
      strides.assign(dims.size(), 1);
      for (size_t i = dims.size(); i-- > 1;) strides[i - 1] = strides[i] * dims[i];
    }
    t = CALL(aclCreateTensor)(dims.data(), dims.size(), d, strides.data(), offset, fmt, &storage, 1, buf.dev);
    if (!t) {
      std::fprintf(stderr, "FATAL: aclCreateTensor: %s\n", recent().c_str());
      std::exit(2);
    }
  }
  ~T() { CALL(aclDestroyTensor)(t); }
  T(const T &) = delete;
  std::vector<double> f32() const {
    auto v = buf.download<float>();
    return std::vector<double>(v.begin(), v.end());
  }
  std::vector<uint16_t> u16() const { return buf.download<uint16_t>(); }
};

inline T f32(std::vector<int64_t> dims, std::vector<float> v, aclFormat fmt = ACL_FORMAT_ND) {
  return T(ACL_FLOAT, 4, dims, int64_t(v.size()), v.data(), {}, 0, fmt);
}
inline T f32_zeros(std::vector<int64_t> dims, aclFormat fmt = ACL_FORMAT_ND) {
  int64_t n = 1;
  for (auto d : dims) n *= d;
  std::vector<float> z(size_t(n), 0.f);
  return T(ACL_FLOAT, 4, dims, n, z.data(), {}, 0, fmt);
}
// Raw 16-bit patterns (fp16 or bf16), written by hand in the tests.
inline T half(aclDataType d, std::vector<int64_t> dims, std::vector<uint16_t> bits, aclFormat fmt = ACL_FORMAT_ND) {
  return T(d, 2, dims, int64_t(bits.size()), bits.data(), {}, 0, fmt);
}

struct Scalar {
  aclScalar *s;
  template <class V>
  Scalar(V v, aclDataType d) : s(CALL(aclCreateScalar)(&v, d)) {}
  ~Scalar() { CALL(aclDestroyScalar)(s); }
};
struct IntArray {
  aclIntArray *a;
  IntArray(std::vector<int64_t> v) : a(CALL(aclCreateIntArray)(v.data(), v.size())) {}
  ~IntArray() { CALL(aclDestroyIntArray)(a); }
};

inline aclrtStream g_stream = nullptr;
// Second phase with a device workspace of the size asked for, then synchronise.
inline int run_op(const char *launch_name, int ws_status, uint64_t ws, aclOpExecutor *ex) {
  if (ws_status != 0) return ws_status;
  Buf w(ws ? ws : 1);
  auto launch = fn<aclnnAdd_fn>(launch_name);  // every launch shares this prototype
  int st = launch(w.dev, ws, ex, g_stream);
  if (st) return st;
  return CALL(aclrtSynchronizeStream)(g_stream);
}
// Runs an op's two phases: OP(name, args...) with workspaceSize/executor appended.
#define OP(name, ...)                                                                  \
  [&] {                                                                                \
    uint64_t ws_ = 0;                                                                  \
    aclOpExecutor *ex_ = nullptr;                                                      \
    int st_ = fn<name##GetWorkspaceSize_fn>(#name "GetWorkspaceSize")(__VA_ARGS__, &ws_, &ex_); \
    return run_op(#name, st_, ws_, ex_);                                               \
  }()
