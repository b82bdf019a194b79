#include "npu_runtime.h"

#include <dlfcn.h>

#include <algorithm>
#include <stdexcept>
#include <utility>

namespace ops_npu {
namespace npu {

namespace {

// Status codes with a documented meaning (reference/acl.md).
const char *status_meaning(int64_t status) {
  switch (status) {
    case 161001: return "null argument";
    case 161002: return "invalid argument";
    case 361001: return "runtime error";
    case 561003: return "kernel binary not installed";
    case 100002: return "repeated initialisation";
    default: return nullptr;
  }
}

// Owners of nnopbase objects: destroyed when the op function leaves, whichever way.
class Tensor {
 public:
  Tensor(const Runtime &rt, const TensorArg &t) : rt_(rt), ptr_(create_tensor(rt, t)) {}
  ~Tensor() {
    if (ptr_) rt_.api().aclDestroyTensor(ptr_);
  }
  Tensor(const Tensor &) = delete;
  Tensor &operator=(const Tensor &) = delete;
  aclTensor *get() const { return ptr_; }

 private:
  const Runtime &rt_;
  aclTensor *ptr_ = nullptr;
};

class IntArray {
 public:
  IntArray(const Runtime &rt, const std::vector<int64_t> &v) : rt_(rt) {
    ptr_ = rt.api().aclCreateIntArray(v.data(), v.size());
    if (!ptr_) throw std::runtime_error("aclCreateIntArray returned null");
  }
  ~IntArray() { rt_.api().aclDestroyIntArray(ptr_); }
  IntArray(const IntArray &) = delete;
  IntArray &operator=(const IntArray &) = delete;
  aclIntArray *get() const { return ptr_; }

 private:
  const Runtime &rt_;
  aclIntArray *ptr_ = nullptr;
};

class TensorList {
 public:
  TensorList(const Runtime &rt, const aclTensor *t) : rt_(rt) {
    ptr_ = rt.api().aclCreateTensorList(&t, 1);
    if (!ptr_) throw std::runtime_error("aclCreateTensorList returned null");
  }
  // The list owns its tensors: destroying it destroys them (nnopbase's contract), so the
  // tensor put into it must be released from its own owner first.
  ~TensorList() { rt_.api().aclDestroyTensorList(ptr_); }
  TensorList(const TensorList &) = delete;
  TensorList &operator=(const TensorList &) = delete;
  aclTensorList *get() const { return ptr_; }

 private:
  const Runtime &rt_;
  aclTensorList *ptr_ = nullptr;
};

// A raw tensor handed to a TensorList (which destroys it).
aclTensor *make_owned_by_list(const Runtime &rt, const TensorArg &t) { return create_tensor(rt, t); }

// Phase two of an aclnn call: workspace from the pool, launch, workspace back.
template <class Launch>
void launch(Runtime &rt, const char *name, Launch fn, aclrtStream s, uint64_t ws,
            aclOpExecutor *ex) {
  rt.require(name, reinterpret_cast<const void *>(fn));
  void *buf = rt.take_workspace(s, ws);
  const aclnnStatus st = fn(buf, ws, ex, s);
  rt.give_workspace(buf);
  rt.check(name, st);
}

#define OPS_NPU_NEED(rt, sym) (rt).require(#sym, reinterpret_cast<const void *>((rt).api().sym))

}  // namespace

aclTensor *create_tensor(const Runtime &rt, const TensorArg &t) {
  if (!t.present()) return nullptr;
  if (t.dims.size() != t.strides.size())
    throw std::invalid_argument("tensor descriptor: dims and strides differ in length");
  // Storage must cover the furthest element the view reaches.
  int64_t reach = t.offset + 1;
  for (size_t i = 0; i < t.dims.size(); ++i) {
    if (t.dims[i] == 0) reach = 0;
    if (reach > 0) reach += (t.dims[i] - 1) * t.strides[i];
  }
  const int64_t storage = std::max<int64_t>(t.storage, reach);
  aclTensor *p = rt.api().aclCreateTensor(t.dims.data(), t.dims.size(),
                                          static_cast<aclDataType>(t.dtype), t.strides.data(),
                                          t.offset, static_cast<aclFormat>(t.format), &storage, 1,
                                          t.data);
  if (!p) {
    std::string why = "aclCreateTensor returned null";
    if (rt.api().aclGetRecentErrMsg) {
      const char *m = rt.api().aclGetRecentErrMsg();
      if (m && *m) why += std::string(": ") + m;
    }
    throw std::runtime_error(why);
  }
  return p;
}

Runtime &Runtime::get() {
  static Runtime *rt = new Runtime();  // never destroyed: see the class comment
  return *rt;
}

void Runtime::open(const std::vector<std::string> &libraries, int32_t device) {
  std::lock_guard<std::mutex> lock(mu_);
  if (open_) return;
  std::vector<void *> handles;
  std::string tried;
  for (const auto &path : libraries) {
    void *h = dlopen(path.c_str(), RTLD_NOW | RTLD_GLOBAL);
    if (h) {
      handles.push_back(h);
      loaded_.push_back(path);
    } else {
      const char *why = dlerror();
      tried += "\n  " + path + ": " + (why ? why : "not loadable");
    }
  }
  // Every symbol is optional here; callers check the ones they need, so a CANN without
  // some op still runs the others. First library that has a symbol wins.
  auto resolve = [&](const char *name) -> void * {
    for (void *h : handles)
      if (void *p = dlsym(h, name)) return p;
    return nullptr;
  };
#define OPS_NPU_RESOLVE(name) api_.name = reinterpret_cast<name##_fn>(resolve(#name));
  OPS_NPU_ACL_SYMBOLS(OPS_NPU_RESOLVE)
  OPS_NPU_NNOPBASE_SYMBOLS(OPS_NPU_RESOLVE)
  OPS_NPU_OP_SYMBOLS(OPS_NPU_RESOLVE)
#undef OPS_NPU_RESOLVE
  if (!api_.aclInit || !api_.aclrtSetDevice || !api_.aclrtMalloc || !api_.aclrtMemcpy ||
      !api_.aclCreateTensor || !api_.aclDestroyTensor) {
    std::string have;
    for (const auto &l : loaded_) have += "\n  loaded " + l;
    api_ = Api{};
    loaded_.clear();
    throw std::runtime_error(
        "the ACL runtime is incomplete: libascendcl.so and libnnopbase.so must provide aclInit, "
        "aclrtSetDevice, aclrtMalloc, aclrtMemcpy, aclCreateTensor and aclDestroyTensor "
        "(source set_env.sh of the CANN toolkit)" + have + tried);
  }
  const aclError init = api_.aclInit(nullptr);
  if (init != 0 && init != 100002) fail("aclInit", init);
  check("aclrtSetDevice", api_.aclrtSetDevice(device));
  open_ = true;
}

void Runtime::bind_device(int32_t device) {
  if (!open_) throw std::runtime_error("the NPU runtime is not open");
  check("aclrtSetDevice", api_.aclrtSetDevice(device));
}

std::vector<std::string> Runtime::missing() const {
  std::vector<std::string> out;
#define OPS_NPU_MISSING(name) \
  if (!api_.name) out.push_back(#name);
  OPS_NPU_ACL_SYMBOLS(OPS_NPU_MISSING)
  OPS_NPU_NNOPBASE_SYMBOLS(OPS_NPU_MISSING)
  OPS_NPU_OP_SYMBOLS(OPS_NPU_MISSING)
#undef OPS_NPU_MISSING
  return out;
}

bool Runtime::has(const std::string &symbol) const {
#define OPS_NPU_HAS(name) \
  if (symbol == #name) return api_.name != nullptr;
  OPS_NPU_ACL_SYMBOLS(OPS_NPU_HAS)
  OPS_NPU_NNOPBASE_SYMBOLS(OPS_NPU_HAS)
  OPS_NPU_OP_SYMBOLS(OPS_NPU_HAS)
#undef OPS_NPU_HAS
  return false;
}

std::string Runtime::soc_name() const {
  if (!api_.aclrtGetSocName) return "";
  const char *name = api_.aclrtGetSocName();
  return name ? name : "";
}

void Runtime::require(const char *symbol, const void *fn) const {
  if (!open_) throw std::runtime_error("the NPU runtime is not open");
  if (!fn)
    throw std::runtime_error(std::string(symbol) +
                             " is missing from the loaded CANN libraries (too old a CANN, or an "
                             "op package not installed)");
}

void Runtime::fail(const std::string &function, int64_t status) const {
  std::string text = function + " failed with status " + std::to_string(status);
  if (const char *m = status_meaning(status)) text += std::string(" (") + m + ")";
  if (api_.aclGetRecentErrMsg) {
    const char *msg = api_.aclGetRecentErrMsg();
    if (msg && *msg) text += ": " + std::string(msg);
  }
  throw std::runtime_error(text);
}

void *Runtime::try_malloc_device(size_t bytes) {
  OPS_NPU_NEED(*this, aclrtMalloc);
  void *p = nullptr;
  const aclError st = api_.aclrtMalloc(&p, bytes == 0 ? 1 : bytes, ACL_MEM_MALLOC_HUGE_FIRST);
  if (st != 0) {
    std::lock_guard<std::mutex> lock(mu_);
    last_error_ = "aclrtMalloc failed with status " + std::to_string(st);
    if (api_.aclGetRecentErrMsg) {
      const char *m = api_.aclGetRecentErrMsg();
      if (m && *m) last_error_ += std::string(": ") + m;
    }
    return nullptr;
  }
  return p;
}

std::string Runtime::last_error() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_error_;
}

void Runtime::free_device(void *ptr) {
  if (open_ && api_.aclrtFree && ptr) api_.aclrtFree(ptr);
}

void Runtime::upload(void *dst, const void *src, size_t bytes) {
  OPS_NPU_NEED(*this, aclrtMemcpy);
  if (bytes) check("aclrtMemcpy", api_.aclrtMemcpy(dst, bytes, src, bytes, ACL_MEMCPY_HOST_TO_DEVICE));
}

void Runtime::download(void *dst, const void *src, size_t bytes) {
  OPS_NPU_NEED(*this, aclrtMemcpy);
  if (bytes) check("aclrtMemcpy", api_.aclrtMemcpy(dst, bytes, src, bytes, ACL_MEMCPY_DEVICE_TO_HOST));
}

aclrtStream Runtime::create_stream() {
  OPS_NPU_NEED(*this, aclrtCreateStream);
  aclrtStream s = nullptr;
  check("aclrtCreateStream", api_.aclrtCreateStream(&s));
  return s;
}

void Runtime::sync(aclrtStream stream) {
  OPS_NPU_NEED(*this, aclrtSynchronizeStream);
  check("aclrtSynchronizeStream", api_.aclrtSynchronizeStream(stream));
}

void Runtime::destroy_stream(aclrtStream stream) {
  if (!open_) return;
  // Pending work may still use pooled blocks: finish it before freeing them.
  if (api_.aclrtSynchronizeStream) api_.aclrtSynchronizeStream(stream);
  pool_.forget_stream(*this, stream);
  if (api_.aclrtDestroyStream) api_.aclrtDestroyStream(stream);
}

void *Runtime::take_workspace(aclrtStream stream, uint64_t bytes) {
  if (bytes == 0) return nullptr;
  return pool_.allocate(*this, stream, bytes);
}

void Runtime::give_workspace(void *ptr) { pool_.release(*this, ptr); }

void rms_norm(aclrtStream s, const TensorArg &x, const TensorArg &gamma, double eps,
              const TensorArg &y, const TensorArg &rstd) {
  Runtime &rt = Runtime::get();
  OPS_NPU_NEED(rt, aclnnRmsNormGetWorkspaceSize);
  Tensor tx(rt, x), tg(rt, gamma), ty(rt, y), tr(rt, rstd);
  uint64_t ws = 0;
  aclOpExecutor *ex = nullptr;
  rt.check("aclnnRmsNormGetWorkspaceSize",
           rt.api().aclnnRmsNormGetWorkspaceSize(tx.get(), tg.get(), eps, ty.get(), tr.get(), &ws, &ex));
  launch(rt, "aclnnRmsNorm", rt.api().aclnnRmsNorm, s, ws, ex);
}

void layer_norm(aclrtStream s, const TensorArg &x, const std::vector<int64_t> &normalized,
                const TensorArg &weight, const TensorArg &bias, double eps, const TensorArg &out) {
  Runtime &rt = Runtime::get();
  OPS_NPU_NEED(rt, aclnnLayerNormGetWorkspaceSize);
  Tensor tx(rt, x), tw(rt, weight), tb(rt, bias), to(rt, out);
  IntArray shape(rt, normalized);
  uint64_t ws = 0;
  aclOpExecutor *ex = nullptr;
  rt.check("aclnnLayerNormGetWorkspaceSize",
           rt.api().aclnnLayerNormGetWorkspaceSize(tx.get(), shape.get(), tw.get(), tb.get(), eps,
                                                   to.get(), nullptr, nullptr, &ws, &ex));
  launch(rt, "aclnnLayerNorm", rt.api().aclnnLayerNorm, s, ws, ex);
}

void ada_layer_norm(aclrtStream s, const TensorArg &x, const TensorArg &scale,
                    const TensorArg &shift, double eps, const TensorArg &out) {
  Runtime &rt = Runtime::get();
  OPS_NPU_NEED(rt, aclnnAdaLayerNormGetWorkspaceSize);
  Tensor tx(rt, x), tsc(rt, scale), tsh(rt, shift), to(rt, out);
  uint64_t ws = 0;
  aclOpExecutor *ex = nullptr;
  rt.check("aclnnAdaLayerNormGetWorkspaceSize",
           rt.api().aclnnAdaLayerNormGetWorkspaceSize(tx.get(), tsc.get(), tsh.get(), nullptr,
                                                      nullptr, eps, to.get(), &ws, &ex));
  launch(rt, "aclnnAdaLayerNorm", rt.api().aclnnAdaLayerNorm, s, ws, ex);
}

void group_norm(aclrtStream s, const TensorArg &x, const TensorArg &gamma, const TensorArg &beta,
                int64_t n, int64_t c, int64_t hw, int64_t groups, double eps,
                const TensorArg &out, const TensorArg &mean, const TensorArg &rstd) {
  Runtime &rt = Runtime::get();
  OPS_NPU_NEED(rt, aclnnGroupNormGetWorkspaceSize);
  Tensor tx(rt, x), tg(rt, gamma), tb(rt, beta), to(rt, out), tm(rt, mean), tr(rt, rstd);
  uint64_t ws = 0;
  aclOpExecutor *ex = nullptr;
  rt.check("aclnnGroupNormGetWorkspaceSize",
           rt.api().aclnnGroupNormGetWorkspaceSize(tx.get(), tg.get(), tb.get(), n, c, hw, groups,
                                                   eps, to.get(), tm.get(), tr.get(), &ws, &ex));
  launch(rt, "aclnnGroupNorm", rt.api().aclnnGroupNorm, s, ws, ex);
}

void group_norm_silu(aclrtStream s, const TensorArg &x, const TensorArg &gamma,
                     const TensorArg &beta, int64_t groups, double eps, const TensorArg &out,
                     const TensorArg &mean, const TensorArg &rstd) {
  Runtime &rt = Runtime::get();
  OPS_NPU_NEED(rt, aclnnGroupNormSiluGetWorkspaceSize);
  Tensor tx(rt, x), tg(rt, gamma), tb(rt, beta), to(rt, out), tm(rt, mean), tr(rt, rstd);
  uint64_t ws = 0;
  aclOpExecutor *ex = nullptr;
  rt.check("aclnnGroupNormSiluGetWorkspaceSize",
           rt.api().aclnnGroupNormSiluGetWorkspaceSize(tx.get(), tg.get(), tb.get(), groups, eps,
                                                       to.get(), tm.get(), tr.get(), &ws, &ex));
  launch(rt, "aclnnGroupNormSilu", rt.api().aclnnGroupNormSilu, s, ws, ex);
}

void silu(aclrtStream s, const TensorArg &x, const TensorArg &out) {
  Runtime &rt = Runtime::get();
  OPS_NPU_NEED(rt, aclnnSiluGetWorkspaceSize);
  Tensor tx(rt, x), to(rt, out);
  uint64_t ws = 0;
  aclOpExecutor *ex = nullptr;
  rt.check("aclnnSiluGetWorkspaceSize",
           rt.api().aclnnSiluGetWorkspaceSize(tx.get(), to.get(), &ws, &ex));
  launch(rt, "aclnnSilu", rt.api().aclnnSilu, s, ws, ex);
}

void geglu(aclrtStream s, const TensorArg &x, int64_t approximate, const TensorArg &out,
           const TensorArg &out_gelu) {
  Runtime &rt = Runtime::get();
  OPS_NPU_NEED(rt, aclnnGeGluV3GetWorkspaceSize);
  Tensor tx(rt, x), to(rt, out), tg(rt, out_gelu);
  uint64_t ws = 0;
  aclOpExecutor *ex = nullptr;
  // activateLeft = false: GELU on the second half, diffusers' GEGLU order.
  rt.check("aclnnGeGluV3GetWorkspaceSize",
           rt.api().aclnnGeGluV3GetWorkspaceSize(tx.get(), -1, approximate, false, to.get(),
                                                 tg.get(), &ws, &ex));
  launch(rt, "aclnnGeGluV3", rt.api().aclnnGeGluV3, s, ws, ex);
}

void swiglu(aclrtStream s, const TensorArg &x, const TensorArg &out) {
  Runtime &rt = Runtime::get();
  OPS_NPU_NEED(rt, aclnnSwiGluGetWorkspaceSize);
  Tensor tx(rt, x), to(rt, out);
  uint64_t ws = 0;
  aclOpExecutor *ex = nullptr;
  rt.check("aclnnSwiGluGetWorkspaceSize",
           rt.api().aclnnSwiGluGetWorkspaceSize(tx.get(), -1, to.get(), &ws, &ex));
  launch(rt, "aclnnSwiGlu", rt.api().aclnnSwiGlu, s, ws, ex);
}

void rope(aclrtStream s, const TensorArg &x, const TensorArg &cos, const TensorArg &sin,
          int64_t mode, const TensorArg &out) {
  Runtime &rt = Runtime::get();
  OPS_NPU_NEED(rt, aclnnRotaryPositionEmbeddingGetWorkspaceSize);
  Tensor tx(rt, x), tc(rt, cos), ts(rt, sin), to(rt, out);
  uint64_t ws = 0;
  aclOpExecutor *ex = nullptr;
  rt.check("aclnnRotaryPositionEmbeddingGetWorkspaceSize",
           rt.api().aclnnRotaryPositionEmbeddingGetWorkspaceSize(tx.get(), tc.get(), ts.get(), mode,
                                                                 to.get(), &ws, &ex));
  launch(rt, "aclnnRotaryPositionEmbedding", rt.api().aclnnRotaryPositionEmbedding, s, ws, ex);
}

void matmul(aclrtStream s, const TensorArg &a, const TensorArg &b, const TensorArg &out,
            int8_t cube_math_type) {
  Runtime &rt = Runtime::get();
  OPS_NPU_NEED(rt, aclnnMatmulGetWorkspaceSize);
  Tensor ta(rt, a), tb(rt, b), to(rt, out);
  uint64_t ws = 0;
  aclOpExecutor *ex = nullptr;
  rt.check("aclnnMatmulGetWorkspaceSize",
           rt.api().aclnnMatmulGetWorkspaceSize(ta.get(), tb.get(), to.get(), cube_math_type, &ws, &ex));
  launch(rt, "aclnnMatmul", rt.api().aclnnMatmul, s, ws, ex);
}

void attention(aclrtStream s, AttentionOp op, const TensorArg &q, const TensorArg &k,
               const TensorArg &v, const TensorArg &bias, const TensorArg &mask, int64_t heads,
               int64_t kv_heads, double scale, const std::string &layout, const TensorArg &out,
               const TensorArg &lse) {
  Runtime &rt = Runtime::get();
  std::vector<char> layout_c(layout.begin(), layout.end());
  layout_c.push_back('\0');
  const int64_t unbounded = 2147483647;
  uint64_t ws = 0;
  aclOpExecutor *ex = nullptr;
  Tensor tq(rt, q), tbias(rt, bias), tmask(rt, mask), tout(rt, out), tlse(rt, lse);
  switch (op) {
    case AttentionOp::FusedInferV2: {
      OPS_NPU_NEED(rt, aclnnFusedInferAttentionScoreV2GetWorkspaceSize);
      TensorList keys(rt, make_owned_by_list(rt, k));
      TensorList values(rt, make_owned_by_list(rt, v));
      // innerPrecise 0: high precision; sparse mode 0 with an optional mask.
      rt.check("aclnnFusedInferAttentionScoreV2GetWorkspaceSize",
               rt.api().aclnnFusedInferAttentionScoreV2GetWorkspaceSize(
                   tq.get(), keys.get(), values.get(), tbias.get(), tmask.get(), nullptr, nullptr,
                   nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr,
                   nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, heads,
                   scale, unbounded, unbounded, layout_c.data(), kv_heads, 0, 0, 0, 0,
                   lse.present(), 0, 0, tout.get(), tlse.get(), &ws, &ex));
      launch(rt, "aclnnFusedInferAttentionScoreV2", rt.api().aclnnFusedInferAttentionScoreV2, s,
             ws, ex);
      return;
    }
    case AttentionOp::PromptFlash: {
      OPS_NPU_NEED(rt, aclnnPromptFlashAttentionGetWorkspaceSize);
      if (lse.present()) throw std::runtime_error("aclnnPromptFlashAttention has no log-sum-exp output");
      Tensor tk(rt, k), tv(rt, v);
      rt.check("aclnnPromptFlashAttentionGetWorkspaceSize",
               rt.api().aclnnPromptFlashAttentionGetWorkspaceSize(
                   tq.get(), tk.get(), tv.get(), tbias.get(), tmask.get(), nullptr, heads, scale,
                   unbounded, unbounded, layout_c.data(), kv_heads, tout.get(), &ws, &ex));
      launch(rt, "aclnnPromptFlashAttention", rt.api().aclnnPromptFlashAttention, s, ws, ex);
      return;
    }
    case AttentionOp::FlashScore: {
      OPS_NPU_NEED(rt, aclnnFlashAttentionScoreGetWorkspaceSize);
      if (lse.present()) throw std::runtime_error("log-sum-exp is only wired for FusedInferAttentionScoreV2");
      Tensor tk(rt, k), tv(rt, v);
      // softmaxMax/Sum: fp32 [B, N, Sq, 8], required outputs of the training kernel.
      const bool bsnd = layout == "BSND";
      const int64_t b = q.dims[0], sq = bsnd ? q.dims[1] : q.dims[2];
      TensorArg stat;
      stat.dtype = ACL_FLOAT;
      stat.dims = {b, heads, sq, 8};
      stat.strides = {heads * sq * 8, sq * 8, 8, 1};
      const uint64_t stat_bytes = uint64_t(b * heads * sq * 8) * sizeof(float);
      void *max_buf = rt.take_workspace(s, stat_bytes);
      void *sum_buf = rt.take_workspace(s, stat_bytes);
      struct Give {
        Runtime &rt;
        void *p;
        ~Give() { rt.give_workspace(p); }
      } give_max{rt, max_buf}, give_sum{rt, sum_buf};
      stat.data = max_buf;
      Tensor tmax(rt, stat);
      stat.data = sum_buf;
      Tensor tsum(rt, stat);
      rt.check("aclnnFlashAttentionScoreGetWorkspaceSize",
               rt.api().aclnnFlashAttentionScoreGetWorkspaceSize(
                   tq.get(), tk.get(), tv.get(), tbias.get(), nullptr, nullptr, tmask.get(), nullptr,
                   scale, 1.0, 65536, 65536, heads, layout_c.data(), 0, 0, tmax.get(), tsum.get(),
                   nullptr, tout.get(), &ws, &ex));
      launch(rt, "aclnnFlashAttentionScore", rt.api().aclnnFlashAttentionScore, s, ws, ex);
      return;
    }
  }
  throw std::runtime_error("unknown attention op");
}

}  // namespace npu
}  // namespace ops_npu
