#include "opapi.h"

#include <cstring>

#ifndef FAKE_WORKSPACE
#define FAKE_WORKSPACE 65536
#endif
#ifndef FAKE_FAIL_OP
#define FAKE_FAIL_OP ""
#endif

namespace {
constexpr int kAicoreException = 507015;  // ACL_ERROR_RT_AICORE_EXCEPTION

// A kernel touching memory aclrtMalloc did not hand out (or that was freed since) faults
// on hardware; here the synchronisation reports it instead of reading freed memory.
int check_memory(const std::string &op, const std::vector<aclTensor> &ts) {
  for (size_t i = 0; i < ts.size(); ++i) {
    const aclTensor &t = ts[i];
    if (t.numel() == 0) continue;
    const int size = t.dtype == ACL_BOOL ? 1 : dtype_size(t.dtype);
    const uint64_t bytes = uint64_t(t.storage_numel()) * uint64_t(size);
    if (!t.data || !fake_device_range(t.data, bytes)) {
      fake_set_error(("fake aclnn: " + op + ": tensor argument " + std::to_string(i) +
                      " is not in live device memory (freed, host memory, or storage larger "
                      "than its allocation)")
                         .c_str());
      return kAicoreException;
    }
    if (reinterpret_cast<uintptr_t>(t.data) % 32 != 0) {
      fake_set_error(("fake aclnn: " + op + ": tensor argument " + std::to_string(i) +
                      " has a base address that is not 32-byte aligned (aclCreateTensor "
                      "requires it; use the offset argument for views)")
                         .c_str());
      return kAicoreException;
    }
  }
  return 0;
}
}  // namespace

aclnnStatus prepare(const char *op, std::vector<const aclTensor *> tensors,
                    std::function<int(const std::vector<aclTensor> &)> run, uint64_t *ws,
                    aclOpExecutor **ex) {
  if (!ws || !ex) return fail(kNullptr, op, "null workspaceSize or executor");
  if (std::strcmp(op, FAKE_FAIL_OP) == 0)
    return fail(kNoKernel, op, std::string("kernel binary not found for ") + FAKE_SOC);
  std::vector<aclTensor> copies;
  for (const aclTensor *t : tensors)
    if (t) copies.push_back(*t);
  const std::string name = op;
  *ws = FAKE_WORKSPACE;
  *ex = new aclOpExecutor{name, FAKE_WORKSPACE, false, [name, copies, run] {
                            if (int st = check_memory(name, copies)) return st;
                            return run(copies);
                          }};
  fake_count(FAKE_LIVE_EXECUTORS, 1);
  return 0;
}

aclnnStatus launch(void *workspace, uint64_t size, aclOpExecutor *ex, aclrtStream stream) {
  if (!ex) return fail(kNullptr, "launch", "null executor");
  const std::string name = ex->name;
  auto consume = [&] {
    if (!ex->repeatable) {
      fake_count(FAKE_LIVE_EXECUTORS, -1);
      delete ex;
    }
  };
  if (ex->workspace > 0 && (size < ex->workspace || !fake_device_range(workspace, ex->workspace))) {
    consume();
    return fail(kInvalid, name,
                "workspace missing, smaller than GetWorkspaceSize asked for, or not device memory");
  }
  // A repeatable executor keeps its computation; a one-shot one hands it over.
  std::function<int()> work = ex->repeatable ? ex->run : std::move(ex->run);
  consume();
  return fake_enqueue(stream, name.c_str(), &work);
}

bool broadcast_shapes(const std::vector<int64_t> &a, const std::vector<int64_t> &b,
                      std::vector<int64_t> &out) {
  const size_t r = std::max(a.size(), b.size());
  out.assign(r, 1);
  for (size_t i = 0; i < r; ++i) {
    const int64_t x = i < r - a.size() ? 1 : a[i - (r - a.size())];
    const int64_t y = i < r - b.size() ? 1 : b[i - (r - b.size())];
    if (x != y && x != 1 && y != 1) return false;
    out[i] = x == 1 ? y : x;
  }
  return true;
}

aclTensor broadcast_to(const aclTensor &t, const std::vector<int64_t> &dims) {
  aclTensor v = t;
  v.dims = dims;
  v.strides.assign(dims.size(), 0);
  const size_t lead = dims.size() - t.dims.size();
  for (size_t i = 0; i < t.dims.size(); ++i)
    v.strides[lead + i] = t.dims[i] == 1 ? 0 : t.strides[i];
  return v;
}

namespace {
// Rank of a dtype on the promotion ladder bool < integers < floating; the tables of
// 互推导关系 agree with this ordering for the types below.
int category(int d) {
  if (d == ACL_BOOL) return 0;
  if (is_integral(d)) return 1;
  if (is_floating(d)) return 2;
  return 3;  // complex and unknown: not modelled
}
}  // namespace

// Table 1 of 互推导关系 for the real types (u16/u32/u64 only promote with themselves).
int promote(int a, int b) {
  if (a == b) return a;
  const int ca = category(a), cb = category(b);
  if (ca == 3 || cb == 3) return -1;
  const bool wide_unsigned_a = a == FAKE_UINT16 || a == FAKE_UINT32 || a == FAKE_UINT64;
  const bool wide_unsigned_b = b == FAKE_UINT16 || b == FAKE_UINT32 || b == FAKE_UINT64;
  if (wide_unsigned_a || wide_unsigned_b) return -1;
  if (ca != cb) return ca > cb ? a : b;
  if (ca == 2) {
    if (a == ACL_DOUBLE || b == ACL_DOUBLE) return ACL_DOUBLE;
    return ACL_FLOAT;  // f16+f32, bf16+f32, f16+bf16 all give f32
  }
  // Integers: s8 < s16 < s32 < s64; u8 with s8 gives s16.
  auto width = [](int d) {
    switch (d) {
      case ACL_INT8: case ACL_UINT8: return 1;
      case ACL_INT16: return 2;
      case ACL_INT32: return 4;
      default: return 8;
    }
  };
  if ((a == ACL_UINT8 && b == ACL_INT8) || (a == ACL_INT8 && b == ACL_UINT8)) return ACL_INT16;
  return width(a) >= width(b) ? a : b;
}

// Table 2: a floating scalar never widens a floating tensor (f16 tensor * f32 scalar is
// f16), an integer scalar with a floating tensor keeps the tensor's type, a floating
// scalar with an integer or bool tensor gives f32, and integer scalars adopt the
// tensor's integer type.
int promote_scalar(int tensor, int scalar) {
  const int ct = category(tensor), cs = category(scalar);
  if (ct == 3 || cs == 3) return -1;
  if (ct == 2) return tensor;
  if (cs == 2) return ACL_FLOAT;
  if (ct == 1) return tensor;
  return scalar;  // bool tensor with an integer or bool scalar
}

bool can_convert(int from, int to) {
  const int cf = category(from), ct = category(to);
  if (cf == 3 || ct == 3) return false;
  if (ct == 0) return cf == 0;  // only bool converts to bool
  return true;
}

bool wrap_dim(int64_t &dim, int64_t rank) {
  const int64_t r = rank == 0 ? 1 : rank;
  if (dim < -r || dim >= r) return false;
  if (dim < 0) dim += r;
  return true;
}
