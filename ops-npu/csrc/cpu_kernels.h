// Optimised CPU kernels (f32) and the scalar reference kernels the tests and the
// test-double aclnn library check them against.
//
// Every kernel takes plain pointers plus sizes that the Rust side has already validated;
// nothing here allocates more than per-thread scratch, and nothing throws.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ops_npu {

// Attention over q [B, Hq, Sq, D], k/v [B, Hkv, Skv, D] addressed through element strides
// (batch, head, seq; the head dimension is contiguous), so BSND and BNSD share one kernel.
// bias (additive) and mask (1 = attend, as torch's boolean masks) broadcast to
// [B, Hq, Sq, Skv] through their own strides (0 = broadcast) and may be null.
struct AttnDims {
  size_t batch, heads_q, heads_kv, seq_q, seq_kv, head_dim;
  float scale;
  size_t q_sb, q_sh, q_ss;
  size_t k_sb, k_sh, k_ss;
  size_t v_sb, v_sh, v_ss;
  size_t o_sb, o_sh, o_ss;
  size_t bias_sb, bias_sh, bias_sq, bias_sk;
  size_t mask_sb, mask_sh, mask_sq, mask_sk;
};

// lse (nullable) is [B, Hq, Sq]: log-sum-exp of the scaled, biased scores of each row.
// `portable` skips the run-time dispatch to the AVX2+FMA copy (tests of the baseline copy).
void attention_f32(const AttnDims &d, const float *q, const float *k, const float *v,
                   const float *bias, const uint8_t *mask, float *out, float *lse,
                   size_t threads, bool portable = false);
// Scratch bytes each thread that has run attention at this head_dim (or a smaller one)
// keeps: the buffer is reused by the thread's later calls rather than freed.
size_t attention_scratch_bytes(size_t head_dim);
void attention_ref(const AttnDims &d, const float *q, const float *k, const float *v,
                   const float *bias, const uint8_t *mask, float *out, float *lse);

// x [rows, dim]; weight/bias [dim] or null.
void rms_norm_f32(const float *x, const float *w, size_t rows, size_t dim, float eps,
                  float *out, size_t threads);
void rms_norm_ref(const float *x, const float *w, size_t rows, size_t dim, float eps,
                  float *out);
void layer_norm_f32(const float *x, const float *w, const float *b, size_t rows,
                    size_t dim, float eps, float *out, size_t threads);
void layer_norm_ref(const float *x, const float *w, const float *b, size_t rows,
                    size_t dim, float eps, float *out);

// x [batch, seq, dim]; scale/shift [batch, mod_seq, dim] where mod_seq is 1 (one
// modulation per sample, broadcast over tokens) or seq.
void ada_layer_norm_f32(const float *x, const float *scale, const float *shift,
                        size_t batch, size_t seq, size_t dim, size_t mod_seq, float eps,
                        float *out, size_t threads);
void ada_layer_norm_ref(const float *x, const float *scale, const float *shift,
                        size_t batch, size_t seq, size_t dim, size_t mod_seq, float eps,
                        float *out);

// x [n, c, hw]; gamma/beta [c] or null.
void group_norm_f32(const float *x, const float *gamma, const float *beta, size_t n,
                    size_t c, size_t hw, size_t groups, float eps, bool silu, float *out,
                    size_t threads);
void group_norm_ref(const float *x, const float *gamma, const float *beta, size_t n,
                    size_t c, size_t hw, size_t groups, float eps, bool silu, float *out);

// x [rows, 2h] -> out [rows, h]. GEGLU: first half * gelu(second half) (diffusers);
// SwiGLU: silu(first half) * second half (aclnnSwiGlu).
void geglu_f32(const float *x, size_t rows, size_t h, bool tanh_approx, float *out,
               size_t threads);
void geglu_ref(const float *x, size_t rows, size_t h, bool tanh_approx, float *out);
void swiglu_f32(const float *x, size_t rows, size_t h, float *out, size_t threads);
void swiglu_ref(const float *x, size_t rows, size_t h, float *out);

// x [outer, seq, inner, D] with cos/sin [seq, D]: BSND is outer=B, inner=H; BNSD is
// outer=B*H, inner=1. interleaved pairs (2i, 2i+1); otherwise halves (rotate_half).
void rope_f32(const float *x, const float *cos, const float *sin, size_t outer, size_t seq,
              size_t inner, size_t dim, bool interleaved, float *out, size_t threads);
void rope_ref(const float *x, const float *cos, const float *sin, size_t outer, size_t seq,
              size_t inner, size_t dim, bool interleaved, float *out);

}  // namespace ops_npu
