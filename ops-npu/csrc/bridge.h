// Entry points for the cxx bridge (src/bridge.rs): slice-taking wrappers over the kernels
// in cpu_kernels.h that re-check every length and throw std::invalid_argument on a
// mismatch (cxx returns it to Rust as an Err).
#pragma once

#include <cstddef>
#include <cstdint>

#include "rust/cxx.h"

namespace ops_npu {
namespace ffi {

struct AttnDims;
struct GemmDims;
struct NpuTensorDesc;
struct NpuArg;

void attention(const AttnDims &d, rust::Slice<const float> q, rust::Slice<const float> k,
               rust::Slice<const float> v, rust::Slice<const float> bias,
               rust::Slice<const uint8_t> mask, rust::Slice<float> out, rust::Slice<float> lse,
               bool reference, bool portable, size_t threads);
void rms_norm(rust::Slice<const float> x, rust::Slice<const float> weight, size_t rows,
              size_t dim, float eps, rust::Slice<float> out, bool reference, size_t threads);
void layer_norm(rust::Slice<const float> x, rust::Slice<const float> weight,
                rust::Slice<const float> bias, size_t rows, size_t dim, float eps,
                rust::Slice<float> out, bool reference, size_t threads);
void ada_layer_norm(rust::Slice<const float> x, rust::Slice<const float> scale,
                    rust::Slice<const float> shift, size_t batch, size_t seq, size_t dim,
                    size_t mod_seq, float eps, rust::Slice<float> out, bool reference,
                    size_t threads);
void group_norm(rust::Slice<const float> x, rust::Slice<const float> gamma,
                rust::Slice<const float> beta, size_t n, size_t c, size_t hw, size_t groups,
                float eps, bool silu, rust::Slice<float> out, bool reference, size_t threads);
void geglu(rust::Slice<const float> x, size_t rows, size_t hidden, bool tanh_approx,
           rust::Slice<float> out, bool reference, size_t threads);
void swiglu(rust::Slice<const float> x, size_t rows, size_t hidden, rust::Slice<float> out,
            bool reference, size_t threads);
void rope(rust::Slice<const float> x, rust::Slice<const float> cos,
          rust::Slice<const float> sin, size_t outer, size_t seq, size_t inner, size_t dim,
          bool interleaved, rust::Slice<float> out, bool reference, size_t threads);
void gemm(const GemmDims &d, rust::Slice<const float> a, rust::Slice<const float> b,
          rust::Slice<const float> bias, rust::Slice<float> c, bool reference, bool portable,
          size_t threads);
size_t attention_scratch_bytes(size_t head_dim);

void npu_open(const rust::Vec<rust::String> &libraries, int32_t device);
bool npu_is_open();
rust::Vec<rust::String> npu_loaded_libraries();
rust::Vec<rust::String> npu_missing_symbols();
bool npu_has_symbol(rust::Str name);
rust::String npu_soc_name();
size_t npu_pool_allocate(size_t stream, size_t bytes);
void npu_pool_release(size_t ptr);
void npu_pool_empty_cache(size_t stream);
uint64_t npu_pool_empty_all();
void npu_bind_device(int32_t device);
rust::Vec<uint64_t> npu_pool_stats();
void npu_pool_reset_peaks();
uint64_t npu_pool_cached(size_t stream);
void npu_call(size_t stream, rust::Str op, rust::Slice<const NpuArg> args);
void npu_upload(size_t dst, rust::Slice<const uint8_t> src);
void npu_download(size_t src, rust::Slice<uint8_t> dst);
size_t npu_stream_create();
void npu_stream_sync(size_t stream);
void npu_stream_destroy(size_t stream);
void npu_rms_norm(size_t stream, const NpuTensorDesc &x, const NpuTensorDesc &gamma, double eps,
                  const NpuTensorDesc &y, const NpuTensorDesc &rstd);
void npu_layer_norm(size_t stream, const NpuTensorDesc &x, rust::Slice<const int64_t> normalized,
                    const NpuTensorDesc &weight, const NpuTensorDesc &bias, double eps,
                    const NpuTensorDesc &out);
void npu_ada_layer_norm(size_t stream, const NpuTensorDesc &x, const NpuTensorDesc &scale,
                        const NpuTensorDesc &shift, double eps, const NpuTensorDesc &out);
void npu_group_norm(size_t stream, const NpuTensorDesc &x, const NpuTensorDesc &gamma,
                    const NpuTensorDesc &beta, int64_t n, int64_t c, int64_t hw, int64_t groups,
                    double eps, const NpuTensorDesc &out, const NpuTensorDesc &mean,
                    const NpuTensorDesc &rstd);
void npu_group_norm_silu(size_t stream, const NpuTensorDesc &x, const NpuTensorDesc &gamma,
                         const NpuTensorDesc &beta, int64_t groups, double eps,
                         const NpuTensorDesc &out, const NpuTensorDesc &mean,
                         const NpuTensorDesc &rstd);
void npu_silu(size_t stream, const NpuTensorDesc &x, const NpuTensorDesc &out);
void npu_geglu(size_t stream, const NpuTensorDesc &x, int64_t approximate,
               const NpuTensorDesc &out, const NpuTensorDesc &out_gelu);
void npu_swiglu(size_t stream, const NpuTensorDesc &x, const NpuTensorDesc &out);
void npu_rope(size_t stream, const NpuTensorDesc &x, const NpuTensorDesc &cos,
              const NpuTensorDesc &sin, int64_t mode, const NpuTensorDesc &out);
void npu_matmul(size_t stream, const NpuTensorDesc &a, const NpuTensorDesc &b,
                const NpuTensorDesc &out, int8_t cube_math_type);
void npu_attention(size_t stream, uint8_t op, const NpuTensorDesc &q, const NpuTensorDesc &k,
                   const NpuTensorDesc &v, const NpuTensorDesc &bias, const NpuTensorDesc &mask,
                   int64_t heads, int64_t kv_heads, double scale, rust::Str layout,
                   const NpuTensorDesc &out, const NpuTensorDesc &lse);

}  // namespace ffi
}  // namespace ops_npu
