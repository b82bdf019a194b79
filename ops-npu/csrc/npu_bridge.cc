// cxx entry points of the NPU runtime: conversions between the bridge's types and
// npu_runtime.h's. Every failure is a thrown std::runtime_error (an Err in Rust).
#include <string>
#include <vector>

#include "npu_call.h"
#include "ops-npu/csrc/bridge.h"
#include "ops-npu/src/bridge.rs.h"

namespace ops_npu {
namespace ffi {
namespace {

npu::TensorArg arg(const NpuTensorDesc &d) { return npu::tensor_arg(d); }

aclrtStream stream(size_t s) { return reinterpret_cast<aclrtStream>(s); }

npu::Runtime &rt() { return npu::Runtime::get(); }

}  // namespace

void npu_open(const rust::Vec<rust::String> &libraries, int32_t device) {
  std::vector<std::string> libs;
  for (const auto &l : libraries) libs.emplace_back(std::string(l));
  rt().open(libs, device);
}

bool npu_is_open() { return rt().is_open(); }

void npu_bind_device(int32_t device) { rt().bind_device(device); }

rust::Vec<rust::String> npu_loaded_libraries() {
  rust::Vec<rust::String> out;
  for (const auto &l : rt().loaded()) out.push_back(rust::String(l));
  return out;
}

rust::Vec<rust::String> npu_missing_symbols() {
  rust::Vec<rust::String> out;
  for (const auto &l : rt().missing()) out.push_back(rust::String(l));
  return out;
}

bool npu_has_symbol(rust::Str name) { return rt().has(std::string(name)); }

rust::String npu_soc_name() { return rust::String(rt().soc_name()); }

size_t npu_pool_allocate(size_t s, size_t bytes) {
  if (!rt().is_open()) throw std::runtime_error("the NPU runtime is not open");
  return reinterpret_cast<size_t>(rt().pool().allocate(rt(), stream(s), bytes));
}

void npu_pool_release(size_t ptr) { rt().pool().release(rt(), reinterpret_cast<void *>(ptr)); }

void npu_pool_empty_cache(size_t s) { rt().pool().empty_cache(rt(), stream(s)); }

uint64_t npu_pool_empty_all() { return rt().is_open() ? rt().pool().empty_all(rt()) : 0; }

void npu_pool_reset_peaks() {
  if (rt().is_open()) rt().pool().reset_peaks();
}

rust::Vec<uint64_t> npu_pool_stats() {
  const npu::PoolStats p = rt().pool().stats();
  rust::Vec<uint64_t> out;
  for (uint64_t v : {p.allocated, p.reserved, p.peak_allocated, p.peak_reserved,
                     p.device_mallocs, p.device_frees, p.cache_hits})
    out.push_back(v);
  return out;
}

uint64_t npu_pool_cached(size_t s) { return rt().pool().cached(stream(s)); }

void npu_upload(size_t dst, rust::Slice<const uint8_t> src) {
  rt().upload(reinterpret_cast<void *>(dst), src.data(), src.size());
}

void npu_download(size_t src, rust::Slice<uint8_t> dst) {
  rt().download(dst.data(), reinterpret_cast<const void *>(src), dst.size());
}

size_t npu_stream_create() { return reinterpret_cast<size_t>(rt().create_stream()); }

void npu_stream_sync(size_t s) { rt().sync(stream(s)); }

void npu_stream_destroy(size_t s) { rt().destroy_stream(stream(s)); }

void npu_rms_norm(size_t s, const NpuTensorDesc &x, const NpuTensorDesc &gamma, double eps,
                  const NpuTensorDesc &y, const NpuTensorDesc &rstd) {
  npu::rms_norm(stream(s), arg(x), arg(gamma), eps, arg(y), arg(rstd));
}

void npu_layer_norm(size_t s, const NpuTensorDesc &x, rust::Slice<const int64_t> normalized,
                    const NpuTensorDesc &weight, const NpuTensorDesc &bias, double eps,
                    const NpuTensorDesc &out) {
  npu::layer_norm(stream(s), arg(x), std::vector<int64_t>(normalized.begin(), normalized.end()),
                  arg(weight), arg(bias), eps, arg(out));
}

void npu_ada_layer_norm(size_t s, const NpuTensorDesc &x, const NpuTensorDesc &scale,
                        const NpuTensorDesc &shift, double eps, const NpuTensorDesc &out) {
  npu::ada_layer_norm(stream(s), arg(x), arg(scale), arg(shift), eps, arg(out));
}

void npu_group_norm(size_t s, const NpuTensorDesc &x, const NpuTensorDesc &gamma,
                    const NpuTensorDesc &beta, int64_t n, int64_t c, int64_t hw, int64_t groups,
                    double eps, const NpuTensorDesc &out, const NpuTensorDesc &mean,
                    const NpuTensorDesc &rstd) {
  npu::group_norm(stream(s), arg(x), arg(gamma), arg(beta), n, c, hw, groups, eps, arg(out),
                  arg(mean), arg(rstd));
}

void npu_group_norm_silu(size_t s, const NpuTensorDesc &x, const NpuTensorDesc &gamma,
                         const NpuTensorDesc &beta, int64_t groups, double eps,
                         const NpuTensorDesc &out, const NpuTensorDesc &mean,
                         const NpuTensorDesc &rstd) {
  npu::group_norm_silu(stream(s), arg(x), arg(gamma), arg(beta), groups, eps, arg(out),
                       arg(mean), arg(rstd));
}

void npu_silu(size_t s, const NpuTensorDesc &x, const NpuTensorDesc &out) {
  npu::silu(stream(s), arg(x), arg(out));
}

void npu_geglu(size_t s, const NpuTensorDesc &x, int64_t approximate, const NpuTensorDesc &out,
               const NpuTensorDesc &out_gelu) {
  npu::geglu(stream(s), arg(x), approximate, arg(out), arg(out_gelu));
}

void npu_swiglu(size_t s, const NpuTensorDesc &x, const NpuTensorDesc &out) {
  npu::swiglu(stream(s), arg(x), arg(out));
}

void npu_rope(size_t s, const NpuTensorDesc &x, const NpuTensorDesc &cos,
              const NpuTensorDesc &sin, int64_t mode, const NpuTensorDesc &out) {
  npu::rope(stream(s), arg(x), arg(cos), arg(sin), mode, arg(out));
}

void npu_matmul(size_t s, const NpuTensorDesc &a, const NpuTensorDesc &b,
                const NpuTensorDesc &out, int8_t cube_math_type) {
  npu::matmul(stream(s), arg(a), arg(b), arg(out), cube_math_type);
}

void npu_attention(size_t s, uint8_t op, const NpuTensorDesc &q, const NpuTensorDesc &k,
                   const NpuTensorDesc &v, const NpuTensorDesc &bias, const NpuTensorDesc &mask,
                   int64_t heads, int64_t kv_heads, double scale, rust::Str layout,
                   const NpuTensorDesc &out, const NpuTensorDesc &lse) {
  if (op > 2) throw std::invalid_argument("unknown attention op");
  npu::attention(stream(s), static_cast<npu::AttentionOp>(op), arg(q), arg(k), arg(v), arg(bias),
                 arg(mask), heads, kv_heads, scale, std::string(layout), arg(out), arg(lse));
}

}  // namespace ffi
}  // namespace ops_npu
