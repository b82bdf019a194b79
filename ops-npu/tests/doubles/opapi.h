// What every op of libopapi.so shares: executor creation (first phase), the launch
// (second phase: queue on the stream; the work runs at synchronisation), the device-memory
// check each queued computation makes before it touches a tensor, and broadcasting.
// Build-time variants: FAKE_WORKSPACE (bytes every op asks for), FAKE_FAIL_OP (that op's
// first phase fails with 561003, as when its kernel package is missing).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "constraints.h"
#include "numeric.h"

constexpr int kNullptr = 161001;  // ACLNN_ERR_PARAM_NULLPTR
constexpr int kInvalid = 161002;  // ACLNN_ERR_PARAM_INVALID
constexpr int kNoKernel = 561003; // ACLNN_ERR_INNER_FIND_KERNEL_ERROR
constexpr int kNotModelled = 561000;  // ACLNN_ERR_INNER: documented, but not modelled here

// Creates the executor of `op`. `tensors` are copied now (as aclnn's executor keeps its
// own view of them; the caller may destroy descriptors once this returns) and each is
// checked to lie in live device memory when the computation runs.
aclnnStatus prepare(const char *op, std::vector<const aclTensor *> tensors,
                    std::function<int(const std::vector<aclTensor> &)> run, uint64_t *ws,
                    aclOpExecutor **ex);
aclnnStatus launch(void *workspace, uint64_t size, aclOpExecutor *ex, aclrtStream stream);

#define FAKE_LAUNCH(op)                                                         \
  EXPORT aclnnStatus op(void *w, uint64_t n, aclOpExecutor *e, aclrtStream s) { \
    return launch(w, n, e, s);                                                  \
  }

// Numpy broadcasting of two shapes; false when they do not broadcast.
bool broadcast_shapes(const std::vector<int64_t> &a, const std::vector<int64_t> &b,
                      std::vector<int64_t> &out);
// The same storage seen with `dims` (right-aligned; broadcast dimensions get stride 0).
aclTensor broadcast_to(const aclTensor &t, const std::vector<int64_t> &dims);

// Dtype promotion of two tensors (互推导关系 table 1) and of a tensor with a scalar (table
// 2), over the dtypes the double computes; -1 where the table has ×.
int promote(int a, int b);
int promote_scalar(int tensor, int scalar);
// 互转换关系: whether a result of type `from` may be written to an output of type `to`.
bool can_convert(int from, int to);

// Normalises a dim in [-rank, rank-1]; false when outside.
bool wrap_dim(int64_t &dim, int64_t rank);
