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

void attention(const AttnDims &d, rust::Slice<const float> q, rust::Slice<const float> k,
               rust::Slice<const float> v, rust::Slice<const float> bias,
               rust::Slice<const uint8_t> mask, rust::Slice<float> out, rust::Slice<float> lse,
               bool reference, size_t threads);
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
size_t attention_scratch_bytes(size_t head_dim);

}  // namespace ffi
}  // namespace ops_npu
