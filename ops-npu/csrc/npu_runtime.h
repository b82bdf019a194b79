// The NPU runtime: opens the ACL runtime, nnopbase and the aclnn op libraries with dlopen
// (once per process), resolves every symbol of acl_api.h optionally, and runs two-phase
// aclnn calls on a stream with a workspace from a per-stream pool. Errors are thrown as
// std::runtime_error carrying the failing function, its status and the runtime's own
// message; the cxx bridge turns them into Rust errors.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "acl_api.h"
#include "npu_pool.h"

namespace ops_npu {
namespace npu {

struct Api {
#define OPS_NPU_FIELD(name) name##_fn name = nullptr;
  OPS_NPU_ACL_SYMBOLS(OPS_NPU_FIELD)
  OPS_NPU_NNOPBASE_SYMBOLS(OPS_NPU_FIELD)
  OPS_NPU_OP_SYMBOLS(OPS_NPU_FIELD)
#undef OPS_NPU_FIELD
};

// A device tensor as the caller describes it: a view (dims, element strides, element
// offset) into a storage block of `storage` elements at `data`, as aclCreateTensor takes it.
struct TensorArg {
  void *data = nullptr;
  int32_t dtype = 0;
  int32_t format = ACL_FORMAT_ND;
  int64_t offset = 0;
  int64_t storage = 0;  // 0: just what the view reaches
  std::vector<int64_t> dims;
  std::vector<int64_t> strides;
  bool present() const { return data != nullptr; }
};

// aclCreateTensor for a TensorArg (nullptr when absent); throws when the runtime refuses.
aclTensor *create_tensor(const Runtime &rt, const TensorArg &t);

class Runtime {
 public:
  // The process-wide runtime. The first successful open() fixes the libraries; later
  // calls return at once (ACL allows one aclInit per process, and its libraries are
  // never unloaded: the runtime keeps threads and exit handlers inside them).
  static Runtime &get();

  void open(const std::vector<std::string> &libraries, int32_t device);
  // Makes `device` the calling thread's current device (aclrtSetDevice is per thread).
  void bind_device(int32_t device);
  bool is_open() const { return open_; }
  const Api &api() const { return api_; }
  std::vector<std::string> loaded() const { return loaded_; }
  std::vector<std::string> missing() const;
  bool has(const std::string &symbol) const;
  std::string soc_name() const;

  // aclrtMalloc; nullptr when it fails (last_error() then says why).
  void *try_malloc_device(size_t bytes);
  void free_device(void *ptr);
  std::string last_error() const;
  DevicePool &pool() { return pool_; }
  void upload(void *dst, const void *src, size_t bytes);
  void download(void *dst, const void *src, size_t bytes);
  aclrtStream create_stream();
  void sync(aclrtStream stream);
  void destroy_stream(aclrtStream stream);

  // Workspace of at least `bytes` for the next launch on `stream`, from the caching pool.
  // It goes back right after the launch: work on one stream runs in order, so the next
  // launch cannot start before the previous one is done with the block.
  void *take_workspace(aclrtStream stream, uint64_t bytes);
  void give_workspace(void *ptr);

  // Throws the error text for a failed call.
  [[noreturn]] void fail(const std::string &function, int64_t status) const;
  void check(const char *function, int64_t status) const {
    if (status != 0) fail(function, status);
  }
  void require(const char *symbol, const void *fn) const;

 private:
  Runtime() = default;
  mutable std::mutex mu_;
  std::string last_error_;
  bool open_ = false;
  Api api_;
  std::vector<std::string> loaded_;
  DevicePool pool_;
};

// Ops. Each builds its descriptors, asks for the workspace size, takes a workspace and
// launches on `stream`; descriptors are destroyed on every path, errors included.
void rms_norm(aclrtStream s, const TensorArg &x, const TensorArg &gamma, double eps,
              const TensorArg &y, const TensorArg &rstd);
void layer_norm(aclrtStream s, const TensorArg &x, const std::vector<int64_t> &normalized,
                const TensorArg &weight, const TensorArg &bias, double eps, const TensorArg &out);
void ada_layer_norm(aclrtStream s, const TensorArg &x, const TensorArg &scale,
                    const TensorArg &shift, double eps, const TensorArg &out);
void group_norm(aclrtStream s, const TensorArg &x, const TensorArg &gamma, const TensorArg &beta,
                int64_t n, int64_t c, int64_t hw, int64_t groups, double eps,
                const TensorArg &out, const TensorArg &mean, const TensorArg &rstd);
// aclnnGroupNormSilu: groups from x's second dimension; mean/rstd [N, groups].
void group_norm_silu(aclrtStream s, const TensorArg &x, const TensorArg &gamma,
                     const TensorArg &beta, int64_t groups, double eps, const TensorArg &out,
                     const TensorArg &mean, const TensorArg &rstd);
void silu(aclrtStream s, const TensorArg &x, const TensorArg &out);
void geglu(aclrtStream s, const TensorArg &x, int64_t approximate, const TensorArg &out,
           const TensorArg &out_gelu);
void swiglu(aclrtStream s, const TensorArg &x, const TensorArg &out);
void rope(aclrtStream s, const TensorArg &x, const TensorArg &cos, const TensorArg &sin,
          int64_t mode, const TensorArg &out);
void matmul(aclrtStream s, const TensorArg &a, const TensorArg &b, const TensorArg &out,
            int8_t cube_math_type);

enum class AttentionOp { FusedInferV2 = 0, PromptFlash = 1, FlashScore = 2 };
// mask: ACL_BOOL/UINT8, 1 = masked (aclnn's convention). lse: FusedInferV2 only.
void attention(aclrtStream s, AttentionOp op, const TensorArg &q, const TensorArg &k,
               const TensorArg &v, const TensorArg &bias, const TensorArg &mask,
               int64_t heads, int64_t kv_heads, double scale, const std::string &layout,
               const TensorArg &out, const TensorArg &lse);

}  // namespace npu
}  // namespace ops_npu
